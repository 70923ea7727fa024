"""Background routines: lease renewal and cancel detection, expired-lease release, cleanup."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from datetime import timedelta
from typing import TYPE_CHECKING

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
    whose lease no renewal has extended is aborted ``FENCE_MARGIN`` before that lease would
    expire (the calls fail, or hang on a half-open connection), so no other worker ever
    runs a job while this one still does. A job's lease runs from its claim or from the
    last renewal, whichever is later: a job claimed after renewals stopped keeps its own
    time. While renewals are overdue the worker claims nothing. A hung call is waited for,
    never cancelled (cancelling a query on a dead socket can block), and no second call
    starts meanwhile. A step that fails is logged and the next one runs: renewal never
    stops while the worker runs.
    """

    def __init__(self, engine: Sidequest, dispatcher: Dispatcher) -> None:
        self._engine = engine
        self._dispatcher = dispatcher
        self._trusted = engine.lease - min(FENCE_MARGIN, engine.lease / 4)
        """Seconds after a lease starts during which this worker relies on it."""
        self.renewed_at = time.monotonic()
        """When the last renewal that succeeded was sent: every lease it covered runs at
        least ``lease`` seconds from then."""
        self._pending: asyncio.Task[set[int]] | None = None
        self._sent_at, self._sent_renews = 0.0, False
        self._sent: dict[int, str] = {}

    async def run(self) -> None:
        engine = self._engine
        while True:
            delay = min(CANCEL_CHECK_INTERVAL, engine.heartbeat_interval)
            if self._pending is not None:  # a call hangs: wake in time for the next job to fence
                delay = min(delay, max(0.0, self._first_fence() - time.monotonic()))
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
            if not leases:
                self.renewed_at = time.monotonic()
                self._set_overdue(False)
                return
            self._sent_at, self._sent = time.monotonic(), leases
            self._sent_renews = self._sent_at - self.renewed_at >= engine.heartbeat_interval
            renewal = engine.lease if self._sent_renews else None
            self._pending = asyncio.ensure_future(engine.backend.heartbeat(engine.worker_id, leases, renewal))
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
            self.renewed_at = self._sent_at
            self._set_overdue(False)
        await self._abort_lost(kept)

    def _first_fence(self) -> float:
        """When the next held job is due to be fenced if no renewal succeeds before (inf: none
        is; jobs already aborted are on their way out)."""
        executions = self._dispatcher.executions.values()
        claimed = min((ex.leased_at for ex in executions if not ex.signal.aborted), default=math.inf)
        return max(self.renewed_at, claimed) + self._trusted

    def _fence(self, reason: str) -> None:
        """Abort the held jobs whose lease this worker can no longer rely on."""
        now = time.monotonic()
        if now < self.renewed_at + self._trusted:
            return
        self._set_overdue(True)
        for execution in list(self._dispatcher.executions.values()):
            if max(self.renewed_at, execution.leased_at) + self._trusted <= now:
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
        """Abort the jobs whose lease this worker no longer holds (canceled, or taken back)."""
        for job_id in set(self._sent) - kept:
            current = self._dispatcher.executions.get(job_id)
            if current is None or current.record.lease_token != self._sent[job_id]:
                continue  # finished or restarted meanwhile
            try:
                stored = await self._engine.backend.get_job(job_id)
            except Exception as exc:  # lost either way: only the reason logged differs
                log.warning("job #%s: lease lost; its state could not be read (%s)", job_id, exc)
                stored = None
            if stored is not None and stored.state == JobState.CANCELED:
                current.abort(JobCanceled())
            else:
                current.abort(LeaseExpired(f"job #{job_id}: lease lost"))


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
