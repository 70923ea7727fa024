"""Profile the hot path (claim, start, complete) of a sidequest drain with pyinstrument.

    uv run --group bench python bench/profile.py [--jobs 20000] [--concurrency 10] [--backend pg|sqlite]
    uv run --group bench python bench/profile.py --what enqueue-single --jobs 2000
    uv run --group bench python bench/profile.py --what enqueue-bulk --batch 1000
    uv run --group bench python bench/profile.py --concurrency 100 --measure 3   # no profiler

Runs the worker in this process (``Sidequest(url, max_concurrent_jobs=C,
queues=[QueueConfig("default", concurrency=C)])`` + ``start()``) over pre-enqueued no-op
jobs and samples the main thread from start to the last completion (``--what enqueue-…``:
the enqueue calls instead). Prints:

- from a first pass without the profiler: throughput, and how busy the process was (CPU
  time ÷ wall time: near 100 % means the Python side is the bottleneck, well below means it
  waits on the database);
- backend calls per job, by method (each is one statement), and on PostgreSQL the
  transactions, row updates (and the share of HOT updates), WAL bytes and server CPU
  time per job;
- from a second pass under the profiler (fresh tables): self time grouped by package,
  the top functions by self time, and the call tree of the hot path. The HTML report goes
  to ``bench/results/``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import inspect
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)  # import as the ``bench`` package (and never shadow stdlib ``profile``)

import asyncpg  # noqa: E402
from pyinstrument import Profiler  # noqa: E402
from pyinstrument.renderers import ConsoleRenderer, HTMLRenderer  # noqa: E402
from sidequest import QueueConfig, Sidequest  # noqa: E402

from bench import ledger  # noqa: E402
from bench.common import drop_database, recreate_database  # noqa: E402
from bench.libs.sidequest_pg import NoOp  # noqa: E402

CALLS: collections.Counter[str] = collections.Counter()
ITEMS: collections.Counter[str] = collections.Counter()


def count_backend_calls(backend: Any) -> None:
    """Count the calls of every coroutine method of ``backend`` (and the items of batched ones).

    Counting at the backend's interface survives changes of the SQL; each call is one
    statement (one round trip) on both backends, except ``enqueue``'s queue bootstrap.
    """
    for name in dir(type(backend)):
        if name.startswith("_"):
            continue
        method = getattr(backend, name, None)
        if not inspect.iscoroutinefunction(method):
            continue

        async def counted(*args: Any, __method: Any = method, __name: str = name, **kwargs: Any) -> Any:
            CALLS[__name] += 1
            if __name == "complete_many" and args:
                ITEMS[__name] += len(args[0])
            result = await __method(*args, **kwargs)
            if __name in ("claim", "claim_and_start"):
                ITEMS[__name] += len(result)
            return result

        setattr(backend, name, counted)


async def pg_counters(url: str) -> dict[str, Any]:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("SELECT pg_stat_clear_snapshot()")
        commits = await conn.fetchval(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
        )
        row = await conn.fetchrow(
            "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'sidequest_jobs'"
        )
        wal = await conn.fetchval("SELECT pg_current_wal_lsn()::text")
        return {"commits": commits, "updates": row[0], "hot": row[1], "wal": wal}
    finally:
        await conn.close()


async def wal_bytes(url: str, start: str, end: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(
            await conn.fetchval("SELECT pg_wal_lsn_diff($1::text::pg_lsn, $2::text::pg_lsn)", end, start)
        )
    finally:
        await conn.close()


async def backend_cpu(url: str) -> float:
    """CPU seconds used so far by the server processes of this database's other sessions."""
    conn = await asyncpg.connect(url)
    try:
        pids = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await conn.close()
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for (pid,) in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


