"""Benchmarks side by side with peer libraries.

    uv run --group bench python bench/run.py [--quick] [--only WORKLOAD ...] [--libs LIB ...]

Creates fresh databases (``sq_bench_<lib>`` on the PostgreSQL server named by ``BENCH_PG``,
default ``postgresql://postgres@127.0.0.1:5432``; ``sq_bench_mysql`` on the MySQL/MariaDB
server named by ``BENCH_MYSQL``, default ``mysql://root@127.0.0.1:3306``; SQLite files under
a temporary directory), runs every selected workload for every selected library ``--repeat``
times (libraries interleaved within each repetition), checks that every job ran exactly once
(a run that fails a check reports no figure), then prints a table of medians, ranges
(min–max) and sidequest's ratio to each peer, and writes the raw figures as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)  # import as the ``bench`` package (and never shadow stdlib ``profile``)

from bench.common import (  # noqa: E402
    BenchError,
    Figure,
    drop_database,
    pg_version,
    recreate_database,
    run_on_loop,
)
from bench.libs import LIBS, get_adapter  # noqa: E402
from bench.libs.base import Adapter, NotSupported  # noqa: E402
from bench.workloads import FULL, QUICK, Context, Sizes, Workload, select  # noqa: E402

RUN_TIMEOUT = 900.0
FLOOR_LABELS = {"floor": "asyncpg (floor)", "floor-sqlite": "sqlite3 (floor)"}
SQ_PG, SQ_SQLITE = "sidequest-pg", "sidequest-sqlite"

Key = tuple[str, str, str]  # (workload name, metric, library key)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, one repetition (smoke check)")
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="WORKLOAD",
        help="workload names or prefixes: enqueue, drain, drain-1x10, latency, memory, floor, …",
    )
    parser.add_argument("--libs", nargs="+", choices=LIBS, metavar="LIB", help=f"any of {', '.join(LIBS)}")
    parser.add_argument("--repeat", type=int, help="repetitions per figure (default 3; 1 with --quick)")
    parser.add_argument("--json", type=Path, help="where to write the raw figures (default bench/results/)")
    parser.add_argument("--keep", action="store_true", help="keep the databases and the work directory")
    parser.add_argument(
        "--loop",
        choices=("asyncio", "uvloop"),
        default="asyncio",
        help="event loop of every library (default: the standard asyncio loop)",
    )
    args = parser.parse_args(argv)
    if args.only:
        args.only = [part for item in args.only for part in item.split(",") if part]
    return args


def machine() -> dict[str, str]:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem_kib = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
        memory = f"{mem_kib / 1024 / 1024:.0f} GiB"
    except (OSError, StopIteration):
        memory = "?"
    versions = {}
    for dist in (
        "sidequest",
        "asyncpg",
        "asyncmy",
        "pgqueuer",
        "procrastinate",
        "psycopg",
        "huey",
    ):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = "-"
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "packages"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        revision = f"{commit}{' + uncommitted changes in packages/' if dirty else ''}"
    except (OSError, subprocess.CalledProcessError):
        revision = "?"
    return {
        "revision": revision,
        "cpu": f"{os.cpu_count()} cores, {model}",
        "memory": memory,
        "python": platform.python_version(),
        "os": platform.platform(),
        "libraries": ", ".join(f"{k} {v}" for k, v in versions.items()),
    }


# running -------------------------------------------------------------------------------------------
async def run_all(args: argparse.Namespace) -> tuple[dict[Key, Figure], dict[str, object]]:
    sizes = QUICK if args.quick else FULL
    if args.repeat:
        sizes = replace(sizes, repeat=args.repeat)
    workloads = select(args.only)
    libs = list(args.libs or LIBS)
    me = asyncio.current_task()
    assert me is not None
    for signum in (signal.SIGTERM, signal.SIGINT):  # cancel: stops workers, drops databases
        asyncio.get_running_loop().add_signal_handler(signum, me.cancel)
    workdir = Path(tempfile.mkdtemp(prefix="sq_bench_", dir="/tmp"))
    ctx = Context(sizes=sizes, workdir=workdir, logs=workdir / "logs")
    ctx.logs.mkdir()
    info: dict[str, object] = {**machine(), "postgresql": await pg_version(), "sizes": asdict(sizes)}
    print(f"# work directory (worker logs): {workdir}", flush=True)
    figures: dict[Key, Figure] = {}
    adapters: dict[str, Adapter] = {}
    needed = {lib for w in workloads if w.run for lib in libs if w.libs is None or lib in w.libs}
    try:
        for lib in [lib for lib in LIBS if lib in needed]:
            cls = get_adapter(lib)
            adapter = cls(await cls.provision(workdir))
            adapters[lib] = adapter
            await adapter.open()
        if any(w.floor for w in workloads):
            ctx.floor_pg_url = await recreate_database("floor")
        for workload in workloads:
            for rep in range(sizes.repeat):
                if workload.floor is not None:
                    await run_floor(ctx, workload, rep, figures)
                    continue
                for lib, adapter in adapters.items():
                    if workload.libs is None or lib in workload.libs:
                        await run_one(ctx, workload, rep, adapter, figures)
    finally:
        for adapter in adapters.values():
            try:
                await adapter.close()
            except Exception as exc:  # closing must not hide the results
                print(f"# closing {adapter.key}: {exc}", file=sys.stderr)
            if not args.keep:
                await type(adapter).teardown(adapter.settings)
        if ctx.floor_pg_url and not args.keep:
            await drop_database("floor")
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    info["libraries_config"] = {lib: get_adapter(lib).config_note for lib in adapters}
    return figures, info


async def run_one(
    ctx: Context, workload: Workload, rep: int, adapter: Adapter, figures: dict[Key, Figure]
) -> None:
    assert workload.run is not None
    started = time.perf_counter()
    slots = {
        name: figures.setdefault((workload.name, name, adapter.key), Figure(unit, better))
        for name, unit, better in workload.metrics
    }
    try:
        values = await asyncio.wait_for(workload.run(ctx, adapter), RUN_TIMEOUT)
    except NotSupported as exc:
        for slot in slots.values():
            slot.note = f"n/a: {exc}"
        print(f"[{workload.name} {rep + 1}/{ctx.sizes.repeat}] {adapter.key}: n/a ({exc})", flush=True)
        return
    except (BenchError, TimeoutError) as exc:
        reason = str(exc) or "timed out"
        for slot in slots.values():
            slot.failures.append(reason)
        print(f"[{workload.name} {rep + 1}/{ctx.sizes.repeat}] {adapter.key}: FAILED: {reason}", flush=True)
        return
    for name, value in values.items():
        slots[name].values.append(value)
    shown = ", ".join(f"{k} {fmt(v, slots[k].unit)}" for k, v in values.items())
    took = time.perf_counter() - started
    print(
        f"[{workload.name} {rep + 1}/{ctx.sizes.repeat}] {adapter.key}: {shown}  ({took:.1f} s)", flush=True
    )


async def run_floor(ctx: Context, workload: Workload, rep: int, figures: dict[Key, Figure]) -> None:
    assert workload.floor is not None
    lib = FLOOR_LABELS[workload.name]
    try:
        values = await asyncio.wait_for(workload.floor(ctx), RUN_TIMEOUT)
    except (BenchError, TimeoutError) as exc:
        figures.setdefault((workload.name, "all", lib), Figure("jobs/s")).failures.append(str(exc))
        print(f"[{workload.name} {rep + 1}/{ctx.sizes.repeat}] FAILED: {exc}", flush=True)
        return
    for name, value in values.items():
        figures.setdefault((workload.name, name, lib), Figure("jobs/s")).values.append(value)
    shown = ", ".join(f"{k}: {fmt(v, 'jobs/s')}" for k, v in values.items())
    print(f"[{workload.name} {rep + 1}/{ctx.sizes.repeat}] {shown}", flush=True)


# the table ------------------------------------------------------------------------------------------
def fmt(value: float, unit: str) -> str:
    if unit == "jobs/s":
        return f"{value:,.0f}"
    if unit == "ms":
        return f"{value:.1f}" if value < 100 else f"{value:,.0f}"
    return f"{value:.1f}"


def label(lib: str) -> str:
    if lib in LIBS:
        return get_adapter(lib).label
    return lib


def table(figures: dict[Key, Figure], workloads: list[Workload], sizes: Sizes) -> str:
    header = (
        "| workload | library | median | range (min–max) | sidequest-pg ÷ this | sidequest-sqlite ÷ this |",
        "|---|---|--:|--:|--:|--:|",
    )
    lines = list(header)
    for workload in workloads:
        title = workload.title(sizes)
        metric_names = [m[0] for m in workload.metrics] or list(
            dict.fromkeys(metric for (w, metric, _lib) in figures if w == workload.name)
        )
        for metric in metric_names:
            rows = [(lib, fig) for (w, m, lib), fig in figures.items() if w == workload.name and m == metric]
            if not rows:
                continue
            unit = rows[0][1].unit
            row_title = title if len(metric_names) == 1 and metric == "jobs/s" else f"{title}: {metric}"
            better = "higher" if rows[0][1].higher_is_better else "lower"
            reference = {lib: fig for lib, fig in rows if fig.values}
            for lib, fig in rows:
                if fig.note:
                    median, spread = fig.note, ""
                elif not fig.values:
                    median, spread = f"FAILED ({'; '.join(fig.failures)[:120]})", ""
                else:
                    median = f"{fmt(fig.median, unit)} {unit}"
                    spread = f"{fmt(fig.low, unit)}–{fmt(fig.high, unit)}"
                    if fig.failures:
                        spread += f" ({len(fig.failures)} run(s) failed a check)"
                ratios = []
                for ours in (SQ_PG, SQ_SQLITE):
                    mine = reference.get(ours)
                    if lib in (SQ_PG, SQ_SQLITE) or mine is None or not fig.values or lib not in LIBS:
                        ratios.append("")
                    else:
                        ratios.append(f"{mine.median / fig.median:.2f}×")
                lines.append(
                    f"| {row_title} ({better} is better) | {label(lib)} | {median} | {spread} | "
                    f"{ratios[0]} | {ratios[1]} |"
                )
    return "\n".join(lines)


def main() -> None:
    args = parse_args()
    started = time.time()
    try:
        os.environ["BENCH_LOOP"] = args.loop  # inherited by the worker processes
        figures, info = run_on_loop(run_all(args))
    except asyncio.CancelledError:
        sys.exit("interrupted: workers stopped, databases dropped")
    sizes = QUICK if args.quick else FULL
    if args.repeat:
        sizes = replace(sizes, repeat=args.repeat)
    workloads = select(args.only)
    print()
    print(
        f"Machine: {info['cpu']}, {info['memory']} RAM; "
        f"PostgreSQL {info['postgresql']}; Python {info['python']}"
    )
    print(f"Libraries: {info['libraries']}; sidequest revision {info['revision']}")
    print(f"Repetitions per figure: {sizes.repeat}; total time {time.time() - started:.0f} s")
    print()
    print(table(figures, workloads, sizes))
    print()
    for lib, note in dict(info.get("libraries_config", {})).items():  # type: ignore[call-overload]
        print(f"- {label(lib)}: {note}")
    stamp = time.strftime("%Y%m%d-%H%M%S") + ("-quick" if args.quick else "")
    out = args.json or ROOT / "bench" / "results" / f"{stamp}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    raw = {
        "info": info,
        "figures": [
            {"workload": w, "metric": m, "library": lib, **fig.to_json()}
            for (w, m, lib), fig in figures.items()
        ],
    }
    out.write_text(json.dumps(raw, indent=1))
    print(f"\nraw figures: {out}")


if __name__ == "__main__":
    main()
