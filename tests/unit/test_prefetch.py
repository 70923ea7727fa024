"""Prefetch: jobs taken ahead of a free slot (memory backend).

Runs stay within the concurrency limits; what is held beyond them is bounded, given back
unrun (attempt not consumed) on stop, on pause and — with ``"auto"`` — after the hold
limit, and a canceled prefetched job never runs.
"""

from __future__ import annotations

import asyncio

import pytest
import sample_jobs as jobs
from sidequest import ConfigurationError, JobState, QueueConfig, Sidequest
from sidequest._prefetch import HOLD_LIMIT, MIN_AHEAD, PrefetchBuffer
from sidequest.backend import JobRecord, MemoryBackend

pytestmark = pytest.mark.usefixtures("tracked")


def engine(concurrency: int, **options: object) -> Sidequest:
    defaults: dict[str, object] = {"poll_interval": 0.02, "heartbeat_interval": 0.2, "lease": 5}
    return Sidequest(
        MemoryBackend(),
        max_concurrent_jobs=concurrency,
        queues=[QueueConfig("default", concurrency=concurrency)],
        **(defaults | options),  # type: ignore[arg-type]
    )


async def drain_watching(sq: Sidequest, total: int, timeout: float = 20) -> int:
    """Wait until ``total`` jobs completed; return the most jobs the process held at once."""
    most = 0
    for _ in range(int(timeout / 0.001)):
        most = max(most, len(sq.running_jobs))
        if sq.stats.completed >= total:
            return most
        await asyncio.sleep(0.001)
    raise AssertionError(f"only {sq.stats.completed} of {total} jobs completed")


async def test_short_jobs_are_prefetched_but_never_run_beyond_the_limit() -> None:
    sq = engine(4)
    records = await sq.build(jobs.Tracked).enqueue_many([()] * 400)
    await sq.start()
    held = await drain_watching(sq, 400)
    await sq.stop()
    assert jobs.Tracked.peak <= 4
    assert 4 < held <= 4 + MIN_AHEAD, "short jobs: some were taken ahead, within the cap"
    assert sorted(jobs.Tracked.ran) == sorted(r.id for r in records)  # each ran once


async def test_long_jobs_are_not_prefetched() -> None:
    sq = engine(2)  # jobs of 0.3 s on 2 slots: 0.1 s of work is less than one job
    await sq.build(jobs.Tracked).enqueue_many([(0.3,)] * 6)
    await sq.start()
    held = await drain_watching(sq, 6)
    await sq.stop()
    assert held == 2 and jobs.Tracked.peak == 2


async def test_prefetch_zero_holds_only_what_runs() -> None:
    sq = engine(3, prefetch=0)
    await sq.build(jobs.Tracked).enqueue_many([()] * 200)
    await sq.start()
    held = await drain_watching(sq, 200)
    await sq.stop()
    assert held <= 3


async def held_prefetched(sq: Sidequest, count: int) -> list[int]:
    """Ids of the jobs held but not running once ``count`` of them are."""
    for _ in range(500):
        running = set(jobs.Tracked.ran)
        held = [r.id for r in sq.running_jobs]
        if len(held) >= count + jobs.Tracked.now and jobs.Tracked.now:
            return [i for i in held if i not in running][-count:]
        await asyncio.sleep(0.01)
    raise AssertionError("the jobs were never prefetched")


async def test_a_fixed_prefetch_is_given_back_unrun_when_the_worker_stops() -> None:
    sq = engine(1, prefetch=3, shutdown_timeout=0.1)
    records = await sq.build(jobs.Tracked).enqueue_many([(30,)] * 5)
    await sq.start()
    await held_prefetched(sq, 3)
    stored = [await sq.jobs.get(r.id) for r in records]
    assert sorted(r.state for r in stored) == [JobState.RUNNING] * 4 + [JobState.WAITING]
    await sq.stop()
    finals = [await sq.jobs.get(r.id) for r in records]
    assert {r.state for r in finals} == {JobState.WAITING}
    assert {r.attempt for r in finals} == {0}, "no attempt consumed, by the interrupted or the prefetched"
    assert jobs.Tracked.ran == [] and jobs.Tracked.peak == 1


