"""Background routines: lease renewal and cancel detection, expired-lease release, cleanup."""

from __future__ import annotations

import asyncio
import logging
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


async def keep_leases(engine: Sidequest, dispatcher: Dispatcher) -> None:
    """Renew the leases of held jobs and abort jobs canceled or lost elsewhere.

    Checks every second; writes a renewal every ``heartbeat_interval``. Self-fencing: when
    no renewal has succeeded by one second before the lease would expire — the calls fail,
    or hang on a half-open connection — the jobs are aborted, so no other worker ever runs
    a job while this one still does. A hung call is waited for, never cancelled (cancelling
    a query on a dead socket can block), and no second call starts meanwhile.
    """
    last_renewal = time.monotonic()
    pending: asyncio.Task[set[int]] | None = None
    sent_at, sent_due = 0.0, False
    sent: dict[int, str] = {}
    while True:
        await asyncio.sleep(min(CANCEL_CHECK_INTERVAL, engine.heartbeat_interval))
        held = {job_id: ex.record.lease_token for job_id, ex in dispatcher.executions.items()}
        leases = {job_id: token for job_id, token in held.items() if token}
        if not leases and pending is None:
            last_renewal = time.monotonic()
            continue
        if pending is None:
            sent_at, sent = time.monotonic(), leases
            sent_due = sent_at - last_renewal >= engine.heartbeat_interval
            pending = asyncio.ensure_future(
                engine.backend.heartbeat(engine.worker_id, sent, engine.lease if sent_due else None)
            )
        deadline = last_renewal + engine.lease - 1.0
        wait = max(0.0, min(engine.heartbeat_interval, deadline - time.monotonic()))
        done, _ = await asyncio.wait({pending}, timeout=wait)
        if not done:
            if time.monotonic() >= deadline:
                _fence(dispatcher, "lease renewal hung until the lease was about to expire")
            continue
        call, pending = pending, None
        try:
            kept = call.result()
        except Exception as exc:
            log.warning("heartbeat failed: %s", exc or type(exc).__name__)
            if time.monotonic() >= deadline:
                _fence(dispatcher, "lease could not be renewed before it expired")
            continue
        if sent_due:
            last_renewal = sent_at
        await _abort_lost(engine, dispatcher, sent, kept)


def _fence(dispatcher: Dispatcher, reason: str) -> None:
    for execution in list(dispatcher.executions.values()):
        execution.abort(LeaseExpired(reason))


async def _abort_lost(
    engine: Sidequest, dispatcher: Dispatcher, sent: dict[int, str], kept: set[int]
) -> None:
    """Abort the jobs whose lease this worker no longer holds (canceled, or taken back)."""
    for job_id in set(sent) - kept:
        current = dispatcher.executions.get(job_id)
        if current is None or current.record.lease_token != sent[job_id]:
            continue  # finished or restarted meanwhile
        stored = await engine.backend.get_job(job_id)
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
