"""Claims ready jobs within the queue and process limits and starts their executions."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from typing import TYPE_CHECKING

from ._abort import AbortSignal
from ._executor import Execution, Executor
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
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._loop = asyncio.get_running_loop()
        self._queues: list[QueueRecord] = []
        self._queues_read_at = float("-inf")
        self._notified = False

    # wake-ups ----------------------------------------------------------------------------
    def wake(self) -> None:
        """Ask for a dispatch pass soon (safe from any thread): new work may be ready."""
        self._notified = True
        try:
            self._loop.call_soon_threadsafe(self._wakeup.set)
        except RuntimeError:
            pass

    def stop_claiming(self) -> None:
        self._stopping = True
        self._wakeup.set()

    # loop ----------------------------------------------------------------------------------
    async def run(self) -> None:
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
            if claimed and self.free_slots() > 0:
                continue
            delay = self._next_wait() if not failures else min(5.0, engine.poll_interval * 2**failures)
            try:
                await asyncio.wait_for(self._wakeup.wait(), delay)
            except TimeoutError:
                pass

    def free_slots(self) -> int:
        return self._engine.max_concurrent_jobs - self._busy

    async def dispatch_once(self) -> int:
        """One pass over the active queues by priority; returns how many jobs were claimed."""
        engine = self._engine
        free = self.free_slots()
        if free <= 0 or self._stopping:
            return 0
        total = 0
        for queue in await self._active_queues():
            if queue.state != QueueState.ACTIVE:
                continue
            if engine.only_queues is not None and queue.name not in engine.only_queues:
                continue
            limit = engine.queue_limits.get(queue.name, queue.concurrency)
            want = min(limit - self._per_queue[queue.name], free)
            if want <= 0:
                continue
            jobs = await engine.claim(queue.name, want)
            for record in jobs:
                self._spawn(record)
            engine.stats.claimed += len(jobs)
            total += len(jobs)
            free -= len(jobs)
            if free <= 0 or self._stopping:
                break
        return total

    async def _active_queues(self) -> list[QueueRecord]:
        """Queue settings, re-read at most every ``QUEUE_REFRESH`` seconds (or when invalidated)."""
        age = self._loop.time() - self._queues_read_at
        if age >= QUEUE_REFRESH or (self._notified and age >= NOTIFIED_REFRESH):
            self._notified = False
            self._queues = await self._engine.backend.list_queues()
            self._queues_read_at = self._loop.time()
        return self._queues

    def _next_wait(self) -> float:
        """Seconds until the next pass: the poll interval, or sooner when a wake-up still
        waits for the queue settings to become old enough to re-read."""
        delay = self._engine.poll_interval
        if self._notified:
            fresh_for = NOTIFIED_REFRESH - (self._loop.time() - self._queues_read_at)
            delay = min(delay, max(fresh_for, 0.0))
        return delay

    def invalidate_queues(self) -> None:
        """Re-read queue settings on the next pass (a queue was changed in this process)."""
        self._queues_read_at = float("-inf")
        self.wake()

    def _spawn(self, record: JobRecord) -> None:
        execution = Execution(record, AbortSignal(), None, self._free_slot, self._release)
        self.executions[record.id] = execution
        self._busy += 1
        self._per_queue[record.queue] += 1
        execution.task = asyncio.create_task(self._guarded(execution), name=f"sidequest-job-{record.id}")

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
        self._busy -= 1
        self._per_queue[execution.record.queue] -= 1
        self._wakeup.set()