async def test_prefetched_jobs_of_a_paused_queue_are_given_back() -> None:
    sq = engine(1, prefetch=2)
    records = await sq.build(jobs.Tracked).enqueue_many([(0.6,)] * 4)
    await sq.start()
    prefetched = await held_prefetched(sq, 2)
    await sq.queues.pause("default")
    for _ in range(200):
        if [r.state for r in await stored(sq, prefetched)] == [JobState.WAITING] * 2:
            break
        await asyncio.sleep(0.01)
    assert [r.attempt for r in await stored(sq, prefetched)] == [0, 0]
    await asyncio.sleep(0.8)  # the running job finishes; nothing else starts while paused
    await sq.stop()
    assert len(jobs.Tracked.ran) == 1 and jobs.Tracked.ran[0] not in prefetched
    states = sorted(r.state for r in await stored(sq, [r.id for r in records]))
    assert states == [JobState.COMPLETED] + [JobState.WAITING] * 3


async def test_a_canceled_prefetched_job_never_runs() -> None:
    sq = engine(1, prefetch=2)
    await sq.build(jobs.Tracked).enqueue_many([(0.3,)] * 3)
    await sq.start()
    first, _ = await held_prefetched(sq, 2)
    await sq.jobs.cancel(first)
    for _ in range(300):
        if sq.stats.completed == 2:
            break
        await asyncio.sleep(0.01)
    await sq.stop()
    assert first not in jobs.Tracked.ran and len(jobs.Tracked.ran) == 2
    assert (await sq.jobs.get(first)).state == JobState.CANCELED


async def test_auto_gives_back_jobs_that_found_no_slot_in_time() -> None:
    sq = engine(1)
    quick = await sq.build(jobs.Tracked).enqueue_many([()] * 30)
    await drain_then(sq, len(quick))  # the queue's jobs look short: prefetch is on
    slow = await sq.build(jobs.Tracked).enqueue(HOLD_LIMIT + 1.0)
    await asyncio.sleep(0.05)
    behind = await sq.build(jobs.Tracked).enqueue_many([()] * 5)
    await asyncio.sleep(HOLD_LIMIT + 0.5)
    # the slow job holds the only slot; what was taken behind it went back to waiting
    states = [(await sq.jobs.get(r.id)) for r in behind]
    assert [s.state for s in states] == [JobState.WAITING] * 5 and {s.attempt for s in states} == {0}
    assert not [r for r in sq.running_jobs if r.id != slow.id], "no more prefetch for this queue"
    await drain_watching(sq, len(quick) + 6)
    await sq.stop()


async def drain_then(sq: Sidequest, total: int) -> None:
    await sq.start()
    await drain_watching(sq, total)


async def stored(sq: Sidequest, ids: list[int]) -> list[JobRecord]:
    return [await sq.jobs.get(i) for i in ids]


def test_prefetch_setting_is_checked() -> None:
    for bad in ("fast", -1, 1.5, True, None):
        with pytest.raises(ConfigurationError, match="prefetch"):
            Sidequest(MemoryBackend(), prefetch=bad)  # type: ignore[arg-type]
    assert Sidequest(MemoryBackend(), prefetch=0).prefetch == 0


def test_auto_holds_about_a_tenth_of_a_second_of_work() -> None:
    buffer = PrefetchBuffer("auto")
    assert buffer.room("q", 10, 10) == 0, "nothing before a job of the queue has run"
    buffer.ran("q", 0.001)
    assert buffer.room("q", 10, 10) == MIN_AHEAD  # 10 slots × 0.1 s / 1 ms = 1,000: capped
    buffer.ran("other", 0.05)
    assert buffer.room("other", 10, 10) == 20  # 10 slots × 0.1 s / 50 ms
    buffer.ran("slow", 2.0)
    assert buffer.room("slow", 10, 10) == 0
