"""Versioned migrations: concurrent migrators, rollback, a missing database, the collation."""

from __future__ import annotations

import asyncio

import pytest
from mysql_support import drop_database, execute, new_database, with_database
from sidequest.backend import NewJob, QueueRecord
from sidequest_mysql._schema import LATEST_VERSION, MIGRATIONS
from sidequest_mysql.backend import MySQLBackend

pytestmark = pytest.mark.mysql_server

TABLES = {"sidequest_jobs", "sidequest_queues", "sidequest_schedules", "sidequest_migrations"}


async def _tables(url: str, database: str) -> set[str]:
    rows = await execute(
        url, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s", (database,)
    )
    return {str(row[0]) for row in rows}


async def test_concurrent_migrations_apply_each_version_once(
    mysql_url: str, database: str, database_url: str
) -> None:
    backends = [MySQLBackend(database_url, pool_max=2) for _ in range(6)]
    try:
        await asyncio.gather(*(b.migrate() for b in backends))
        applied = sorted((b.applied_migrations for b in backends), key=len)
        assert applied[-1] == [m.version for m in MIGRATIONS]
        assert all(a == [] for a in applied[:-1])
        assert await backends[0].schema_version() == LATEST_VERSION
        versions = await execute(mysql_url, "SELECT version FROM sidequest_migrations", database=database)
        assert sorted(row[0] for row in versions) == [m.version for m in MIGRATIONS]
    finally:
        await asyncio.gather(*(b.close() for b in backends))
    assert await _tables(mysql_url, database) == TABLES


async def test_rollback_and_migrate_again(mysql_url: str, database: str, backend: MySQLBackend) -> None:
    await backend.enqueue([NewJob(queue="q", script="m", job_class="C")])
    await backend.rollback_migration()
    assert await backend.schema_version() == LATEST_VERSION - 1
    assert "sidequest_schedules" not in await _tables(mysql_url, database)
    for _ in MIGRATIONS[:-1]:
        await backend.rollback_migration()
    assert await backend.schema_version() == 0
    await backend.rollback_migration()  # nothing left: a no-op
    assert await _tables(mysql_url, database) == {"sidequest_migrations"}
    await backend.migrate()
    assert backend.applied_migrations == [m.version for m in MIGRATIONS]
    assert await backend.count_jobs_by_queue() == {}


async def test_migrate_again_is_a_fast_no_op(backend: MySQLBackend) -> None:
    await backend.migrate()
    assert backend.applied_migrations == []


async def test_migrate_creates_a_missing_database(mysql_url: str) -> None:
    name = new_database()
    backend = MySQLBackend(with_database(mysql_url, name))
    try:
        await backend.migrate()
        assert await backend.schema_version() == LATEST_VERSION
        assert await _tables(mysql_url, name) == TABLES
    finally:
        await backend.close()
        await drop_database(mysql_url, name)


async def test_rollback_on_a_missing_schema_does_nothing(database_url: str) -> None:
    backend = MySQLBackend(database_url)
    try:
        await backend.rollback_migration()
        assert await backend.schema_version() is None
    finally:
        await backend.close()


async def test_text_is_compared_exactly(mysql_url: str, database: str, backend: MySQLBackend) -> None:
    """Binary, no-pad collation: case, accents and trailing spaces make different names."""
    for name in ("queue", "Queue", "quéue", "queue "):
        await backend.create_queue(QueueRecord(name=name))
    assert sorted(q.name for q in await backend.list_queues("name", False)) == sorted(
        ["queue", "Queue", "quéue", "queue "]
    )
    rows = await execute(
        mysql_url,
        "SELECT TABLE_COLLATION FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s"
        " AND TABLE_NAME = 'sidequest_jobs'",
        (database,),
    )
    assert rows[0][0] in ("utf8mb4_nopad_bin", "utf8mb4_0900_bin")
