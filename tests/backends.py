"""Backend URLs for tests that run on every backend (memory, SQLite file, PostgreSQL schema)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from conftest import postgres_url_or_skip

BACKENDS = ("memory", "sqlite", "postgres")


def with_query(url: str, **params: str) -> str:
    joiner = "&" if "?" in url else "?"
    return url + joiner + "&".join(f"{k}={v}" for k, v in params.items())


@asynccontextmanager
async def backend_url(kind: str, tmp_path: Path) -> AsyncIterator[str]:
    """A URL naming a fresh, empty database of ``kind``; dropped afterwards."""
    if kind == "memory":
        yield "memory://"
    elif kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
    elif kind == "postgres":
        base = postgres_url_or_skip()
        schema = f"sq_test_{uuid.uuid4().hex[:8]}"
        try:
            yield with_query(base, schema=schema)
        finally:
            import asyncpg

            conn = await asyncpg.connect(base)
            try:
                await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            finally:
                await conn.close()
    else:
        raise ValueError(kind)
