"""T12 clock skew: workers whose application clock is 10 minutes ahead or behind.

Every time decision (a delayed job becoming available, a lease expiring) is made with the
database clock, so skewed workers must start no job before its ``available_at`` (by the
database clock) and release no lease early. The workers' ``time.time`` and sidequest's
``utcnow`` are patched (``soak_worker.py``); the ledger uses the unpatched real-time clock,
which is the database's clock here (same host).
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sidequest import JobState
from sidequest.backend import WORKER_LOST
from soak_jobs import Sleep
from soak_support import (
    SoakWorker,
    read_logs,
    report,
    soak_database,
    starts_by_job,
    stop_all,
    verify,
    wait_terminal,
)

pytestmark = [pytest.mark.soak, pytest.mark.slow]

SKEWS = (600.0, -600.0)
LEASE: dict[str, Any] = {"lease": 4, "heartbeat_interval": 1, "release_expired_interval": 1}
TOLERANCE = 0.005
"""Timestamps are kept to the millisecond."""


@pytest.mark.timeout(300)
@pytest.mark.parametrize("kind", ["postgres", "sqlite"])
async def test_t12_skewed_workers_follow_the_database_clock(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path, ledger: Path
) -> None:
    base = request.getfixturevalue("pg_base") if kind == "postgres" else None
    seed = int(os.environ.get("SIDEQUEST_SOAK_SEED", time.time_ns() % 2**32))
    rng = random.Random(seed)
    async with soak_database(kind, tmp_path, base) as (db, client):
        workers = [
            await SoakWorker(db.url, 10, ledger, name=f"skew{int(skew):+d}", skew=skew, **LEASE).start()
            for skew in SKEWS
        ]
        sleep = client.build(Sleep).max_attempts(3)
        # jobs that must wait: by delay (computed in the database) and by an explicit moment
        delayed = [(await sleep.delay(rng.uniform(0.5, 20)).enqueue(0.05)).id for _ in range(80)]
        moment = await client.backend.now()
        for _ in range(40):
            when = moment + timedelta(seconds=rng.uniform(0.5, 20))
            delayed.append((await sleep.available_at(when).enqueue(0.05)).id)
        # jobs that outlive their lease several times: only heartbeats keep them
        long = [r.id for r in await sleep.enqueue_many([(4.0 * LEASE["lease"],)] * 6)]
        await wait_terminal(client, delayed + long, 90)
        stats = await stop_all(workers)
        verdict = await verify(client, db, delayed + long, ledger)

        starts = starts_by_job(verdict.events)
        early = {
            job_id: round(starts[job_id][0].at - verdict.stored[job_id].available_at.timestamp(), 3)
            for job_id in delayed
        }
        ran_by = {run.pid for job_id in delayed for run in starts[job_id]}
        lost = [j for j in delayed + long if any(e.type == WORKER_LOST for e in verdict.stored[j].errors)]
        db_started_early = [
            j
            for j in delayed
            if (attempted := verdict.stored[j].attempted_at) is not None
            and attempted < verdict.stored[j].available_at
        ]
        skew_lines = [
            line.message for line in read_logs(ledger) if "application clock skewed" in line.message
        ]
        figures = {
            "skews_s": SKEWS,
            "delayed_jobs": len(delayed),
            "earliest_start_vs_available_s": min(early.values()),
            "latest_start_vs_available_s": max(early.values()),
            "long_jobs": len(long),
            "long_job_executions": [verdict.executions[j] for j in long],
            "worker_lost_errors": len(lost),
            "rescued": [s.get("stats", {}).get("rescued") for s in stats],
            "workers_that_ran_delayed_jobs": len(ran_by),
        }
        report(f"T12 clock skew ±10 min ({kind})", figures)
        assert len(skew_lines) == len(SKEWS) and all("bindings" in line for line in skew_lines)
        assert [s["returncode"] for s in stats] == [0, 0]
        assert {w.pid for w in workers} <= ran_by, "both skewed workers must have run delayed jobs"
        too_early = {j: d for j, d in early.items() if d < -TOLERANCE}
        assert not too_early, f"jobs started before their available_at (database clock): {too_early}"
        assert not db_started_early, f"attempted_at < available_at: {db_started_early}"
        assert not lost, f"premature lease releases (worker_lost): {lost}"
        assert [verdict.executions[j] for j in long] == [1] * len(long)
        assert all(verdict.stored[j].state == JobState.COMPLETED for j in delayed + long)
        assert [s["stats"]["rescued"] for s in stats] == [0, 0]


@pytest.mark.timeout(120)
async def test_t12_clock_skew_is_reported(tmp_path: Path, ledger: Path) -> None:
    """The plan (§4.2 T12, §5.5) asks for a warning when |application − database clock| > 60 s."""
    async with soak_database("sqlite", tmp_path, None) as (db, _client):
        worker = await SoakWorker(db.url, 1, ledger, name="skewed", skew=600.0).start()
        await asyncio.sleep(5)
        await stop_all([worker])
        warnings = [
            line.message
            for line in read_logs(ledger)
            if line.logger.startswith("sidequest") and line.level in ("WARNING", "ERROR")
        ]
        assert any("skew" in m.lower() or "clock" in m.lower() for m in warnings), (
            f"no clock-skew warning from a worker 600 s ahead of the database; its warnings: {warnings}"
        )
