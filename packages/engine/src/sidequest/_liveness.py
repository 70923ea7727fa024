"""Background routines: lease renewal and cancel detection, expired-lease release, cleanup."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta
from typing import TYPE_CHECKING

from ._errors import JobCanceled, LeaseExpired
from ._records import JobState

if TYPE_CHECKING:
    from ._dispatcher import Dispatcher
    from ._engine import Sidequest

log = logging.getLogger("sidequest")
CANCEL_CHECK_INTERVAL = 1.0


async def keep_leases(engine: Sidequest, dispatcher: Dispatcher) -> None:
    """Renew the leases of held jobs and abort jobs canceled or lost elsewhere.

    Checks every second; writes a renewal every ``heartbeat_interval``. When renewals
    keep failing until the lease is about to expire, the jobs are aborted (self-fencing).
    """
    last_renewal = time.monotonic()
    # A renewal that hangs (half-open connection) must fail in time for the jobs to be
    # aborted before their lease expires and another worker takes them over.
    call_timeout = max(0.5, min(engine.heartbeat_interval, engine.lease / 4))
    margin = call_timeout + CANCEL_CHECK_INTERVAL
    while True:
        await asyncio.sleep(min(CANCEL_CHECK_INTERVAL, engine.heartbeat_interval))
        held = {job_id: ex.record.lease_token for job_id, ex in dispatcher.executions.items()}
        leases = {job_id: token for job_id, token in held.items() if token}
        if not leases:
            last_renewal = time.monotonic()
            continue
        attempt = time.monotonic()
        due = attempt - last_renewal >= engine.heartbeat_interval
        try:
            kept = await asyncio.wait_for(
                engine.backend.heartbeat(engine.worker_id, leases, engine.lease if due else None),
                call_timeout,
            )
        except Exception as exc:
            log.warning("heartbeat failed: %s", exc or type(exc).__name__)
            if time.monotonic() - last_renewal >= engine.lease - margin:
                for execution in list(dispatcher.executions.values()):
                    execution.abort(LeaseExpired("lease could not be renewed before it expired"))
            continue
        if due:
            last_renewal = attempt
        for job_id in set(leases) - kept:
            current = dispatcher.executions.get(job_id)
            if current is None or current.record.lease_token != leases[job_id]:
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
