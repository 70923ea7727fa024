"""Claims ready jobs within the queue and process limits and starts their executions."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from time import monotonic
from typing import TYPE_CHECKING

from ._abort import AbortSignal
from ._executor import Execution, Executor
from ._prefetch import PrefetchBuffer
from ._records import JobRecord, QueueRecord, QueueState

if TYPE_CHECKING:
    from ._engine import Sidequest

log = logging.getLogger("sidequest")
QUEUE_REFRESH = 1.0
"""Seconds a process trusts its copy of the queue settings (pause/resume elsewhere shows within it)."""
NOTIFIED_REFRESH = 0.25
"""After a wake-up (new work, maybe in a new queue), settings older than this are re-read."""


class Dispatcher:
    """The claim loop: wakes on a notification, a freed slot or ``poll_interval``."""

    def __init__(self, engine: Sidequest) -> None:
        self._engine = engine
        self._executor = Executor(engine)
        self.executions: dict[int, Execution] = {}
        """Jobs held by this process, until their outcome is written."""
        self._busy = 0
        """Jobs whose ``run()`` is not over: what concurrency limits count."""
        self._per_queue: Counter[str] = Counter()
        self._limits: dict[str, int] = {}
        """Per claimable queue: how many of its jobs may run at once in this process."""
        self._in_process = bool(getattr(engine.backend, "in_process", False))
        """The database runs in this process (SQLite): its work and the jobs share the GIL."""
        self._prefetched = PrefetchBuffer(engine.prefetch, in_process=self._in_process)
        self._wakeup = Wakeup()
        self._stopping = False
        self._loop = asyncio.get_running_loop()
        self._queues: list[QueueRecord] = []
        self._queues_read_at = float("-inf")
        """When ``_queues`` was read (``-inf``: never, or changed by this process since)."""
        self._changes = 0
        """Changes of the settings made in this process: a read begun before one is stale."""
        self._notified = False
        self._refreshing: asyncio.Task[None] | None = None
        """The re-read of the queue settings in flight, if any."""
        self._notifies = bool(engine.backend.notifies)
        self.claims_paused = False
        """Set while lease renewals are overdue (``LeaseKeeper``): no claim until one succeeds."""
        self._drained = False
        """The last pass found no more ready work (every claim came back short) and nothing
        woke us since: a freed slot needs no claim (only with a backend whose writes wake
        every process; with polling, a freed slot is a chance to find new work)."""

    # wake-ups ----------------------------------------------------------------------------
    def wake(self) -> None:
        """Ask for a dispatch pass soon (safe from any thread): new work may be ready."""
        self._notified = True
        self._drained = False
        try:
            self._loop.call_soon_threadsafe(self._wakeup.set)
        except RuntimeError:
            pass

    def stop_claiming(self) -> None:
        self._stopping = True
        self._give_back(lambda _: False)
        self._wakeup.set()

    # loop ----------------------------------------------------------------------------------
    async def run(self) -> None:
        try:
            await self._loop_until_stopped()
        finally:
            if self._refreshing is not None:
                self._refreshing.cancel()

    async def _loop_until_stopped(self) -> None:
        engine = self._engine
        failures = 0
        while not self._stopping:
            self._wakeup.clear()
            try:
                claimed = await self.dispatch_once()
                failures = 0
            except Exception:
                failures += 1
                log.exception("dispatch failed (attempt %s); retrying", failures)
                claimed = 0
            if claimed and self.free_slots() > 0 and not self._drained:
                continue
            delay = self._next_wait() if not failures else min(5.0, engine.poll_interval * 2**failures)
            await self._wakeup.wait(delay)

    def free_slots(self) -> int:
        return self._engine.max_concurrent_jobs - self._busy

    async def dispatch_once(self) -> int:
        """One pass over the active queues by priority; returns how many jobs were claimed.

        Each queue gets what its free slots can start now, plus what the prefetch buffer
        may hold for it (see ``_prefetch``).
        """
        engine = self._engine
        if self._stopping:
            return 0
        batcher = engine.completion_batcher
        if self._in_process and batcher is not None:
            # one writer: a claim queued behind completions being written gains nothing, and
            # one running beside the jobs waits for the GIL to build its rows
            await batcher.drain()
        claimable: dict[str, int] = {}
        queues = await self._active_queues()
        changes = self._changes
        for queue in queues:
            if queue.state != QueueState.ACTIVE:
                continue
            if engine.only_queues is not None and queue.name not in engine.only_queues:
                continue
            claimable[queue.name] = engine.queue_limits.get(queue.name, queue.concurrency)
        self._limits = claimable
        self._give_back(claimable.__contains__)
        self._start_prefetched()
        if self.claims_paused:
            self._drained = False
            return 0
        total = 0
        drained = self._notifies
        for name, limit in claimable.items():
            if self._changes != changes:  # changed here during the pass: the next one re-reads
                drained = False
                break
            free = self.free_slots()
            start_now = max(0, min(limit - self._per_queue[name], free))
            ahead = self._prefetched.room(name, limit, engine.max_concurrent_jobs)
            if not start_now and ahead < max(1, limit // 2):
                drained = False  # not asked: it may have work
                continue  # every slot is busy and the buffer is more than half full
            want = start_now + ahead
            asked = monotonic()
            jobs = await engine.claim(name, want)
            for record in jobs:
                self._take(record, asked)
            engine.stats.claimed += len(jobs)
            total += len(jobs)
            drained = drained and len(jobs) < want  # SKIP LOCKED: short means no more unlocked
            if self._stopping:
                self._give_back(lambda _: False)
                break
        self._drained = drained
        return total

    async def _active_queues(self) -> list[QueueRecord]:
        """Queue settings: read now when this process has none or changed them itself;
        otherwise re-read in the background once older than ``QUEUE_REFRESH`` seconds
        (``NOTIFIED_REFRESH`` after a wake-up). A pass never waits for that re-read (it
        cost a round trip to every twelfth pickup): it claims by the settings it has, and
        the new ones wake the loop when they arrive."""
        age = self._loop.time() - self._queues_read_at
        if age == float("inf"):
            while not await self._read_queues(self._changes):
                pass  # overtaken by a change made here meanwhile: read again
        elif self._refreshing is None and (
            age >= QUEUE_REFRESH or (self._notified and age >= NOTIFIED_REFRESH)
        ):
            self._notified = False
            self._refreshing = asyncio.create_task(
                self._refresh_queues(self._changes), name="sidequest-queue-settings"
            )
        return self._queues

    async def _read_queues(self, changes: int) -> bool:
        """Read the queue settings; return whether the read counts. One that a change made
        in this process overtook (``invalidate_queues`` after ``changes``, the count when
        the read was decided) may hold the settings from before the change: it is dropped
        and the next pass reads again."""
        self._notified = False
        queues = await self._engine.backend.list_queues()
        if changes != self._changes:
            return False
        self._queues, self._queues_read_at = queues, self._loop.time()
        return True

    async def _refresh_queues(self, changes: int) -> None:
        previous = self._queues
        try:
            await self._read_queues(changes)
        except Exception:
            log.warning("could not re-read the queue settings; keeping the previous ones", exc_info=True)
            if changes == self._changes:
                self._queues_read_at = self._loop.time()  # tried again in QUEUE_REFRESH seconds
        finally:
            self._refreshing = None
        if self._queues != previous:  # a pass by the new settings (a queue resumed, added, …)
            self._drained = False
            self._wakeup.set()
        elif self._notified:  # woken again while it was in flight: the next re-read is due
            self._wakeup.set()

    def _next_wait(self) -> float:
        """Seconds until the next pass: the poll interval, or sooner when a wake-up still
        waits for the queue settings to become old enough to re-read, or a prefetched job
        is due to be given back."""
        delay = self._engine.poll_interval
        now = self._loop.time()
        if self._notified and self._refreshing is None:  # one in flight wakes us when it ends
            fresh_for = NOTIFIED_REFRESH - (now - self._queues_read_at)
            delay = min(delay, max(fresh_for, 0.0))
        expiry = self._prefetched.next_expiry()  # on the monotonic clock, as prefetch times are
        if expiry is not None:
            delay = min(delay, max(expiry - monotonic(), 0.0))
        return delay

    def invalidate_queues(self) -> None:
        """Re-read queue settings on the next pass (a queue was changed in this process).

        Until that pass, nothing starts by the old settings: a pass under way stops
        before its next claim, and jobs claimed meanwhile wait in the prefetch buffer
        (a paused queue's are then given back unrun)."""
        self._changes += 1
        self._queues_read_at = float("-inf")
        self._limits = {}
        self.wake()

    def _take(self, record: JobRecord, asked: float) -> None:
        """Hold a claimed job (claim sent at ``asked``): start it if its queue has a free slot,
        else prefetch it."""
        execution = Execution(record, AbortSignal(), None, self._free_slot, self._release, leased_at=asked)
        self.executions[record.id] = execution
        if self._can_start(record.queue):
            self._spawn(execution)
        else:
            self._prefetched.add(execution, monotonic())

    def _can_start(self, queue: str) -> bool:
        return self._busy < self._engine.max_concurrent_jobs and self._per_queue[queue] < self._limits.get(
            queue, 0
        )

    def _start_prefetched(self) -> None:
        """Start prefetched jobs while their queues have free slots."""
        while self._prefetched.waiting and self._busy < self._engine.max_concurrent_jobs:
            execution = self._prefetched.take(self._can_start)
            if execution is None:
                return
            self._spawn(execution)

    def _give_back(self, keep: Callable[[str], bool]) -> None:
        """Give back the prefetched jobs held too long or whose queue ``keep`` rejects: each is
        started with its abort already set, which writes it back to waiting unrun."""
        for execution in self._prefetched.give_back(monotonic(), keep):
            self._spawn(execution)

    def _spawn(self, execution: Execution) -> None:
        record = execution.record
        execution.spawned_at = monotonic()
        self._busy += 1
        self._per_queue[record.queue] += 1
        execution.task = self._loop.create_task(self._guarded(execution), name=f"sidequest-job-{record.id}")

    async def _guarded(self, execution: Execution) -> None:
        writing = False
        try:
            writing = await self._executor.execute(execution)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("job #%s: unexpected engine error", execution.record.id)
        finally:
            execution.ran()
            if not writing:  # else still held (its lease renewed) until the batch is written
                execution.settled()

    def _release(self, execution: Execution) -> None:
        """The job's outcome is settled: this process no longer holds it."""
        if self.executions.get(execution.record.id) is execution:
            del self.executions[execution.record.id]

    def _free_slot(self, execution: Execution) -> None:
        queue = execution.record.queue
        self._busy -= 1
        self._per_queue[queue] -= 1
        if not execution.signal.aborted:
            self._prefetched.ran(queue, monotonic() - execution.spawned_at)
        if self._prefetched.waiting and not self._stopping:
            self._start_prefetched()
        if not self._drained:
            self._wakeup.set()


class Wakeup:
    """Like ``asyncio.Event`` with a timeout, but the waiter resumes one event-loop step
    after ``set()`` (``wait_for(event.wait(), …)`` takes three, by which time every job
    task already queued has run: a freed slot must reach the claim loop first)."""

    def __init__(self) -> None:
        self._set = False
        self._waiter: asyncio.Future[None] | None = None

    def set(self) -> None:
        self._set = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def clear(self) -> None:
        self._set = False

    async def wait(self, timeout: float) -> None:
        """Return once set (at once if it is), or after ``timeout`` seconds."""
        if self._set:
            return
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        timer = loop.call_later(timeout, _resolve, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
