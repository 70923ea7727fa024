"""Helpers for the PostgreSQL tests: every test gets a schema of its own."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from sidequest.backend import NewJob
from sidequest_postgres.backend import PostgresBackend


def new_schema() -> str:
    return f"sq_test_{uuid.uuid4().hex[:8]}"


def with_schema(url: str, schema: str, **params: object) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"schema": schema, **params}.items())
    return url + ("&" if "?" in url else "?") + query


@asynccontextmanager
async def connected(url: str) -> AsyncIterator[asyncpg.Connection]:
    """A plain asyncpg connection, closed on exit."""
    connection = await asyncpg.connect(url)
    try:
        yield connection
    finally:
        await connection.close()


async def drop_schema(url: str, schema: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


class Wakes:
    """A subscriber callback that counts calls and can be awaited."""

    def __init__(self) -> None:
        self.count = 0
        self._event = asyncio.Event()

    def __call__(self) -> None:
        self.count += 1
        self._event.set()

    def reset(self) -> None:
        self.count = 0
        self._event.clear()

    async def wait(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self._event.wait(), timeout)
        except TimeoutError:
            return False
        return True


async def listening(backend: PostgresBackend) -> Wakes:
    wakes = Wakes()
    backend.subscribe(wakes)
    assert await backend.wait_listening(5)
    await wakes.wait(1)  # the wake-up every (re)connect gives
    wakes.reset()
    return wakes


async def enqueue_rolled_back(url: str, backend: PostgresBackend, jobs: list[NewJob]) -> None:
    """Enqueue ``jobs`` in an application transaction, check they are invisible outside it, roll back."""
    app = await asyncpg.connect(url)
    try:
        transaction = app.transaction()
        await transaction.start()
        records = await backend.enqueue(jobs, connection=app)
        assert await app.fetchval(f"SELECT count(*) FROM {backend._sql.jobs}") == len(jobs)
        for record in records:
            assert await backend.get_job(record.id) is None  # invisible outside the transaction
        await transaction.rollback()
    finally:
        await app.close()
