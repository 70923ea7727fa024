"""The engine end to end on a SQLite file: outcomes, cancel, chaining, clean shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlite_jobs as jobs
from sidequest import JobState, Sidequest
from sidequest_sqlite import SQLiteBackend


@pytest.fixture(params=["file", "memory"])
async def sq(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Sidequest]:
    url = f"sqlite:///{tmp_path / 'engine.sqlite3'}" if request.param == "file" else "sqlite://:memory:"
    engine = Sidequest(
        url,
        poll_interval=0.05,
        heartbeat_interval=0.5,
        lease=5,
        max_concurrent_jobs=20,
    )
    jobs.ENGINE["sq"] = engine
    await engine.start()
    try:
        yield engine
    finally:
        await engine.close()
        jobs.ENGINE.clear()


async def wait_until_running(sq: Sidequest, job_id: int) -> None:
    for _ in range(400):
        if (await sq.jobs.get(job_id)).state == JobState.RUNNING:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"job #{job_id} never started")


async def test_outcomes(sq: Sidequest) -> None:
    jobs.RUNS.clear()
    assert isinstance(sq.backend, SQLiteBackend)
    done = await sq.build(jobs.Echo).enqueue(1, "two", flag=True)
    gives_up = await sq.build(jobs.GivesUp).enqueue()
    flaky = await sq.build(jobs.FailsUntil).retry_delay(0.05).enqueue(3)
    snoozer = await sq.build(jobs.SnoozesOnce).enqueue("snooze-sqlite", 0.1)
    slow = await sq.build(jobs.Sleeps).timeout(0.2).max_attempts(1).enqueue(5)
    doomed = await sq.build(jobs.Sleeps).enqueue(30)

    record = await sq.jobs.wait(done.id, timeout=10)
    assert (record.state, record.result) == (
        JobState.COMPLETED,
        {"args": [1, "two"], "kwargs": {"flag": True}, "attempt": 1},
    )
    assert record.completed_at is not None and record.completed_at >= record.inserted_at

    record = await sq.jobs.wait(gives_up.id, timeout=10)
    assert (record.state, record.attempt, record.errors[-1].message) == (
        JobState.FAILED,
        1,
        "invalid address",
    )

    record = await sq.jobs.wait(flaky.id, timeout=10)
    assert (record.state, record.attempt, record.result) == (JobState.COMPLETED, 3, 3)
    assert [e.type for e in record.errors] == ["RuntimeError", "RuntimeError"]
    assert record.errors[0].attempt == 1 and record.errors[0].worker == sq.worker_id

    record = await sq.jobs.wait(snoozer.id, timeout=10)
    assert (record.state, record.attempt, record.result) == (
        JobState.COMPLETED,
        1,
        {"attempt": 1, "runs": 2},
    )

    record = await sq.jobs.wait(slow.id, timeout=10)
    assert (record.state, record.attempt, record.errors[-1].type) == (JobState.FAILED, 1, "JobTimeout")

    await wait_until_running(sq, doomed.id)
    canceled = await sq.jobs.cancel(doomed.id)
    assert canceled.state == JobState.CANCELED
    record = await sq.jobs.wait(doomed.id, timeout=10)
    assert record.state == JobState.CANCELED and record.canceled_at is not None
    assert record.lease_token is None


async def test_jobs_enqueue_jobs_without_deadlocking_the_writer(sq: Sidequest) -> None:
    parents = await sq.build(jobs.Parent).enqueue_many([(3,)] * 10)
    child_ids = []
    for parent in parents:
        record = await sq.jobs.wait(parent.id, timeout=15)
        assert record.state == JobState.COMPLETED, record.errors
        child_ids.extend(record.result)
    assert len(child_ids) == 30
    for child_id in child_ids:
        child = await sq.jobs.wait(child_id, timeout=15)
        assert child.state == JobState.COMPLETED
        assert child.result["parent"] in {p.id for p in parents}


async def test_clean_stop_leaves_nothing_held(sq: Sidequest) -> None:
    records = await sq.build(jobs.Sleeps).enqueue_many([(0.01,)] * 50)
    await sq.jobs.wait(records[-1].id, timeout=15)
    await sq.stop()
    counts = await sq.jobs.count()
    assert counts.claimed == counts.running == 0
    assert counts.completed == 50
    assert isinstance(sq.backend, SQLiteBackend) and sq.backend.busy_retries == 0


async def test_a_job_enqueued_by_another_connection_wakes_the_worker(tmp_path: Path) -> None:
    """Cross-process wake-up through ``PRAGMA data_version``: no waiting for the 1 s poll."""
    import time

    url = f"sqlite:///{tmp_path / 'wake.sqlite3'}"
    worker = Sidequest(url, poll_interval=30)
    client = Sidequest(url)
    await worker.start()
    await client.configure()
    try:
        first = await client.build(jobs.Echo).enqueue("hi")
        started = time.monotonic()
        record = await client.jobs.wait(first.id, timeout=10, poll=0.005)
        assert record.state == "completed"
        assert time.monotonic() - started < 5, "woken by the commit watcher, not the 30 s poll"
    finally:
        await worker.close()
        await client.close()
