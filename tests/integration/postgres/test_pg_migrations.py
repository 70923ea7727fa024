"""Migrations: versioned, reversible, and safe when many processes start at once."""

from __future__ import annotations

import asyncio
import sys

import asyncpg
import pytest
from sidequest_postgres._schema import LATEST_VERSION, MIGRATIONS
from sidequest_postgres.backend import PostgresBackend

pytestmark = pytest.mark.postgres

MIGRATE_SCRIPT = """
import asyncio, sys
from sidequest_postgres.backend import PostgresBackend

async def main():
    backend = PostgresBackend(sys.argv[1], pool_min=0, pool_max=1, notify=False)
    try:
        await backend.migrate()
        print(len(backend.applied_migrations))
    finally:
        await backend.close()

asyncio.run(main())
"""


async def test_twenty_processes_migrate_an_empty_schema_at_once(
    schema_url: str, schema: str, conn: asyncpg.Connection
) -> None:
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            MIGRATE_SCRIPT,
            schema_url,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(20)
    ]
    outputs = await asyncio.gather(*(p.communicate() for p in processes))
    codes = [p.returncode for p in processes]
    assert codes == [0] * 20, [err.decode()[-2000:] for _, err in outputs if err]
    applied = sorted(int(out.decode().strip()) for out, _ in outputs)
    assert applied == [0] * 19 + [len(MIGRATIONS)]  # exactly one process applied them all
    versions = await conn.fetch(f'SELECT version FROM "{schema}".sidequest_migrations ORDER BY version')
    assert [row[0] for row in versions] == [m.version for m in MIGRATIONS]


async def test_rollback_undoes_the_latest_migration_and_migrate_reapplies(
    schema_url: str, schema: str, conn: asyncpg.Connection
) -> None:
    backend = PostgresBackend(schema_url, pool_max=2, notify=False)
    try:
        assert await backend.schema_version() is None
        await backend.rollback_migration()  # nothing to undo: no error
        await backend.migrate()
        assert await backend.schema_version() == LATEST_VERSION
        await backend.migrate()
        assert backend.applied_migrations == []
        for expected in range(LATEST_VERSION - 1, -1, -1):
            await backend.rollback_migration()
            assert await backend.schema_version() == expected
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY tablename", schema
        )
        assert [row[0] for row in tables] == ["sidequest_migrations"]
        await backend.migrate()
        assert backend.applied_migrations == [m.version for m in MIGRATIONS]
    finally:
        await backend.close()


async def test_partial_rollback_keeps_working_tables(schema_url: str, schema: str) -> None:
    backend = PostgresBackend(schema_url, pool_max=2, notify=False)
    try:
        await backend.migrate()
        await backend.rollback_migration()
        assert await backend.schema_version() == LATEST_VERSION - 1
        await backend.migrate()
        assert backend.applied_migrations == [LATEST_VERSION]
    finally:
        await backend.close()
