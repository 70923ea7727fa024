"""PostgreSQL faults: T4 server restarted three times mid-run, T5 ``pg_terminate_backend``
storm, T6 half-open connections (a proxy blackholes a worker's traffic for 45 s).

The faults hit a throwaway cluster of our own (``pg_createcluster``, port 5433 or the next
free one), never the shared server: T4 needs it and skips without it; T5 and T6 fall back
to a fresh schema on ``SIDEQUEST_TEST_POSTGRES_URL`` (T5 then terminates only the sessions
carrying this run's own ``application_name``).
"""

from __future__ import annotations

import asyncio
import math
import os
import re
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from backends import postgres_url_or_skip
from sidequest import JobState, Sidequest
from soak_jobs import BlockingSleep, Sleep, real_time
from soak_support import (
    SOAK_OPTIONS,
    BlackholeProxy,
    Cluster,
    Feeder,
    SoakWorker,
    cluster_unavailable,
    own_cluster,
    percentile,
    read_logs,
    report,
    soak_database,
    starts_by_job,
    stop_all,
    terminate_backends,
    verify,
    wait_terminal,
)

pytestmark = [pytest.mark.soak, pytest.mark.slow]
LEASE = SOAK_OPTIONS["lease"]
RELEASE = SOAK_OPTIONS["release_expired_interval"]


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster | None]:
    if cluster_unavailable() is not None:
        yield None
        return
    with own_cluster() as made:
        yield made


def seed_of() -> int:
    return int(os.environ.get("SIDEQUEST_SOAK_SEED", time.time_ns() % 2**32))


# T4 -----------------------------------------------------------------------------------------
@pytest.mark.timeout(600)
async def test_t4_postgres_restarted_three_times(
    cluster: Cluster | None, tmp_path: Path, ledger: Path
) -> None:
    if cluster is None:
        pytest.skip(f"T4 restarts a PostgreSQL cluster of its own: {cluster_unavailable()}")
    seed = seed_of()
    async with soak_database("postgres", tmp_path, cluster.url) as (db, client):
        feeder = Feeder(client, durations=(0.2, 1.0), seed=seed, rate=22)
        await feeder.insert(500)
        # a long poll interval: claiming right after a recovery proves that LISTEN came back
        workers = [
            await SoakWorker(db.url, 10, ledger, name=f"w{i}", poll_interval=5).start() for i in range(4)
        ]
        feeder.start()
        restarts: list[tuple[float, float]] = []
        try:
            for _ in range(3):
                await asyncio.sleep(20)
                began = real_time()
                restarts.append((began, await asyncio.to_thread(cluster.restart)))
            await asyncio.sleep(5)
        finally:
            await feeder.stop()
        fed_until = real_time()
        last_ready = restarts[-1][1]
        done_at = await wait_terminal(client, feeder.ids, 60)
        exited = [w.pid for w in workers if not w.alive]
        stats = await stop_all(workers)
        verdict = await verify(client, db, feeder.ids, ledger)

        starts = [e for e in verdict.events if e.kind == "start"]
        resume: list[float] = []
        for _, ready in restarts:
            per_worker = [
                min((e.at for e in starts if e.pid == w.pid and e.at >= ready), default=math.inf)
                for w in workers
            ]
            resume.append(max(per_worker) - ready)
        first_start = {job_id: runs[0].at for job_id, runs in starts_by_job(verdict.events).items()}
        windows = [
            (ready + 10, nxt[0])
            for (_, ready), nxt in zip(restarts, [*restarts[1:], (fed_until, 0)], strict=True)
        ]
        latencies = [
            first_start[job.id] - job.inserted_at.timestamp()
            for job in verdict.stored.values()
            if job.id in first_start and any(lo <= job.inserted_at.timestamp() < hi for lo, hi in windows)
        ]
        logs = read_logs(ledger)
        relistens = Counter(line.pid for line in logs if "LISTEN connection re-established" in line.message)
        figures = {
            "seed": seed,
            "jobs": len(feeder.ids),
            "executions": sum(verdict.executions.values()),
            "restart_downtime_s": [round(ready - began, 1) for began, ready in restarts],
            "claims_resumed_after_s": [round(r, 2) for r in resume],
            "listen_reconnects_per_worker": sorted(relistens.values()),
            "enqueue_to_start_after_recovery_p50_s": round(percentile(latencies, 0.5), 3),
            "enqueue_to_start_after_recovery_p95_s": round(percentile(latencies, 0.95), 3),
            "enqueue_retries": feeder.retries,
            "longest_enqueue_retry_s": round(feeder.longest_retry, 2),
            "enqueue_failures": feeder.failures,
            "enqueue_errors_retried": dict(feeder.error_types),
            "terminal_after_last_restart_s": round(done_at - last_ready, 1),
            "error_log_records": sum(1 for line in logs if line.level == "ERROR"),
        }
        report("T4 PostgreSQL restarted 3×", figures)
        assert not exited, f"worker processes exited: {exited}"
        assert [s["returncode"] for s in stats] == [0] * 4
        assert feeder.failures == 0, "an insert kept failing for more than 5 s"
        assert max(resume) <= 10, f"claiming resumed {max(resume):.1f} s after PostgreSQL was back"
        assert all(relistens[w.pid] >= 3 for w in workers), f"LISTEN not re-established 3×: {relistens}"
        assert percentile(latencies, 0.5) <= 1.0, "notify-woken jobs do not start within 1 s after recovery"
        assert done_at - last_ready <= 30, (
            f"jobs terminal {done_at - last_ready:.1f} s after the last restart"
        )


