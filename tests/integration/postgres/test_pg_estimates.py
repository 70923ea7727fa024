"""Estimated counts on a table large enough for them: large states from statistics, the rest exact."""

from __future__ import annotations

import re

import asyncpg
import httpx
import pytest
from sidequest import JobCounts, Sidequest
from sidequest_dashboard import create_app
from sidequest_postgres.backend import ESTIMATE_ABOVE, PostgresBackend

pytestmark = pytest.mark.postgres

COMPLETED_A, COMPLETED_B, FAILED, WAITING = 150_000, 50_000, 30_000, 2_000


async def _seed(conn: asyncpg.Connection, schema: str) -> None:
    """Rows written straight into the table (fast), then ANALYZE as autovacuum would."""
    table = f'"{schema}".sidequest_jobs'
    columns = "queue, state, script, class, inserted_at, available_at, attempted_at, completed_at, failed_at"
    await conn.execute(
        f"""INSERT INTO {table} ({columns})
        SELECT CASE WHEN g % 4 = 0 THEN 'b' ELSE 'a' END, 'completed', 'm', 'Job',
               now(), now(), now(), now(), NULL
        FROM generate_series(1, {COMPLETED_A + COMPLETED_B}) AS g"""
    )
    await conn.execute(
        f"""INSERT INTO {table} ({columns})
        SELECT 'b', 'failed', 'm', 'Job', now(), now(), now(), NULL, now()
        FROM generate_series(1, {FAILED})"""
    )
    await conn.execute(
        f"""INSERT INTO {table} ({columns})
        SELECT 'a', 'waiting', 'm', 'Job', now(), now(), NULL, NULL, NULL
        FROM generate_series(1, {WAITING})"""
    )
    await conn.execute(f"ANALYZE {table}")


async def test_large_states_are_estimated_and_small_ones_counted(
    backend: PostgresBackend, conn: asyncpg.Connection, schema: str
) -> None:
    await _seed(conn, schema)
    exact = await backend.count_jobs()
    assert exact == JobCounts(completed=COMPLETED_A + COMPLETED_B, failed=FAILED, waiting=WAITING)
    assert FAILED < ESTIMATE_ABOVE < COMPLETED_A + COMPLETED_B

    estimate = await backend.estimate_job_counts()
    assert estimate.estimated == frozenset({"completed"})
    assert estimate.completed == pytest.approx(COMPLETED_A + COMPLETED_B, rel=0.1)
    assert (estimate.failed, estimate.waiting, estimate.running) == (FAILED, WAITING, 0)

    by_queue = await backend.estimate_job_counts_by_queue()
    assert set(by_queue) == {"a", "b"}
    assert by_queue["a"].estimated == by_queue["b"].estimated == frozenset({"completed"})
    assert by_queue["a"].completed == pytest.approx(COMPLETED_A, rel=0.25)
    assert by_queue["b"].completed == pytest.approx(COMPLETED_B, rel=0.25)
    assert (by_queue["a"].waiting, by_queue["b"].failed, by_queue["a"].failed) == (WAITING, FAILED, 0)


async def test_an_empty_table_has_nothing_to_estimate(backend: PostgresBackend) -> None:
    assert await backend.estimate_job_counts() == JobCounts()
    assert await backend.estimate_job_counts_by_queue() == {}


async def test_the_operations_api_estimates_only_when_asked(
    backend: PostgresBackend, conn: asyncpg.Connection, schema: str
) -> None:
    await _seed(conn, schema)
    sq = Sidequest(backend=backend)
    assert (await sq.jobs.count()).estimated == frozenset()
    assert (await sq.jobs.count(exact=False)).estimated == frozenset({"completed"})
    assert (await sq.jobs.count_by_queue())["a"].completed == COMPLETED_A
    assert (await sq.jobs.count_by_queue(exact=False))["a"].estimated == frozenset({"completed"})


async def test_the_dashboard_marks_estimates(
    backend: PostgresBackend, conn: asyncpg.Connection, schema: str
) -> None:
    await _seed(conn, schema)
    sq = Sidequest(backend=backend)
    app = create_app(sq)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1"
    ) as client:
        for path in ("/", "/queues", "/partials/counts"):
            page = await client.get(path)
            assert page.status_code == 200
            estimates = re.findall(r'<span class="estimate"[^>]*>≈&#8201;([\d,]+)</span>', page.text)
            assert estimates, path
            assert all(int(figure.replace(",", "")) > ESTIMATE_ABOVE / 4 for figure in estimates)
        counts = (await client.get("/partials/counts")).text
        assert f"{FAILED:,}</span>" in counts and f"≈&#8201;{FAILED:,}" not in counts
