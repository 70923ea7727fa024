"""Background routines: lease renewal and cancel detection, expired-lease release, cleanup."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from ._durations import utcnow
from ._errors import JobCanceled, LeaseExpired
from ._records import JobState

if TYPE_CHECKING:
    from ._dispatcher import Dispatcher
    from ._engine import Sidequest

log = logging.getLogger("sidequest")
CANCEL_CHECK_INTERVAL = 1.0


FENCE_MARGIN = 1.0
"""Seconds before a job's lease would expire at which, with no renewal since, the job is
aborted (a quarter of the lease when that is shorter)."""


class LeaseKeeper:
    """Renews the leases of held jobs and aborts jobs canceled or lost elsewhere.

    Checks every second; writes a renewal every ``heartbeat_interval``. Self-fencing: a job
    is aborted ``FENCE_MARGIN`` before its lease would expire unless a renewal that covered
    it succeeded (the calls fail, or hang on a half-open connection), so no other worker
    ever runs a job while this one still does. Each job's lease runs from the claim that
    took it (``Execution.leased_at``, when the claim was sent) and is moved on only by a
    renewal that included it and succeeded. Once a job had to be fenced, the worker claims
    nothing until a renewal succeeds or, holding no job, until the database answers again.
    A hung call is waited for, never cancelled (cancelling a query on a dead socket can
    block), and no second call starts meanwhile. A step that fails is logged and the next
    one runs: renewal never stops while the worker runs.
    """

    def __init__(self, engine: Sidequest, dispatcher: Dispatcher) -> None:
        self._engine = engine
        self._dispatcher = dispatcher
        self._trusted = engine.lease - min(FENCE_MARGIN, engine.lease / 4)
        """Seconds after a lease starts during which this worker relies on it."""
        self._renewed_at = time.monotonic()
        """When the last renewal was sent (for when the next one is due; it fences nothing)."""
        self._pending: asyncio.Task[set[int]] | None = None
        self._sent_at, self._sent_renews = 0.0, False
        self._sent: dict[int, str] = {}

    async def run(self) -> None:
        engine = self._engine
        while True:
            delay = min(CANCEL_CHECK_INTERVAL, engine.heartbeat_interval)
            delay = min(delay, max(0.0, self._first_fence() - time.monotonic()))  # in time to fence
            await asyncio.sleep(delay)
            try:
                await self.step()
            except Exception:
                log.exception("lease keeping failed; trying again")

    async def step(self) -> None:
        """Send a heartbeat (or wait for the one in flight), then fence or abort as it says."""
        engine = self._engine
        if self._pending is None:
            held = self._dispatcher.executions
            leases = {job_id: ex.record.lease_token for job_id, ex in held.items() if ex.record.lease_token}
            now = time.monotonic()
            if not leases and not self._dispatcher.claims_paused:
                self._renewed_at = now  # nothing to renew
                return
            self._sent_at, self._sent = now, leases
            self._sent_renews = not leases or now - self._renewed_at >= engine.heartbeat_interval
            self._pending = asyncio.ensure_future(self._call(leases, self._sent_renews))
        wait = max(0.0, min(engine.heartbeat_interval, self._first_fence() - time.monotonic()))
        done, _ = await asyncio.wait({self._pending}, timeout=wait)
        if not done:
            self._fence("lease renewal hung until the lease was about to expire")
            return
        call, self._pending = self._pending, None
        try:
            kept = call.result()
        except Exception as exc:
            log.warning("heartbeat failed: %s", exc or type(exc).__name__)
            self._fence("lease could not be renewed before it expired")
            return
        if self._sent_renews:
            self._renewed_at = self._sent_at
            self._extend(kept)
            self._set_overdue(False)
        await self._abort_lost(kept)

    async def _call(self, leases: dict[int, str], renew: bool) -> set[int]:
        """The heartbeat; with no lease to renew (claims paused, nothing held), a probe that
        the database answers again."""
        engine = self._engine
        if not leases:
            await engine.backend.now()
            return set()
        return await engine.backend.heartbeat(engine.worker_id, leases, engine.lease if renew else None)

    def _extend(self, kept: set[int]) -> None:
        """The leases a renewal sent at ``_sent_at`` covered now run from then."""
        executions = self._dispatcher.executions
        for job_id in kept:
            execution = executions.get(job_id)
            if execution is not None and execution.record.lease_token == self._sent.get(job_id):
                execution.leased_at = max(execution.leased_at, self._sent_at)

    def _first_fence(self) -> float:
        """When the next held job is due to be fenced if no renewal succeeds before (inf: none
        is; jobs already aborted are on their way out)."""
        executions = self._dispatcher.executions.values()
        leased = min((ex.leased_at for ex in executions if not ex.signal.aborted), default=math.inf)
        return leased + self._trusted

    def _fence(self, reason: str) -> None:
        """Abort the held jobs whose lease this worker can no longer rely on."""
        now = time.monotonic()
        for execution in list(self._dispatcher.executions.values()):
            if not execution.signal.aborted and execution.leased_at + self._trusted <= now:
                self._set_overdue(True)
                execution.abort(LeaseExpired(reason))

    def _set_overdue(self, overdue: bool) -> None:
        dispatcher = self._dispatcher
        if dispatcher.claims_paused == overdue:
            return
        dispatcher.claims_paused = overdue
        if overdue:
            log.warning("lease renewals are overdue: this worker claims no job until one succeeds")
        else:
            log.info("lease renewals succeed again: claiming resumes")
            dispatcher.wake()

    async def _abort_lost(self, kept: set[int]) -> None:
        """Abort the jobs whose lease this worker no longer holds (canceled, or taken back).

        Whether a job was canceled is looked up for at most ``CANCEL_CHECK_INTERVAL`` (or
        until the next fence is due): a lookup that hangs is left to finish on its own, and
        the job is aborted as lost all the same."""
        executions = self._dispatcher.executions
        lost = [
            (job_id, execution)
            for job_id in set(self._sent) - kept
            if (execution := executions.get(job_id)) is not None
            and execution.record.lease_token == self._sent[job_id]  # else finished or restarted meanwhile
        ]
        if not lost:
            return
        backend = self._engine.backend
        lookups = {job_id: asyncio.ensure_future(backend.get_job(job_id)) for job_id, _ in lost}
        limit = max(0.0, min(CANCEL_CHECK_INTERVAL, self._first_fence() - time.monotonic()))
        await asyncio.wait(lookups.values(), timeout=limit)
        for job_id, execution in lost:
            lookup = lookups[job_id]
            canceled = False
            if not lookup.done():
                lookup.add_done_callback(_forget)
                log.warning("job #%s: lease lost; its state could not be read in time", job_id)
            elif (error := lookup.exception()) is not None:
                log.warning("job #%s: lease lost; its state could not be read (%s)", job_id, error)
            else:
                stored = lookup.result()
                canceled = stored is not None and stored.state == JobState.CANCELED
            execution.abort(JobCanceled() if canceled else LeaseExpired(f"job #{job_id}: lease lost"))


def _forget(task: asyncio.Future[Any]) -> None:
    """Retrieve the outcome of a call nobody waits for any more (no "never retrieved" warning)."""
    if not task.cancelled():
        task.exception()


async def every(interval: float, routine_name: str, step: object) -> None:
    """Run ``await step()`` now and then every ``interval`` seconds, logging failures."""
    while True:
        try:
            await step()  # type: ignore[operator]
        except Exception:
            log.exception("%s failed; will retry in %.0f s", routine_name, interval)
        await asyncio.sleep(interval)


async def release_expired(engine: Sidequest) -> None:
    await check_clock_skew(engine)
    released = await engine.backend.release_expired()
    if released:
        engine.stats.rescued += len(released)
        log.warning(
            "released %d job(s) whose worker stopped renewing its lease: %s",
            len(released),
            ", ".join(f"#{job.id}→{job.state}" for job in released[:20]),
        )


async def clean_finished(engine: Sidequest) -> None:
    assert engine.cleanup_older_than is not None
    cutoff = await engine.backend.now() - timedelta(seconds=engine.cleanup_older_than)
    deleted = await engine.backend.delete_finished(cutoff)
    engine.stats.cleaned += deleted
    if deleted:
        log.info("deleted %d finished job(s) older than %s", deleted, cutoff.isoformat())


CLOCK_SKEW_WARNING = 60.0
"""Seconds of difference between the application and database clocks worth a warning."""


async def check_clock_skew(engine: Sidequest) -> float:
    """Warn when this host's clock is far from the database's (decisions use the database's)."""
    skew = (utcnow() - await engine.backend.now()).total_seconds()
    warned = abs(engine.stats.clock_skew) > CLOCK_SKEW_WARNING
    engine.stats.clock_skew = skew
    if abs(skew) > CLOCK_SKEW_WARNING and not warned:
        log.warning(
            "clock skew: this host's clock is %.0f s %s the database clock; sidequest decides with the "
            "database clock, but error timestamps and uniqueness windows use this one (check NTP)",
            abs(skew),
            "ahead of" if skew > 0 else "behind",
        )
    return skew
