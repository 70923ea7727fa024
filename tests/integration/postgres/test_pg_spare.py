"""The spare connection: hot statements skip the pool's lending, and the pool stays whole."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest
from pg_support import with_schema
from sidequest import DuplicateJobError
from sidequest._transitions import complete
from sidequest.backend import NewJob
from sidequest_postgres import _spare
from sidequest_postgres.backend import PostgresBackend

pytestmark = pytest.mark.postgres

PID = "SELECT pg_backend_pid()"


def job(**fields: Any) -> NewJob:
    return NewJob(queue="spare", script="tests", job_class="Job", **fields)


async def pid_of_hot_statement(backend: PostgresBackend) -> int:
    rows = await backend._fetch(PID)
    return int(rows[0][0])


async def test_lone_hot_statements_share_one_connection_out_of_the_pool(backend: PostgresBackend) -> None:
    pids = set()
    for _ in range(5):
        await backend.enqueue([job()])
        pids.add(await pid_of_hot_statement(backend))
    assert len(pids) == 1
    pool = await backend._db()
    async with pool.acquire() as lent:  # the pool lends another connection meanwhile
        assert await lent.fetchval(PID) not in pids


async def test_concurrent_hot_statements_use_the_pool_beside_the_spare(backend: PostgresBackend) -> None:
    both = await asyncio.gather(*(backend._fetch(f"{PID} FROM pg_sleep(0.3)") for _ in range(2)))
    assert len({rows[0][0] for rows in both}) == 2  # neither waited for the other's connection
    await backend.enqueue([job() for _ in range(60)])
    claims = await asyncio.gather(*(backend.claim_and_start("spare", 3, "w", 30.0) for _ in range(20)))
    taken = [record.id for claim in claims for record in claim]
    assert len(taken) == len(set(taken)) == 60
    done = await asyncio.gather(
        *(backend.complete_many([(r.id, str(r.lease_token), None)]) for claim in claims for r in claim)
    )
    assert set().union(*done) == set(taken)


async def test_lease_statements_run_beside_a_batch_holding_the_rest_of_the_pool(schema_url: str) -> None:
    """With ``pool_max=2`` a large batch holds the one pooled connection for its whole
    length: heartbeats, state changes and lease recovery must still run (on the spare)."""
    backend = PostgresBackend(schema_url, pool_max=2)
    try:
        await backend.migrate()
        await backend.enqueue([job() for _ in range(2)])
        held, other = await backend.claim_and_start("spare", 2, "w", 30.0)
        pool = await backend._db()
        async with pool.acquire(timeout=5):  # stands for the batch
            leases = {held.id: str(held.lease_token)}
            assert await asyncio.wait_for(backend.heartbeat("w", leases, 30.0), 5) == {held.id}
            change = complete(other, None)
            assert await asyncio.wait_for(backend.transition(other.id, change), 5) is not None
            assert await asyncio.wait_for(backend.release_expired(), 5) == []
    finally:
        await backend.close()


async def test_the_spare_is_recycled_now_and_then(
    backend: PostgresBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_spare, "RECYCLE_AFTER", 3)
    pool = await backend._db()
    await pid_of_hot_statement(backend)
    idle = pool.get_idle_size()
    await pid_of_hot_statement(backend)
    assert pool.get_idle_size() == idle
    await pid_of_hot_statement(backend)  # the third: the spare goes back to the pool
    assert pool.get_idle_size() == idle + 1


async def test_a_cancelled_statement_stops_on_the_server_and_hot_statements_go_on(
    backend: PostgresBackend, conn: asyncpg.Connection
) -> None:
    await pid_of_hot_statement(backend)  # the spare exists
    sleeping = asyncio.ensure_future(backend._fetch("SELECT pg_sleep(30)"))
    await asyncio.sleep(0.3)
    sleeping.cancel()
    with pytest.raises(asyncio.CancelledError):
        await sleeping
    assert backend._spare is not None and backend._spare._connection is None  # given back to the pool
    assert len(await asyncio.wait_for(backend.enqueue([job()]), 5)) == 1
    running = "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query = 'SELECT pg_sleep(30)'"
    assert await conn.fetchval(running) == 0


async def test_a_spare_whose_session_ended_is_replaced(
    backend: PostgresBackend, conn: asyncpg.Connection
) -> None:
    spare_pid = await pid_of_hot_statement(backend)
    assert await conn.fetchval("SELECT pg_terminate_backend($1)", spare_pid)
    await asyncio.sleep(0.3)  # the client reads the end of the session
    records = await backend.enqueue([job()])
    assert len(records) == 1
    assert await pid_of_hot_statement(backend) != spare_pid


async def test_an_error_gives_the_spare_back_and_the_next_statement_works(backend: PostgresBackend) -> None:
    unique = job(unique_digest="d1", uniqueness_config={"scope": "live"})
    await backend.enqueue([unique])
    with pytest.raises(DuplicateJobError):
        await backend.enqueue([job(unique_digest="d1", uniqueness_config={"scope": "live"})])
    assert backend._spare is not None and backend._spare._connection is None  # given back to the pool
    assert len(await backend.enqueue([job()])) == 1


async def test_close_gives_an_idle_spare_back_at_once(schema_url: str) -> None:
    backend = PostgresBackend(schema_url, pool_max=2)
    await backend.migrate()
    await backend.enqueue([job()])
    pool = await backend._db()
    await asyncio.wait_for(backend.close(), 5)  # the pool's close waits up to 10 s for lent connections
    assert pool._closed


async def test_close_gives_the_spare_back_even_mid_statement(schema_url: str) -> None:
    backend = PostgresBackend(schema_url, pool_max=2)
    await backend.migrate()
    await backend.enqueue([job()])
    sleeping = asyncio.ensure_future(backend._fetch("SELECT 7 FROM pg_sleep(0.5)"))
    await asyncio.sleep(0.1)
    pool = await backend._db()
    await asyncio.wait_for(backend.close(), 5)  # no wait for the pool's 10 s close timeout
    assert (await sleeping)[0][0] == 7
    assert pool._closed


async def test_a_pool_of_one_keeps_no_spare(postgres_url: str, schema: str) -> None:
    backend = PostgresBackend(with_schema(postgres_url, schema), pool_max=1)
    try:
        await backend.migrate()
        await backend.enqueue([job()])
        async with (await backend._db()).acquire(timeout=5) as lent:  # would wait forever behind a spare
            assert await asyncio.wait_for(lent.fetchval("SELECT 1"), 5) == 1
    finally:
        await backend.close()


async def test_an_application_pool_is_never_held(postgres_url: str, schema: str) -> None:
    pool = await asyncpg.create_pool(postgres_url, min_size=1, max_size=1)
    try:
        backend = PostgresBackend.from_pool(pool, schema=schema)
        await backend.migrate()
        await backend.enqueue([job()])
        async with pool.acquire(timeout=5) as lent:
            assert await asyncio.wait_for(lent.fetchval("SELECT 1"), 5) == 1
        await backend.close()
    finally:
        await pool.close()
