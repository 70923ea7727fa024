"""Fixtures for the PostgreSQL tests: a fresh schema per test, dropped afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from pg_support import connected, drop_schema, new_schema, with_schema
from sidequest_postgres.backend import PostgresBackend


@pytest.fixture
async def schema(postgres_url: str) -> AsyncIterator[str]:
    """A fresh schema name, dropped (with everything in it) after the test."""
    name = new_schema()
    try:
        yield name
    finally:
        await drop_schema(postgres_url, name)


@pytest.fixture
async def schema_url(postgres_url: str, schema: str) -> str:
    """The test server's URL pointing at the fresh schema."""
    return with_schema(postgres_url, schema)


@pytest.fixture
async def backend(schema_url: str) -> AsyncIterator[PostgresBackend]:
    """A migrated backend on a fresh schema (small pool: the server is shared)."""
    pg = PostgresBackend(schema_url, pool_max=4)
    await pg.migrate()
    try:
        yield pg
    finally:
        await pg.close()


@pytest.fixture
async def conn(postgres_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A plain connection for checks made from outside the backend."""
    async with connected(postgres_url) as connection:
        yield connection


@pytest.fixture
async def other(schema_url: str, backend: PostgresBackend) -> AsyncIterator[PostgresBackend]:
    """A second backend on the same schema (stands for another process)."""
    pg = PostgresBackend(schema_url, pool_max=2)
    try:
        yield pg
    finally:
        await pg.close()
