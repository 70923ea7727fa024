"""Backend URLs for tests that run on every backend (memory, SQLite file, PostgreSQL schema)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

POSTGRES_ENV = "SIDEQUEST_TEST_POSTGRES_URL"
REQUIRE_ENV = "SIDEQUEST_REQUIRE_POSTGRES"


def postgres_url_or_skip() -> str:
    """The test server's URL; skips (or fails, when PostgreSQL is required) without one."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        if os.environ.get(REQUIRE_ENV):
            pytest.fail(f"{POSTGRES_ENV} is not set but {REQUIRE_ENV} says PostgreSQL tests must run")
        pytest.skip(f"set {POSTGRES_ENV} to run PostgreSQL tests")
    return url


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