# T5 -----------------------------------------------------------------------------------------
@pytest.mark.timeout(600)
async def test_t5_terminate_backend_storm(cluster: Cluster | None, tmp_path: Path, ledger: Path) -> None:
    base = cluster.url if cluster is not None else postgres_url_or_skip()
    seed = seed_of()
    app = f"soak_t5_{uuid.uuid4().hex[:8]}"
    async with soak_database("postgres", tmp_path, base) as (db, client):
        worker_url = f"{db.url}&application_name={app}"
        workers = [await SoakWorker(worker_url, 10, ledger, name=f"w{i}").start() for i in range(4)]
        feeder = Feeder(client, durations=(0.05, 0.5), seed=seed, backlog=200).start()
        rounds: list[int] = []
        exited: list[int] = []
        storm_began = real_time()
        try:
            for _ in range(12):  # every 10 s for 2 min
                await asyncio.sleep(10)
                rounds.append(await terminate_backends(base, app))  # ours only
                exited += [w.pid for w in workers if not w.alive]
        finally:
            await feeder.stop()
        storm_ended = real_time()
        done_at = await wait_terminal(client, feeder.ids, 60)
        stats = await stop_all(workers)
        verdict = await verify(client, db, feeder.ids, ledger)
        logs = [line for line in read_logs(ledger) if storm_began <= line.at <= storm_ended + LEASE + RELEASE]
        errors = Counter(kind_of(line.message) for line in logs if line.level in ("ERROR", "CRITICAL"))
        warnings = Counter(kind_of(line.message) for line in logs if line.level == "WARNING")
        executions = sum(verdict.executions.values())
        figures = {
            "seed": seed,
            "rounds": len(rounds),
            "backends_terminated": sum(rounds),
            "per_round": rounds,
            "jobs": len(feeder.ids),
            "executions": executions,
            "re-executions": executions - len(feeder.ids),
            "stale_writes_rejected": sum(s.get("stats", {}).get("stale_writes_rejected", 0) for s in stats),
            "error_records": sum(errors.values()),
            "warning_records": sum(warnings.values()),
            "error_kinds": dict(errors.most_common(6)),
            "terminal_after_storm_s": round(done_at - storm_ended, 1),
        }
        report("T5 pg_terminate_backend storm", figures)
        assert not exited, f"worker processes exited: {exited}"
        assert [s["returncode"] for s in stats] == [0] * 4
        assert all(n > 0 for n in rounds), "a round terminated nothing: the storm did not hit"
        assert sum(errors.values()) <= sum(rounds), (
            f"{sum(errors.values())} error records for {sum(rounds)} dropped connections: "
            f"{errors.most_common(5)}"
        )


def kind_of(message: str) -> str:
    """A log message without its numbers: records of one kind count together."""
    return re.sub(r"\d+", "N", message)[:70]


