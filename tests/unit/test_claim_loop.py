"""The claim loop's round trips (memory backend, instrumented).

A pass claims by the queue settings it has: re-reading them (every ``QUEUE_REFRESH``
seconds, or ``NOTIFIED_REFRESH`` after a wake-up) happens beside it, and changed settings
wake the loop. With a backend whose writes wake every process, a pass that found no more
ready work is not followed by claims on freed slots; with polling it is.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest
import sample_jobs as jobs
from sidequest import QueueConfig, Sidequest
from sidequest._dispatcher import NOTIFIED_REFRESH
from sidequest.backend import MemoryBackend, QueueRecord


class SlowQueueReads(MemoryBackend):
    """Reading the queue settings takes ``delay`` seconds (the answer is the settings as they
    were when the read began, as a database's would be), or fails when ``broken``."""

    def __init__(self) -> None:
        super().__init__()
        self.delay = 0.0
        self.broken = False
        self.reads = 0

    async def list_queues(self, order_by: str = "priority", descending: bool = True) -> list[QueueRecord]:
        self.reads += 1
        if self.broken:
            raise ConnectionError("the database went away")
        settings = await super().list_queues(order_by, descending)
        await asyncio.sleep(self.delay)
        return settings


pytestmark = pytest.mark.usefixtures("tracked")


def engine(backend: MemoryBackend, **options: Any) -> Sidequest:
    defaults: dict[str, Any] = {"poll_interval": 0.05, "heartbeat_interval": 0.2, "lease": 5}
    return Sidequest(backend, **(defaults | options))


async def started_within(record_id: int, seconds: float) -> float:
    """Seconds until the job ``record_id`` started (fails after ``seconds``)."""
    begin = time.monotonic()
    while record_id not in jobs.Tracked.started:
        if time.monotonic() - begin > seconds:
            raise AssertionError(f"job #{record_id} did not start within {seconds} s")
        await asyncio.sleep(0.002)
    return time.monotonic() - begin


async def test_a_pickup_does_not_wait_for_the_queue_settings() -> None:
    backend = SlowQueueReads()
    worker = engine(backend, queues=[QueueConfig("default", concurrency=2)])
    await worker.start()
    try:
        first = await worker.build(jobs.Tracked).enqueue()
        await started_within(first.id, 5)
        backend.delay = 3.0  # from now on a read of the settings takes 3 s
        await asyncio.sleep(NOTIFIED_REFRESH + 0.1)  # the next wake-up finds them old
        reads = backend.reads
        job = await worker.build(jobs.Tracked).enqueue()
        waited = await started_within(job.id, 2.5)  # before the read could have returned
        assert backend.reads == reads + 1, "the wake-up did start a re-read"
        assert waited < 2.5
    finally:
        backend.delay = 0.0
        await worker.stop()


async def test_a_queue_created_by_another_process_is_claimed_after_the_read() -> None:
    backend = SlowQueueReads()
    worker = engine(backend)  # serves every active queue
    client = engine(backend)
    await worker.start()
    try:
        await asyncio.sleep(0.1)  # the worker has read the settings: no queue "fresh" yet
        backend.delay = 0.2
        job = await client.build(jobs.Tracked).queue("fresh").enqueue()
        await started_within(job.id, 5)
    finally:
        await worker.stop()


async def test_a_failed_read_keeps_the_previous_settings(caplog: pytest.LogCaptureFixture) -> None:
    backend = SlowQueueReads()
    worker = engine(backend, queues=[QueueConfig("default", concurrency=2)])
    await worker.start()
    try:
        await started_within((await worker.build(jobs.Tracked).enqueue()).id, 5)
        backend.broken = True
        reads = backend.reads
        with caplog.at_level(logging.WARNING, logger="sidequest"):
            for _ in range(3):
                await asyncio.sleep(NOTIFIED_REFRESH + 0.05)
                await started_within((await worker.build(jobs.Tracked).enqueue()).id, 5)
        assert backend.reads > reads, "it kept trying"
        assert "could not re-read the queue settings" in caplog.text
    finally:
        backend.broken = False
        await worker.stop()


async def test_the_read_in_flight_ends_with_the_worker() -> None:
    backend = SlowQueueReads()
    worker = engine(backend, queues=[QueueConfig("default", concurrency=2)])
    await worker.start()
    await started_within((await worker.build(jobs.Tracked).enqueue()).id, 5)
    backend.delay = 30.0
    await asyncio.sleep(NOTIFIED_REFRESH + 0.05)
    await worker.build(jobs.Tracked).enqueue()  # wakes the loop: a 30 s read starts
    await asyncio.sleep(0.05)
    refreshing = [t for t in asyncio.all_tasks() if t.get_name() == "sidequest-queue-settings"]
    assert len(refreshing) == 1
    await asyncio.wait_for(worker.stop(), 5)
    await asyncio.sleep(0)
    assert refreshing[0].done()


async def test_a_pause_made_here_is_not_undone_by_a_read_begun_before_it() -> None:
    """A background re-read that left before ``pause()`` brings back the queue as active;
    it must not replace the settings read after the pause (it did: the paused queue's
    jobs were claimed until the next re-read)."""
    backend = SlowQueueReads()
    worker = engine(backend, queues=[QueueConfig("q", concurrency=2)])
    await worker.start()
    try:
        await started_within((await worker.build(jobs.Tracked).queue("q").enqueue()).id, 5)
        backend.delay = 0.4  # the next background re-read takes 0.4 s
        await asyncio.sleep(NOTIFIED_REFRESH + 0.05)
        waking = await worker.build(jobs.Tracked).queue("q").enqueue()  # the loop wakes, a read leaves
        await started_within(waking.id, 5)
        assert [t for t in asyncio.all_tasks() if t.get_name() == "sidequest-queue-settings"]
        backend.delay = 0.0  # the read after the pause is quick and lands first
        await worker.queues.pause("q")
        await asyncio.sleep(0.6)  # the slow read (from before the pause) has landed too
        late = await worker.build(jobs.Tracked).queue("q").enqueue()
        await asyncio.sleep(0.3)
        assert late.id not in jobs.Tracked.started, "a job of the paused queue ran"
        await worker.queues.resume("q")
        await started_within(late.id, 5)
    finally:
        await worker.stop()


class SlowClaims(MemoryBackend):
    """A claim of queue ``slow`` takes ``delay`` seconds."""

    def __init__(self) -> None:
        super().__init__()
        self.delay = 0.0

    async def claim_and_start(self, queue: str, limit: int, worker_id: str, lease: float) -> list[Any]:
        if queue == "slow":
            await asyncio.sleep(self.delay)
        return await super().claim_and_start(queue, limit, worker_id, lease)


async def test_a_pause_during_a_pass_stops_it_before_its_next_claim() -> None:
    backend = SlowClaims()
    worker = engine(
        backend, queues=[QueueConfig("slow", concurrency=2, priority=10), QueueConfig("b", concurrency=2)]
    )
    await worker.start()
    try:
        await started_within((await worker.build(jobs.Tracked).queue("b").enqueue()).id, 5)
        await asyncio.sleep(0.1)
        backend.delay = 0.4
        held = await worker.build(jobs.Tracked).queue("b").enqueue()  # wakes a pass: "slow" first
        await asyncio.sleep(0.1)  # the pass waits for the claim of "slow"
        await worker.queues.pause("b")
        await asyncio.sleep(0.6)
        assert held.id not in jobs.Tracked.started, "the pass went on to claim the paused queue"
        await worker.queues.resume("b")
        await started_within(held.id, 5)
    finally:
        backend.delay = 0.0
        await worker.stop()


async def test_a_failed_read_begun_before_a_pause_does_not_mark_old_settings_fresh() -> None:
    """The refresh task is created in a pass; ``pause()`` lands before the task first runs;
    the task's read then fails. The settings from before the pause must not count as
    fresh (the next pass reads them again)."""
    backend = SlowQueueReads()
    worker = engine(backend, queues=[QueueConfig("q", concurrency=2)])
    await worker.start()
    try:
        await started_within((await worker.build(jobs.Tracked).queue("q").enqueue()).id, 5)
        await asyncio.sleep(NOTIFIED_REFRESH + 0.05)
        dispatcher: Any = worker._dispatcher
        dispatcher._notified = True
        await dispatcher._active_queues()  # creates the refresh task (not run yet)
        backend.broken = True  # its read will fail
        await backend.update_queue("q", state="paused")  # what pause() does, then:
        worker.queues_changed()
        await asyncio.sleep(0.05)  # the task runs and fails; the loop reads again
        backend.broken = False
        await asyncio.sleep(0.1)
        late = await worker.build(jobs.Tracked).queue("q").enqueue()
        await asyncio.sleep(0.3)
        assert late.id not in jobs.Tracked.started, "a job of the paused queue ran"
    finally:
        backend.broken = False
        await worker.stop()


class CountedClaims(MemoryBackend):
    """Counts claim statements; ``foreign`` enqueues wake nobody (another process's writes)."""

    def __init__(self, *, notifies: bool) -> None:
        super().__init__()
        self.notifies = notifies  # type: ignore[misc]
        self.claims = 0
        self.empty_claims = 0
        self.foreign = False

    async def claim_and_start(self, queue: str, limit: int, worker_id: str, lease: float) -> list[Any]:
        jobs = await super().claim_and_start(queue, limit, worker_id, lease)
        self.claims += 1
        self.empty_claims += not jobs
        return jobs

    def _wake(self) -> None:
        if not self.foreign:
            super()._wake()


async def test_a_lightly_loaded_worker_makes_one_claim_per_job() -> None:
    backend = CountedClaims(notifies=True)
    worker = engine(backend, queues=[QueueConfig("default", concurrency=10)])
    await worker.start()
    try:
        await asyncio.sleep(0.2)
        before, empty_before = backend.claims, backend.empty_claims
        for _ in range(20):  # one at a time, each done before the next
            await started_within((await worker.build(jobs.Tracked).enqueue()).id, 5)
            await asyncio.sleep(0.02)
        # a claim per job, and no claim when a job's slot frees with nothing left to claim
        # (there were three before: the job's, one straight after it, one on the freed slot)
        claims, empty = backend.claims - before, backend.empty_claims - empty_before
        assert claims <= 20 + 6, (claims, empty)
    finally:
        await worker.stop()


async def test_with_polling_a_freed_slot_still_looks_for_new_work() -> None:
    backend = CountedClaims(notifies=False)
    worker = engine(backend, queues=[QueueConfig("default", concurrency=1)], poll_interval=30.0)
    await worker.start()
    try:
        await asyncio.sleep(0.1)
        busy = await worker.build(jobs.Tracked).enqueue(0.3)
        await started_within(busy.id, 5)
        backend.foreign = True  # written by another process: nobody is woken
        waiting = await worker.build(jobs.Tracked).enqueue()
        await started_within(waiting.id, 5)  # when the slot frees, not at the 30 s poll
    finally:
        backend.foreign = False
        await worker.stop()
