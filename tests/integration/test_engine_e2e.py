"""The engine end to end on every backend: jobs that complete, fail, retry, snooze, time out, get canceled."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "unit"))
sys.path.insert(0, str(Path(__file__).parents[1]))

import sample_jobs as jobs
from backends import BACKENDS, backend_url
from sidequest import DuplicateJobError, InvalidStateError, JobState, QueueConfig, Sidequest


@pytest.fixture(params=BACKENDS)
async def sq(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Sidequest]:
    async with backend_url(request.param, tmp_path) as url:
        engine = Sidequest(
            url,
            poll_interval=0.05,
            heartbeat_interval=0.5,
            lease=5,
            queues=[QueueConfig("default", concurrency=10)],
        )
        await engine.start()
        try:
            yield engine
        finally:
            await engine.close()


async def test_outcomes(sq: Sidequest) -> None:
    jobs.RUNS.clear()
    done = await sq.build(jobs.Echo).enqueue(1, "two", flag=True)
    sync = await sq.build(jobs.SyncDouble).enqueue(21)
    flaky = await sq.build(jobs.FailsUntil).retry_delay(0.05).enqueue(3)
    gives_up = await sq.build(jobs.GivesUp).enqueue()
    exhausted = await sq.build(jobs.AlwaysFails).max_attempts(2).retry_delay(0.01).enqueue()
    snoozer = await sq.build(jobs.SnoozesOnce).enqueue("snooze-e2e", 0.1)
    slow = await sq.build(jobs.Sleeps).timeout(0.2).max_attempts(1).enqueue(5)
    ctor = await sq.build(jobs.WithCtor).with_("Hello").enqueue("Ada")

    assert (await sq.jobs.wait(done.id, timeout=10)).result == {
        "args": [1, "two"],
        "kwargs": {"flag": True},
        "attempt": 1,
    }
    assert (await sq.jobs.wait(sync.id, timeout=10)).result == 42
    record = await sq.jobs.wait(flaky.id, timeout=10)
    assert (record.state, record.attempt, record.result) == (JobState.COMPLETED, 3, 3)
    assert [e.type for e in record.errors] == ["RuntimeError", "RuntimeError"]
    assert record.errors[0].attempt == 1 and record.errors[0].worker == sq.worker_id
    assert "attempt 1 fails" in (record.errors[0].traceback or "")
    record = await sq.jobs.wait(gives_up.id, timeout=10)
    assert (record.state, record.attempt, record.errors[-1].message) == (
        JobState.FAILED,
        1,
        "invalid address",
    )
    record = await sq.jobs.wait(exhausted.id, timeout=10)
    assert (record.state, record.attempt, len(record.errors)) == (JobState.FAILED, 2, 2)
    record = await sq.jobs.wait(snoozer.id, timeout=10)
    assert (record.state, record.result) == (JobState.COMPLETED, {"attempt": 1})
    record = await sq.jobs.wait(slow.id, timeout=10)
    assert (record.state, record.errors[-1].type) == (JobState.FAILED, "JobTimeout")
    assert (await sq.jobs.wait(ctor.id, timeout=10)).result == "Hello, Ada"


async def test_cancel_running_job_ends_canceled(sq: Sidequest) -> None:
    job = await sq.build(jobs.RaisesOnAbort).enqueue()
    for _ in range(200):
        if (await sq.jobs.get(job.id)).state == JobState.RUNNING:
            break
        await asyncio.sleep(0.02)
    await sq.jobs.cancel(job.id)
    record = await sq.jobs.wait(job.id, timeout=10)
    assert record.state == JobState.CANCELED
    assert record.canceled_at is not None
    with pytest.raises(InvalidStateError):
        await sq.jobs.cancel(job.id)


async def test_exact_retry_delay_and_uniqueness(sq: Sidequest) -> None:
    job = await sq.build(jobs.RetriesExactly).enqueue(0.3)
    record = await sq.jobs.wait(job.id, timeout=10)
    assert record.state == JobState.COMPLETED
    assert record.attempted_at is not None
    first = await sq.build(jobs.Sleeps).unique().enqueue(0.3)
    with pytest.raises(DuplicateJobError) as caught:
        await sq.build(jobs.Sleeps).unique().enqueue(0.1)
    assert caught.value.existing_id == first.id
    await sq.jobs.wait(first.id, timeout=10)
    again = await sq.build(jobs.Sleeps).unique().enqueue(0.01)
    assert again.id != first.id


async def test_paused_queue_keeps_jobs_waiting(sq: Sidequest) -> None:
    job = await sq.build(jobs.Echo).queue("paused-q").enqueue()
    await sq.queues.pause("paused-q")
    await asyncio.sleep(0.05)
    late = await sq.build(jobs.Echo).queue("paused-q").enqueue()
    await asyncio.sleep(0.3)
    assert (await sq.jobs.get(late.id)).state == JobState.WAITING
    await sq.queues.resume("paused-q")
    assert (await sq.jobs.wait(late.id, timeout=10)).state == JobState.COMPLETED
    assert (await sq.jobs.wait(job.id, timeout=10)).finished


async def test_chaining_from_inside_run(sq: Sidequest) -> None:
    jobs.ENGINES["chain"] = sq
    parent = await sq.build(jobs.Chains).enqueue("chain")
    record = await sq.jobs.wait(parent.id, timeout=10)
    assert record.state == JobState.COMPLETED
    child = await sq.jobs.wait(record.result, timeout=10)
    assert child.result["args"] == ["child"]


async def test_many_jobs_respect_concurrency(sq: Sidequest) -> None:
    records = await sq.build(jobs.Sleeps).queue("bulk").enqueue_many([(0.01,)] * 40)
    assert len(records) == 40
    finals = [await sq.jobs.wait(r.id, timeout=20) for r in records]
    assert all(r.state == JobState.COMPLETED for r in finals)
    counts = await sq.jobs.count()
    assert counts.completed >= 40


@pytest.mark.parametrize("kind", BACKENDS)
async def test_prefetched_jobs_are_given_back_unrun_on_pause_and_stop(kind: str, tmp_path: Path) -> None:
    """Jobs taken ahead of a free slot are held in the database like running ones, and are
    written back to waiting, attempt not consumed, when their queue is paused or the worker
    stops (docs: queues.md, "Prefetch")."""
    jobs.Tracked.reset()
    async with backend_url(kind, tmp_path) as url:
        sq = Sidequest(
            url,
            poll_interval=0.05,
            lease=5,
            heartbeat_interval=0.5,
            shutdown_timeout=0.2,
            max_concurrent_jobs=1,
            prefetch=2,
            queues=[QueueConfig("first", concurrency=1, priority=10), QueueConfig("second", concurrency=1)],
        )
        try:
            first = await sq.build(jobs.Tracked).queue("first").enqueue_many([(30,)] * 3)
            second = await sq.build(jobs.Tracked).queue("second").enqueue_many([(30,)] * 3)
            await sq.start()
            # one job of "first" runs, two more are taken ahead of the only slot
            assert await held_ids(sq, {r.id for r in first})
            stored = [await sq.jobs.get(r.id) for r in first]
            assert [r.state for r in stored] == [JobState.RUNNING] * 3 and jobs.Tracked.peak == 1
            (running,) = jobs.Tracked.started

            await sq.queues.pause("first")  # its prefetched jobs go back; the running one runs on
            others = {r.id for r in first} - {running}
            assert await held_ids(sq, {running} | {r.id for r in second[:2]})
            for job_id in others:
                record = await sq.jobs.get(job_id)
                assert (record.state, record.attempt) == (JobState.WAITING, 0)

            await sq.stop()  # the running job is released after the timeout, the prefetched at once
            records = [await sq.jobs.get(r.id) for r in [*first, *second]]
            assert {(r.state, r.attempt) for r in records} == {(JobState.WAITING, 0)}
            assert jobs.Tracked.ran == []
        finally:
            await sq.close()
            jobs.Tracked.reset()


async def held_ids(sq: Sidequest, expected: set[int]) -> bool:
    """Whether the jobs the worker holds become exactly ``expected`` within 5 s."""
    for _ in range(500):
        if {r.id for r in sq.running_jobs} == expected:
            return True
        await asyncio.sleep(0.01)
    return False