# T6 -----------------------------------------------------------------------------------------
@pytest.mark.timeout(600)
async def test_t6_half_open_connections(cluster: Cluster | None, tmp_path: Path, ledger: Path) -> None:
    base = cluster.url if cluster is not None else postgres_url_or_skip()
    blackout = 45.0
    probe_interval = 10.0
    async with soak_database("postgres", tmp_path, base) as (db, client):
        host_port = base.split("@", 1)[1].split("/", 1)[0]
        proxy = await BlackholeProxy(int(host_port.rsplit(":", 1)[1])).start()
        proxied_url = db.url.replace(host_port, f"127.0.0.1:{proxy.port}")
        job_ids = [r.id for r in await client.build(Sleep).max_attempts(5).enqueue_many([(25.0,)] * 4)]
        job_ids += [
            r.id for r in await client.build(BlockingSleep).max_attempts(5).enqueue_many([(25.0,)] * 4)
        ]
        cut_off = await SoakWorker(
            proxied_url, 8, ledger, name="cut", backend_options={"probe_interval": probe_interval}
        ).start()
        await wait_running(client, len(job_ids))
        healthy = await SoakWorker(db.url, 8, ledger, name="healthy").start()
        await asyncio.sleep(3)
        monitor = LeaseMonitor(db.base or base, db.schema or "", job_ids)
        watching = asyncio.create_task(monitor.run())
        blackholed_at = real_time()
        proxy.blackhole()
        try:
            await asyncio.sleep(blackout)
        finally:
            proxy.heal()
        healed_at = real_time()
        await wait_terminal(client, job_ids, 60)
        await asyncio.sleep(8)  # the cut-off worker's late writes arrive and are rejected
        watching.cancel()
        alive = cut_off.alive and healthy.alive
        cut_stats, healthy_stats = await stop_all([cut_off, healthy])
        await proxy.close()
        verdict = await verify(client, db, job_ids, ledger)

        logs = read_logs(ledger)
        cut_logs = [line for line in logs if line.pid == cut_off.pid and line.at >= blackholed_at]
        detected = min(
            (
                line.at
                for line in cut_logs
                if "LISTEN self-probe" in line.message or "LISTEN connection" in line.message
            ),
            default=math.inf,
        )
        relistened = min(
            (line.at for line in cut_logs if "re-established" in line.message and line.at >= detected),
            default=math.inf,
        )
        cut_starts = {e.job_id: e for e in verdict.events if e.kind == "start" and e.pid == cut_off.pid}
        aborts = {e.job_id: e.at for e in verdict.events if e.kind == "abort" and e.pid == cut_off.pid}
        late_ends = [e for e in verdict.events if e.kind == "end" and e.pid == cut_off.pid]
        expiries = {
            job_id: monitor.last_expiry[(job_id, start.token)]
            for job_id, start in cut_starts.items()
            if (job_id, start.token) in monitor.last_expiry
        }
        margins = {job_id: expiries[job_id] - at for job_id, at in aborts.items() if job_id in expiries}
        async_jobs = job_ids[:4]
        reclaims = [
            runs[1].at - monitor.last_expiry.get((job_id, runs[0].token), math.inf)
            for job_id, runs in starts_by_job(verdict.events).items()
            if len(runs) > 1
        ]
        figures = {
            "blackout_s": blackout,
            "listener_detected_after_s": round(detected - blackholed_at, 1),
            "listener_back_after_heal_s": round(relistened - healed_at, 1),
            "self_fenced_jobs": f"{sum(1 for j in async_jobs if j in aborts)}/{len(async_jobs)}",
            "abort_margin_before_expiry_s": sorted(round(m, 2) for m in margins.values()),
            "late_ends_after_lease_loss": len(late_ends),
            "cut_off_stale_writes_rejected": cut_stats.get("stats", {}).get("stale_writes_rejected"),
            "cut_off_completed": cut_stats.get("stats", {}).get("completed"),
            "healthy_completed": healthy_stats.get("stats", {}).get("completed"),
            "reclaim_after_expiry_s": sorted(round(r, 1) for r in reclaims),
            "proxied_connections": proxy.connections,
        }
        report("T6 half-open connections", figures)
        assert alive and cut_stats["returncode"] == 0 and healthy_stats["returncode"] == 0
        assert all(verdict.stored[i].state == JobState.COMPLETED for i in job_ids)
        assert cut_stats["stats"]["completed"] == 0, "a late completion from the cut-off worker was accepted"
        assert detected - blackholed_at <= probe_interval + 5, (
            "the listener did not notice the dead connection"
        )
        assert relistened - healed_at <= 10, "the listener did not reconnect after the network healed"
        assert len(expiries) == len(job_ids), (
            f"lease expiries not observed for {set(job_ids) - set(expiries)}"
        )
        assert all(r <= RELEASE + 5 for r in reclaims), f"re-claim after expiry too slow: {reclaims}"
        never = [j for j in async_jobs if j not in aborts]
        assert not never, (
            f"self-fencing: the cut-off worker never aborted jobs {never} although its lease expired"
        )
        late = {j: round(m, 2) for j, m in margins.items() if j in async_jobs and m <= 0}
        assert not late, f"self-fencing: jobs aborted only after their lease expired (margin s): {late}"


async def wait_running(client: Sidequest, count: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while (await client.jobs.count()).running < count:
        assert time.monotonic() < deadline, "jobs did not start"
        await asyncio.sleep(0.1)


class LeaseMonitor:
    """Reads the lease expiry of each held job directly (not through the proxy) every 0.2 s."""

    def __init__(self, base: str, schema: str, job_ids: list[int]) -> None:
        self.base = base
        self.schema = schema
        self.job_ids = job_ids
        self.last_expiry: dict[tuple[int, str], float] = {}

    async def run(self) -> None:
        conn = await asyncpg.connect(self.base)
        try:
            while True:
                rows = await conn.fetch(
                    "SELECT id, lease_token::text, extract(epoch FROM lease_expires_at)::float8"
                    f' FROM "{self.schema}".sidequest_jobs'
                    " WHERE id = ANY($1::bigint[]) AND lease_token IS NOT NULL",
                    self.job_ids,
                )
                for job_id, token, expiry in rows:
                    self.last_expiry[(job_id, token)] = expiry
                await asyncio.sleep(0.2)
        finally:
            await conn.close()
