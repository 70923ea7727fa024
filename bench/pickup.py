"""Where a pickup's time goes, on PostgreSQL with notifications.

    uv run --group bench python bench/pickup.py [--jobs 1000] [--spacing 0.02]

One idle worker process (concurrency 10, as in the latency workload) and this process
enqueuing one job every ``--spacing`` seconds. Each pickup is stamped at five moments on
the machine's clock (``time.time()`` in both processes), counted from the start of the
enqueue call:

- enqueued: the enqueue call returned (its INSERT and NOTIFY committed);
- notified: the worker's LISTEN connection received the notification;
- claim sent / claimed: the claim that took the job was sent, and returned (committed);
- started: the job's ``run()`` began.

Prints the percentiles of each moment and each step, then the slowest pickups (from the
99th percentile up) with the step that took the extra time. The worker's moments come
from wrapping two methods of ``sidequest_postgres`` in the worker process (the listener's
notification callback and the backend's claims): measurement code, not a hook of the
library.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import json
import statistics
import sys
import tempfile
import time
from asyncio.subprocess import PIPE
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)  # import as the ``bench`` package (and never shadow stdlib ``profile``)

import sidequest_postgres._listener as listener_module  # noqa: E402
from sidequest import Job, QueueConfig, Sidequest  # noqa: E402
from sidequest_postgres.backend import PostgresBackend  # noqa: E402

from bench.common import drop_database, recreate_database  # noqa: E402

CONCURRENCY = 10
MOMENTS = ("enqueued", "notified", "claim sent", "claimed", "started")
STEPS = ("enqueue", "delivery", "hand-off", "claim", "start")
"""The steps between the moments, from the start of the enqueue call to ``run()``; "delivery"
can be slightly negative (the notification arrived before the enqueuer read its reply)."""
TRACE: dict[str, Any] = {"notified": [], "claims": [], "started": {}}


class Stamp(Job):
    """Notes when its run() began."""

    async def run(self, i: int, sent: float) -> None:
        TRACE["started"][i] = time.time()


# the worker process ------------------------------------------------------------------------------
def _wrap_worker_methods() -> None:
    notification = listener_module.Listener._notification

    def noted(self: Any, *args: Any) -> None:
        TRACE["notified"].append(time.time())
        notification(self, *args)

    listener_module.Listener._notification = noted  # type: ignore[method-assign]
    for name in ("claim", "claim_and_start"):
        original = getattr(PostgresBackend, name)

        def timed(original: Any) -> Any:
            async def claim(self: Any, *args: Any, **kwargs: Any) -> Any:
                sent = time.time()
                records = await original(self, *args, **kwargs)
                if records:
                    TRACE["claims"].append((sent, time.time(), [r.args[0] for r in records]))
                return records

            return claim

        setattr(PostgresBackend, name, timed(original))


async def worker(url: str, trace_path: str) -> None:
    _wrap_worker_methods()
    sq = Sidequest(
        url,
        jobs=[Stamp],
        max_concurrent_jobs=CONCURRENCY,
        queues=[QueueConfig("default", concurrency=CONCURRENCY)],
    )
    await sq.start()
    await sq.backend.wait_listening(10)  # type: ignore[attr-defined]
    print("READY", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    await sq.stop()
    await sq.close()
    Path(trace_path).write_text(json.dumps(TRACE))


# the enqueuing process ---------------------------------------------------------------------------
async def measure(jobs: int, spacing: float) -> None:
    url = await recreate_database("pickup")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            trace_path = str(Path(tmp) / "trace.json")
            sent, enqueued = await _enqueue_beside_worker(url, trace_path, jobs, spacing)
            trace = json.loads(Path(trace_path).read_text())
    finally:
        await drop_database("pickup")
    _report(_pickups(sent, enqueued, trace))


async def _enqueue_beside_worker(
    url: str, trace_path: str, jobs: int, spacing: float
) -> tuple[list[float], list[float]]:
    sq = Sidequest(url, jobs=[Stamp])
    await sq.configure()
    process = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--worker", url, trace_path, stdin=PIPE, stdout=PIPE
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        if (await process.stdout.readline()).strip() != b"READY":
            raise SystemExit("the worker did not start")
        await asyncio.sleep(1.0)  # idle worker: past its start-up claims
        builder = sq.build(Stamp)
        sent, enqueued = [], []
        start = time.perf_counter()
        for i in range(jobs):
            await asyncio.sleep(max(0.0, start + i * spacing - time.perf_counter()))
            at = time.time()
            await builder.enqueue(i, at)
            sent.append(at)
            enqueued.append(time.time())
        await asyncio.sleep(0.5)
    finally:
        process.stdin.write(b"\n")
        await process.stdin.drain()
        await asyncio.wait_for(process.wait(), 30)
        await sq.close()
    return sent, enqueued


def _pickups(sent: list[float], enqueued: list[float], trace: dict[str, Any]) -> list[dict[str, float]]:
    """Per job, each moment in ms after its enqueue call began."""
    notified = sorted(trace["notified"])
    claimed = {i: (out, back) for out, back, numbers in trace["claims"] for i in numbers}
    started = {int(i): at for i, at in trace["started"].items()}
    if len(started) != len(sent):
        raise SystemExit(f"{len(sent)} jobs enqueued but {len(started)} ran")
    rows = []
    for i, at in enumerate(sent):
        k = bisect.bisect_left(notified, at)  # the first notification after the call began
        note = notified[k] if k < len(notified) else float("nan")
        out, back = claimed[i]
        moments = (enqueued[i], note, out, back, started[i])
        rows.append({"job": i, **{name: (t - at) * 1000 for name, t in zip(MOMENTS, moments, strict=True)}})
    return rows


def _steps(row: dict[str, float]) -> dict[str, float]:
    previous = 0.0
    steps = {}
    for step, moment in zip(STEPS, MOMENTS, strict=True):
        steps[step] = row[moment] - previous
        previous = row[moment]
    return steps


def _report(rows: list[dict[str, float]]) -> None:
    def pct(values: list[float]) -> str:
        cuts = statistics.quantiles(values, n=100, method="inclusive")
        return f"{cuts[49]:6.2f} {cuts[94]:6.2f} {cuts[98]:6.2f} {max(values):6.2f}"

    print(f"{len(rows)} pickups, ms after the enqueue call began: p50 p95 p99 max")
    for moment in MOMENTS:
        print(f"  {moment:<11} {pct([r[moment] for r in rows])}")
    steps = [_steps(r) for r in rows]
    print("each step on its own (ms): p50 p95 p99 max")
    typical = {}
    for step in STEPS:
        values = [s[step] for s in steps]
        typical[step] = statistics.median(values)
        print(f"  {step:<11} {pct(values)}")
    cut = statistics.quantiles([r["started"] for r in rows], n=100, method="inclusive")[98]
    slow = sorted((r for r in rows if r["started"] >= cut), key=lambda r: r["started"])
    print(f"the slowest pickups (≥ p99, {cut:.2f} ms) and the step that took the extra time:")
    lateness: Counter[str] = Counter()
    for row in slow:
        step_times = _steps(row)
        late = max(STEPS, key=lambda s: step_times[s] - typical[s])
        parts = "  ".join(f"{s} {step_times[s]:5.2f}" for s in STEPS)
        print(f"  job {row['job']:>5}: {row['started']:6.2f} ms  ({parts})  late: {late}")
        lateness[late] += 1
    print("late steps:", ", ".join(f"{step} {count}" for step, count in lateness.most_common()))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--spacing", type=float, default=0.02, help="seconds between enqueues")
    parser.add_argument("--worker", nargs=2, metavar=("URL", "TRACE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        asyncio.run(worker(*args.worker))
    else:
        if args.jobs < 100 or args.spacing <= 0:
            parser.error("--jobs must be at least 100 and --spacing above 0")
        asyncio.run(measure(args.jobs, args.spacing))


if __name__ == "__main__":
    main()
