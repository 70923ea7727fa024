"""EXPLAIN QUERY PLAN guards: the hot queries use their indexes and never scan the jobs table."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sidequest.backend import JobFilter, NewJob
from sidequest_sqlite import SQLiteBackend
from sidequest_sqlite import _sql as sql
from sidequest_sqlite import _statements as statements


@pytest.fixture
async def conn(tmp_path: Path) -> AsyncIterator[sqlite3.Connection]:
    path = tmp_path / "plans.sqlite3"
    backend = SQLiteBackend(f"sqlite:///{path}")
    await backend.migrate()
    jobs = [
        NewJob(queue=f"q{i % 3}", script="m", job_class=f"C{i % 5}", unique_digest=f"d{i}")
        for i in range(3000)
    ]
    await backend.enqueue(jobs)
    for job in await backend.claim("q1", 200, "w", 30):
        assert job.lease_token
    await backend.close()
    connection = sqlite3.connect(path)
    yield connection
    connection.close()


def plan(conn: sqlite3.Connection, statement: str, params: Any = ()) -> list[str]:
    return [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + statement, params)]


def assert_no_table_scan(steps: list[str]) -> None:
    scans = [s for s in steps if s.startswith(f"SCAN {sql.JOBS}") and "INDEX" not in s]
    assert not scans, steps


def listing(filters: JobFilter) -> tuple[str, list[Any]]:
    where, params = sql.job_filter(filters)
    return f"SELECT * FROM {sql.JOBS}{where} ORDER BY id DESC LIMIT ? OFFSET ?", [*params, 50, 0]


def test_claim_uses_the_partial_claim_index(conn: sqlite3.Connection) -> None:
    steps = plan(conn, statements.CLAIM, ("w", 30_000, "q1", 10))
    assert any("USING INDEX sidequest_jobs_claim" in s for s in steps), steps
    assert_no_table_scan(steps)


@pytest.mark.parametrize(
    ("filters", "index"),
    [
        (JobFilter(states=("waiting",)), "sidequest_jobs_state"),
        (JobFilter(states=("waiting", "failed")), "sidequest_jobs_state"),
        (JobFilter(states=("wait%",)), "sidequest_jobs_state"),
        (JobFilter(queues=("q1",)), "sidequest_jobs_queue"),
        (JobFilter(job_classes=("C1",)), "sidequest_jobs_class"),
    ],
)
def test_dashboard_lists_use_an_index(conn: sqlite3.Connection, filters: JobFilter, index: str) -> None:
    statement, params = listing(filters)
    steps = plan(conn, statement, params)
    assert any(index in s for s in steps), steps
    assert_no_table_scan(steps)


@pytest.mark.parametrize(
    ("statement", "params", "index"),
    [
        (statements.RELEASE_EXPIRED, ("worker_lost", "m"), "sidequest_jobs_lease"),
        (statements.DELETE_FINISHED, (1,), "sidequest_jobs_finished"),
        (
            f"SELECT unique_digest, id FROM {sql.JOBS} WHERE unique_digest IN (?, ?) AND {sql.HOLDS_DIGEST}",
            ("d1", "d2"),
            "sidequest_jobs_unique_digest",
        ),
        (f"SELECT id FROM {sql.JOBS} WHERE {statements.HELD_LEASES}", ('[[1, "t"]]',), "sidequest_jobs"),
        (
            f"SELECT state, count(*) FROM {sql.JOBS} INDEXED BY sidequest_jobs_latest "
            f"WHERE {sql.LATEST_AT} >= ? AND {sql.LATEST_AT} <= ? GROUP BY state",
            (1, 2),
            "sidequest_jobs_latest",
        ),
    ],
)
def test_maintenance_and_counts_use_an_index(
    conn: sqlite3.Connection, statement: str, params: Any, index: str
) -> None:
    steps = plan(conn, statement, params)
    assert any(index in s for s in steps), steps
    assert_no_table_scan(steps)