def package_of(path: str) -> str:
    for marker, name in (
        ("/sidequest_postgres/", "sidequest_postgres"),
        ("/sidequest_sqlite/", "sidequest_sqlite"),
        ("/sidequest/", "sidequest (engine)"),
        ("/asyncpg/", "asyncpg"),
        ("/attr/", "attrs"),
        ("/attrs/", "attrs"),
        ("/asyncio/", "asyncio"),
        ("/json/", "json"),
        ("/bench/", "bench (job body + ledger)"),
        ("/uuid", "uuid"),
        ("/logging/", "logging"),
        ("/datetime", "datetime"),
        ("/inspect", "inspect"),
    ):
        if marker in path:
            return name
    if path.startswith("<"):
        return path
    return Path(path).name


def self_times(frame: Any, table: dict[tuple[str, str, int], float]) -> None:
    """Self time per function (a synthetic ``[self]`` child counts for its parent)."""
    key = (frame.function or "?", frame.file_path or "<built-in>", frame.line_no or 0)
    table[key] = table.get(key, 0.0) + frame.total_self_time
    for child in frame.children:
        if not child.is_synthetic:
            self_times(child, table)


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--backend", choices=("pg", "sqlite"), default="pg")
    parser.add_argument("--interval", type=float, default=0.0005, help="sampling interval (s)")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument(
        "--what",
        choices=("drain", "enqueue-single", "enqueue-bulk"),
        default="drain",
        help="the hot path to profile (default: drain = claim, run, complete)",
    )
    parser.add_argument("--batch", type=int, default=1_000, help="batch size of enqueue-bulk")
    parser.add_argument("--prefetch", default="auto", help="the worker's prefetch: auto (default) or N")
    parser.add_argument(
        "--measure",
        type=int,
        metavar="N",
        help="only measure: N passes without the profiler (compare changes by their costs per job)",
    )
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="sq_profile_", dir="/tmp"))
    try:
        if args.measure:
            for _ in range(args.measure):
                await one_pass(args, workdir, None)
            return
        # Pass 1 without the profiler (its sampling costs CPU): throughput and costs per job.
        await one_pass(args, workdir, None)
        # Pass 2 under the profiler, on fresh tables: where the time goes.
        profiler = Profiler(interval=args.interval, async_mode="disabled")
        await one_pass(args, workdir, profiler)
    finally:
        if args.backend == "pg":
            await drop_database("profile")
        shutil.rmtree(workdir, ignore_errors=True)
    if not args.measure:
        report(args, profiler)


