"""The engine end to end on PostgreSQL: complete, fail, retry, snooze, time out, cancel while running."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator

import pg_jobs
import pytest
from sidequest import DuplicateJobError, InvalidStateError, JobState, QueueConfig, Sidequest

pytestmark = pytest.mark.postgres


@pytest.fixture
async def sq(schema_url: str) -> AsyncIterator[Sidequest]:
    engine = Sidequest(
        schema_url,
        poll_interval=0.05,
        heartbeat_interval=0.5,
        lease=5,
        queues=[QueueConfig("default", concurrency=10)],
        backend_options={"pool_max": 4},
    )
    await engine.start()
    try:
        yield engine
    finally:
        await engine.close()


async def test_outcomes(sq: Sidequest) -> None:
    done = await sq.build(pg_jobs.Echo).enqueue(1, "two", flag=True)
    flaky = await sq.build(pg_jobs.FailsUntil).retry_delay(0.05).enqueue(3)
    gives_up = await sq.build(pg_jobs.GivesUp).enqueue()
    snoozer = await sq.build(pg_jobs.SnoozesOnce).enqueue(f"snooze-{sq.worker_id}", 0.2)
    slow = await sq.build(pg_jobs.Sleeps).timeout(0.2).max_attempts(1).enqueue(5)

    record = await sq.jobs.wait(done.id, timeout=10)
    assert (record.state, record.result) == (
        JobState.COMPLETED,
        {"args": [1, "two"], "kwargs": {"flag": True}, "attempt": 1},
    )
    assert record.completed_at is not None and record.lease_token is None

    record = await sq.jobs.wait(flaky.id, timeout=10)
    assert (record.state, record.attempt, record.result) == (JobState.COMPLETED, 3, 3)
    assert [e.type for e in record.errors] == ["RuntimeError", "RuntimeError"]
    assert record.errors[0].attempt == 1 and record.errors[0].worker == sq.worker_id

    record = await sq.jobs.wait(gives_up.id, timeout=10)
    assert (record.state, record.attempt) == (JobState.FAILED, 1)
    assert record.errors[-1].message == "invalid address" and record.failed_at is not None

    record = await sq.jobs.wait(snoozer.id, timeout=10)
    assert (record.state, record.result, record.attempt) == (JobState.COMPLETED, {"attempt": 1}, 1)
    assert record.available_at > snoozer.available_at

    record = await sq.jobs.wait(slow.id, timeout=10)
    assert (record.state, record.errors[-1].type) == (JobState.FAILED, "JobTimeout")


async def test_cancel_while_running(sq: Sidequest) -> None:
    job = await sq.build(pg_jobs.WaitsForAbort).enqueue()
    for _ in range(200):
        if (await sq.jobs.get(job.id)).state == JobState.RUNNING:
            break
        await asyncio.sleep(0.02)
    canceled = await sq.jobs.cancel(job.id)
    assert canceled.state == JobState.CANCELED
    record = await sq.jobs.wait(job.id, timeout=10)
    assert record.state == JobState.CANCELED and record.canceled_at is not None
    with pytest.raises(InvalidStateError):
        await sq.jobs.cancel(job.id)


async def test_operations_and_uniqueness(sq: Sidequest) -> None:
    await sq.queues.pause("default")
    first = await sq.build(pg_jobs.Echo).unique(with_args=True).enqueue("u")
    with pytest.raises(DuplicateJobError) as raised:
        await sq.build(pg_jobs.Echo).unique(with_args=True).enqueue("u")
    assert raised.value.existing_id == first.id
    far = await sq.build(pg_jobs.Echo).delay(3600).enqueue("later")
    await sq.jobs.run(far.id)
    await asyncio.sleep(0.2)
    assert (await sq.jobs.get(first.id)).state == JobState.WAITING  # paused
    await sq.queues.resume("default")
    assert (await sq.jobs.wait(far.id, timeout=10)).state == JobState.COMPLETED
    assert (await sq.jobs.wait(first.id, timeout=10)).state == JobState.COMPLETED
    rerun = await sq.jobs.rerun(first.id)
    assert rerun.state == JobState.WAITING and rerun.result is None
    assert (await sq.jobs.wait(first.id, timeout=10)).state == JobState.COMPLETED
    many = await sq.build(pg_jobs.Echo).enqueue_many([(i,) for i in range(20)])
    for record in many:
        assert (await sq.jobs.wait(record.id, timeout=10)).result["args"] == [record.args[0]]
    counts = await sq.jobs.count()
    assert counts.completed == 22 and counts.total == 22


async def test_a_worker_raises_the_collector_threshold_while_it_runs(schema_url: str) -> None:
    before = gc.get_threshold()
    assert before[0] > 0  # collection on, as pytest runs it
    raised = before[0] + 4_000
    engine = Sidequest(schema_url, poll_interval=0.05, gc_threshold=raised, backend_options={"pool_max": 4})
    await engine.start()
    try:
        assert gc.get_threshold() == (raised, *before[1:])
        records = await engine.build(pg_jobs.Echo).enqueue_many([(i,) for i in range(50)])
        for record in records:
            assert (await engine.jobs.wait(record.id, timeout=10)).state == JobState.COMPLETED
    finally:
        await engine.close()
    assert gc.get_threshold() == before
