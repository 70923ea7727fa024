"""The workloads: what is measured, how, and how each run is checked.

Every function runs one repetition for one library and returns ``{metric: value}``; a run
that fails its checks raises ``BenchError`` and reports no figure.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .common import BenchError, WorkerProcess, percentile, sleep_until, stop_all
from .ledger import Ledger, check_exactly_once
from .libs.base import Adapter, chunks


@dataclass(frozen=True)
class Sizes:
    enqueue_single: int = 2_000
    enqueue_bulk: int = 20_000
    bulk_batch: int = 1_000
    drain: int = 20_000
    backlog: int = 100_000
    latency_jobs: int = 200
    latency_spacing: float = 0.020
    latency_concurrency: int = 10
    memory_waiting: int = 100_000
    memory_idle: float = 5.0
    floor: int = 20_000
    floor_single: int = 2_000
    repeat: int = 3


FULL = Sizes()
QUICK = replace(
    FULL,
    enqueue_single=200,
    enqueue_bulk=2_000,
    drain=1_000,
    backlog=5_000,
    latency_jobs=30,
    memory_waiting=5_000,
    memory_idle=1.5,
    floor=2_000,
    floor_single=300,
    repeat=1,
)


@dataclass
class Context:
    sizes: Sizes
    workdir: Path
    logs: Path
    floor_pg_url: str = ""
    run_number: int = 0

    def log_path(self, name: str) -> Path:
        self.run_number += 1
        return self.logs / f"{self.run_number:04d}-{name}.log"


Metric = tuple[str, str, bool]  # (name, unit, higher is better)
LibRun = Callable[[Context, Adapter], Awaitable[dict[str, float]]]
FloorRun = Callable[[Context], Awaitable[dict[str, float]]]


@dataclass(frozen=True)
class Workload:
    name: str
    title: Callable[[Sizes], str]
    metrics: tuple[Metric, ...]
    run: LibRun | None = None
    floor: FloorRun | None = None
    libs: tuple[str, ...] | None = None  # None: every library


# enqueue -------------------------------------------------------------------------------------------
async def enqueue_single(ctx: Context, adapter: Adapter) -> dict[str, float]:
    n = ctx.sizes.enqueue_single
    await adapter.reset()
    start = time.perf_counter()
    for i in range(n):
        await adapter.enqueue_one(i)
    elapsed = time.perf_counter() - start
    await _check_stored(adapter, n)
    return {"jobs/s": n / elapsed}


async def enqueue_bulk(ctx: Context, adapter: Adapter) -> dict[str, float]:
    n, batch = ctx.sizes.enqueue_bulk, ctx.sizes.bulk_batch
    await adapter.reset()
    parts = chunks(range(n), batch)
    start = time.perf_counter()
    for part in parts:
        await adapter.enqueue_batch(part)
    elapsed = time.perf_counter() - start
    await _check_stored(adapter, n)
    return {"jobs/s": n / elapsed}


async def _check_stored(adapter: Adapter, n: int) -> None:
    stored = await adapter.stored()
    if stored != n:
        raise BenchError(f"{n} jobs enqueued but {stored} stored")


# workers -------------------------------------------------------------------------------------------
async def start_workers(
    ctx: Context, adapter: Adapter, name: str, processes: int, concurrency: int, ledgers: list[Ledger]
) -> list[WorkerProcess]:
    """Spawn the workers, wait until all have imported their library, release them together."""
    workers = []
    try:
        for k in range(processes):
            config: dict[str, Any] = {
                "settings": adapter.settings,
                "concurrency": concurrency,
                "ledger": str(ledgers[k].path),
            }
            workers.append(WorkerProcess(adapter.key, config, ctx.log_path(f"{adapter.key}-{name}-w{k}")))
        for worker in workers:
            await worker.expect("LOADED")
        for worker in workers:
            worker.go()
        return workers
    except BaseException:
        await stop_all(workers, timeout=5)
        raise


def _ledgers(ctx: Context, name: str, count: int, n: int) -> list[Ledger]:
    return [Ledger(ctx.workdir / f"ledger-{name}-{k}", max(n, 1), create=True) for k in range(count)]


async def _wait_executed(ledgers: list[Ledger], workers: list[WorkerProcess], n: int, stall: float) -> None:
    """Until the ledgers hold ``n`` executions; fails on a dead worker or no progress."""
    last, last_change = -1, time.monotonic()
    while True:
        executed = sum(ledger.executed for ledger in ledgers)
        if executed >= n:
            return
        if executed != last:
            last, last_change = executed, time.monotonic()
        elif time.monotonic() - last_change > stall:
            raise BenchError(f"stalled at {executed}/{n} executions; {workers[0].tail(600)}")
        for worker in workers:
            if not worker.alive():
                raise BenchError(f"worker exited ({worker.process.returncode}): {worker.tail()}")
        await asyncio.sleep(0.005)


async def _wait_done(adapter: Adapter, timeout: float = 60, every: float = 0.002) -> float:
    """Poll the database until no job is left waiting or running; returns when (time.time()):
    the moment the poll that found none was sent (it read the table a fraction of a
    millisecond later). Polls start ``every`` seconds apart, however long each takes (at
    once after one that took longer): neither the last poll's duration nor the earlier
    ones', which differ between libraries' tables, is part of the drain."""
    deadline = time.monotonic() + timeout
    while True:
        asked = time.time()
        if await adapter.done():
            return asked
        if time.monotonic() > deadline:
            raise BenchError("jobs ran but the database still shows unfinished jobs")
        await asyncio.sleep(max(0.0, asked + every - time.time()))


# drain ------------------------------------------------------------------------------------------------
def drain(processes: int, concurrency: int, *, backlog: bool = False) -> LibRun:
    async def run(ctx: Context, adapter: Adapter) -> dict[str, float]:
        n = ctx.sizes.drain
        extra = ctx.sizes.backlog if backlog else 0
        await adapter.reset()
        if extra:
            await adapter.add_backlog(extra)
        await adapter.prefill(n)
        name = f"drain{processes}x{concurrency}{'b' if backlog else ''}"
        ledgers = _ledgers(ctx, name, processes, n)
        workers = await start_workers(ctx, adapter, name, processes, concurrency, ledgers)
        try:
            await _wait_executed(ledgers, workers, n, stall=60)
            finished = await _wait_done(adapter)
            first = min(ledger.first_start for ledger in ledgers if ledger.executed)
        finally:
            await stop_all(workers)
        problem = check_exactly_once(ledgers, n) or await adapter.verify(n + extra)
        for ledger in ledgers:
            ledger.close()
        if problem:
            raise BenchError(problem)
        return {"jobs/s": n / (finished - first)}

    return run


# pickup latency --------------------------------------------------------------------------------------
async def latency(ctx: Context, adapter: Adapter) -> dict[str, float]:
    sizes = ctx.sizes
    n = sizes.latency_jobs
    await adapter.reset()
    ledgers = _ledgers(ctx, "latency", 1, n)
    workers = await start_workers(ctx, adapter, "latency", 1, sizes.latency_concurrency, ledgers)
    try:
        await workers[0].expect("READY")
        await asyncio.sleep(1.0)  # idle worker: past its start-up claims
        start = time.perf_counter()
        for i in range(n):
            await sleep_until(start + i * sizes.latency_spacing)
            await adapter.enqueue_one(i, time.time())
        await _wait_executed(ledgers, workers, n, stall=30)
        await _wait_done(adapter)
    finally:
        await stop_all(workers)
    problem = check_exactly_once(ledgers, n) or await adapter.verify(n)
    values = [ledgers[0].values[i] * 1000 for i in range(n)]
    ledgers[0].close()
    if problem:
        raise BenchError(problem)
    return {"p50": percentile(values, 50), "p95": percentile(values, 95), "p99": percentile(values, 99)}


# memory ---------------------------------------------------------------------------------------------------
async def memory(ctx: Context, adapter: Adapter) -> dict[str, float]:
    sizes = ctx.sizes
    figures = {}
    for label, waiting in (("empty database", 0), ("jobs waiting", sizes.memory_waiting)):
        await adapter.reset()
        if waiting:
            await adapter.prefill(waiting, delay=86_400)  # available tomorrow: stored, not runnable
        ledgers = _ledgers(ctx, "memory", 1, waiting)
        workers = await start_workers(ctx, adapter, "memory", 1, 10, ledgers)
        try:
            await workers[0].expect("READY")
            await asyncio.sleep(sizes.memory_idle)
            rss, _peak = workers[0].rss_kib()
            stored = await adapter.stored()
        finally:
            await stop_all(workers)
        ran = ledgers[0].executed
        ledgers[0].close()
        if ran or stored != waiting:
            raise BenchError(f"{ran} job(s) ran and {stored} stored; expected none to run, {waiting} stored")
        figures[label] = rss / 1024
    return figures


# floor ------------------------------------------------------------------------------------------------------
async def floor_pg(ctx: Context) -> dict[str, float]:
    from .libs import floor

    n, url = ctx.sizes.floor, ctx.floor_pg_url
    return {
        "claim+complete, batch 1": await floor.pg_claim_complete(url, ctx.sizes.floor_single, 1),
        "claim+complete, batch 10": await floor.pg_claim_complete(url, n, 10),
        "claim+complete, batch 100": await floor.pg_claim_complete(url, n, 100),
        "enqueue: INSERT one at a time": await floor.pg_insert_single(url, ctx.sizes.floor_single),
        f"enqueue: INSERT … unnest, batches of {ctx.sizes.bulk_batch:,}": await floor.pg_insert_batch(
            url, n, ctx.sizes.bulk_batch
        ),
        "enqueue: COPY": await floor.pg_copy(url, n),
    }


async def floor_sqlite(ctx: Context) -> dict[str, float]:
    from .libs import floor

    n, path = ctx.sizes.floor, ctx.workdir / "floor.sqlite3"
    return {
        "claim+complete, batch 1": floor.sqlite_claim_complete(path, ctx.sizes.floor_single, 1),
        "claim+complete, batch 10": floor.sqlite_claim_complete(path, n, 10),
        "enqueue: INSERT one at a time": floor.sqlite_insert_single(path, ctx.sizes.floor_single),
    }


PG_LIBS = ("sidequest-pg", "pgqueuer", "procrastinate")
BACKLOG_LIBS = ("sidequest-pg", "sidequest-sqlite", "sidequest-mysql", "pgqueuer", "procrastinate")
JOBS_S: tuple[Metric, ...] = (("jobs/s", "jobs/s", True),)

WORKLOADS: tuple[Workload, ...] = (
    Workload(
        "enqueue-single",
        lambda s: f"enqueue {s.enqueue_single:,} one at a time",
        JOBS_S,
        run=enqueue_single,
    ),
    Workload(
        "enqueue-bulk",
        lambda s: f"enqueue {s.enqueue_bulk:,} in batches of {s.bulk_batch:,}",
        JOBS_S,
        run=enqueue_bulk,
    ),
    Workload("drain-1x10", lambda s: f"drain {s.drain:,}: 1 worker × 10", JOBS_S, run=drain(1, 10)),
    Workload("drain-1x100", lambda s: f"drain {s.drain:,}: 1 worker × 100", JOBS_S, run=drain(1, 100)),
    Workload("drain-2x10", lambda s: f"drain {s.drain:,}: 2 workers × 10", JOBS_S, run=drain(2, 10)),
    Workload("drain-2x100", lambda s: f"drain {s.drain:,}: 2 workers × 100", JOBS_S, run=drain(2, 100)),
    Workload(
        "drain-backlog",
        lambda s: f"drain {s.drain:,} over {s.backlog:,} finished: 1 worker × 10",
        JOBS_S,
        run=drain(1, 10, backlog=True),
        libs=BACKLOG_LIBS,
    ),
    Workload(
        "latency",
        lambda s: f"pickup latency, {s.latency_jobs} jobs {s.latency_spacing * 1000:.0f} ms apart",
        (("p50", "ms", False), ("p95", "ms", False), ("p99", "ms", False)),
        run=latency,
    ),
    Workload(
        "memory",
        lambda s: f"idle worker RSS (× 10), {s.memory_waiting:,} jobs waiting for tomorrow vs none",
        (("jobs waiting", "MiB", False), ("empty database", "MiB", False)),
        run=memory,
    ),
    Workload(
        "floor",
        lambda s: "floor: raw asyncpg, one connection, minimal table",
        (),
        floor=floor_pg,
    ),
    Workload(
        "floor-sqlite",
        lambda s: "floor: stdlib sqlite3 (WAL, synchronous=NORMAL), one connection",
        (),
        floor=floor_sqlite,
    ),
)


def select(only: list[str] | None) -> list[Workload]:
    """Workloads whose name equals or starts with one of ``only`` (all when None)."""
    if not only:
        return list(WORKLOADS)
    chosen = [w for w in WORKLOADS if any(w.name == o or w.name.startswith(o + "-") for o in only)]
    unknown = [o for o in only if not any(w.name == o or w.name.startswith(o + "-") for w in WORKLOADS)]
    if unknown:
        raise SystemExit(f"unknown workload(s) {unknown}; choose from {[w.name for w in WORKLOADS]}")
    return chosen