async def one_pass(args: argparse.Namespace, workdir: Path, profiler: Profiler | None) -> None:
    n, c = args.jobs, args.concurrency
    CALLS.clear()
    ITEMS.clear()
    if args.backend == "pg":
        url = await recreate_database("profile")
    else:
        for old in workdir.glob("profile.sqlite3*"):
            old.unlink()
        url = f"sqlite:///{workdir}/profile.sqlite3"
    book = ledger.Ledger(workdir / "ledger", n, create=True)
    ledger.open_for_jobs(str(book.path))
    draining = args.what == "drain"
    if draining:
        client = Sidequest(url)
        await client.configure()
        for k in range(0, n, 5000):
            await client.build(NoOp).enqueue_many([(i,) for i in range(k, min(n, k + 5000))])
        await client.close()
        sq = Sidequest(
            url,
            max_concurrent_jobs=c,
            queues=[QueueConfig("default", concurrency=c)],
            prefetch=args.prefetch if args.prefetch == "auto" else int(args.prefetch),
        )
    else:
        sq = Sidequest(url)
    await sq.configure()
    if not draining:
        await sq.build(NoOp).enqueue(-1)  # creates the queue row: not part of the steady state
    before = await pg_counters(url) if args.backend == "pg" else {}
    count_backend_calls(sq.backend)
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    wall0 = time.perf_counter()
    if profiler is not None:
        profiler.start()
    if draining:
        await sq.start()
        while sq.stats.completed < n:
            await asyncio.sleep(0.005)
    elif args.what == "enqueue-single":
        for i in range(n):
            await sq.build(NoOp).enqueue(i)
    else:
        for k in range(0, n, args.batch):
            await sq.build(NoOp).enqueue_many([(i,) for i in range(k, min(n, k + args.batch))])
    if profiler is not None:
        profiler.stop()
    wall = time.perf_counter() - wall0
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    server_cpu = await backend_cpu(url) if args.backend == "pg" else 0.0
    counted, items = dict(CALLS), dict(ITEMS)
    await sq.stop()
    await sq.close()
    problem = ledger.check_exactly_once([book], n) if draining else None
    book.close()
    if profiler is not None:
        print(f"\n(profiled pass: {n / wall:,.0f} jobs/s under the sampler)")
        return

    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    if draining:
        print(f"sidequest {args.backend}: {n:,} jobs, 1 worker × {c}: {wall:.2f} s = {n / wall:,.0f} jobs/s")
        print(f"exactly once: {'yes' if problem is None else problem}")
    else:
        how = "one at a time" if args.what == "enqueue-single" else f"in batches of {args.batch:,}"
        print(f"sidequest {args.backend}: enqueue {n:,} jobs {how}: {wall:.2f} s = {n / wall:,.0f} jobs/s")
    print(
        f"Python process CPU: {cpu:.2f} s = {100 * cpu / wall:.0f} % of one core, "
        f"{1e6 * cpu / n:.0f} µs per job "
        f"(user {cpu1.ru_utime - cpu0.ru_utime:.2f} s, system {cpu1.ru_stime - cpu0.ru_stime:.2f} s)"
    )
    print("\nbackend calls per job (each one statement / round trip):")
    for kind, count in sorted(counted.items(), key=lambda kv: -kv[1]):
        extra = f", {items[kind] / count:.1f} jobs per call" if kind in items else ""
        print(f"  {count / n:6.3f}  {kind}  ({count:,} calls{extra})")
    if args.backend == "pg":
        after = await pg_counters(url)
        updates = after["updates"] - before["updates"]
        hot = after["hot"] - before["hot"]
        print(
            f"  PostgreSQL transactions committed per job: {(after['commits'] - before['commits']) / n:.2f}"
        )
        if updates:
            print(
                f"  row updates per job: {updates / n:.2f}, of which HOT: {100 * hot / max(1, updates):.0f} %"
            )
        print(f"  WAL written per job: {await wal_bytes(url, before['wal'], after['wal']) / n:,.0f} bytes")
        print(
            f"  PostgreSQL server CPU (this process's sessions): {server_cpu:.2f} s"
            f" = {100 * server_cpu / wall:.0f} % of one core, {1e6 * server_cpu / n:.0f} µs per job"
        )


def report(args: argparse.Namespace, profiler: Profiler) -> None:
    c = args.concurrency
    draining = args.what == "drain"
    session = profiler.last_session
    assert session is not None
    root = session.root_frame()
    table: dict[tuple[str, str, int], float] = {}
    if root is not None:
        self_times(root, table)
    total = sum(table.values()) or 1.0
    packages: collections.Counter[str] = collections.Counter()
    for (_fn, path, _line), seconds in table.items():
        packages[package_of(path)] += seconds
    print(f"\nsampled time by package (self time, {total:.2f} s sampled; 'select'/idle = waiting for I/O):")
    for name, seconds in packages.most_common(16):
        print(f"  {100 * seconds / total:5.1f} %  {name}")
    print(f"\ntop {args.top} functions by self time:")
    for (fn, path, line), seconds in sorted(table.items(), key=lambda kv: -kv[1])[: args.top]:
        short = path.split("site-packages/")[-1].split("/src/")[-1]
        print(f"  {100 * seconds / total:5.1f} %  {fn}  {short}:{line}")

    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    html = out / f"profile-{args.backend}-{args.what}{f'-c{c}' if draining else ''}.html"
    html.write_text(profiler.output(HTMLRenderer()))
    print("\ncall tree (pyinstrument, frames ≥ 2 %):")
    print(
        profiler.output(
            ConsoleRenderer(
                unicode=True, processor_options={"filter_threshold": 0.02}, time="percent_of_total"
            )
        )
    )
    print(f"HTML report: {html}")


if __name__ == "__main__":
    asyncio.run(main())
