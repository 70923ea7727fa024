"""Parts of the hot path measured on their own, for changes too small to see in a drain.

    uv run --group bench python bench/components.py engine [--concurrency 100] [--jobs 30000]
    uv run --group bench python bench/components.py pg-claim [--jobs 20000]
    uv run --group bench python bench/components.py pg-batches [--batches 60]

- ``engine``: the engine's own CPU time per job (claim loop, task, run, hand-over to the
  completion batch) over a backend that does next to nothing: claims pop ready-made
  records from a list, completions return at once. Prints the minimum and the median over
  ``--repeat`` runs.
- ``pg-claim``: Python CPU per job of the PostgreSQL backend's ``claim_and_start`` (claims
  of 100, asyncpg's decoding included) and of ``complete_many`` over the same jobs.
- ``pg-batches``: wall time of ``enqueue_many`` batches of 1,000 on PostgreSQL, as
  percentiles over ``--batches`` batches (a batch overlaps Python with the server, so CPU
  time does not tell its speed; the 10th percentile is the least disturbed by a noisy
  machine).

Compare two versions by running the same command in each (alternating, several times):
the machine's noise is larger than most single changes.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)  # import as the ``bench`` package (and never shadow stdlib modules)

from sidequest import Job, QueueConfig, Sidequest  # noqa: E402
from sidequest.backend import JobRecord, JobState, MemoryBackend, make_job_record  # noqa: E402

from bench.common import drop_database, recreate_database  # noqa: E402


class Nothing(Job):
    """A job that does nothing (no ledger: these measurements check no execution record)."""

    async def run(self, i: int) -> None:
        return None


class Instant(MemoryBackend):
    """Claims pop ready-made running records; completions succeed at once (one loop step each)."""

    notifies = True

    def fill(self, n: int) -> None:
        now = datetime.now(UTC)
        self.ready: collections.deque[JobRecord] = collections.deque(
            make_job_record(
                i, "default", JobState.RUNNING, __name__, "Nothing", (i,), {}, (), 1, 5, now, now, None,
                None, (), now, None, None, None, now, "worker", None, None, None, "exponential",
                uuid.uuid4().hex, now, None,
            )
            for i in range(1, n + 1)
        )  # fmt: skip

    async def claim_and_start(self, queue: str, limit: int, worker_id: str, lease: float) -> list[JobRecord]:
        ready, out = self.ready, []
        while ready and len(out) < limit:
            out.append(ready.popleft())
        await asyncio.sleep(0)
        return out

    async def complete_many(self, items: Sequence[tuple[int, str, Any]]) -> set[int]:
        await asyncio.sleep(0)
        return {job_id for job_id, _, _ in items}


async def engine(args: argparse.Namespace) -> None:
    n, c = args.jobs, args.concurrency
    costs = []
    for _ in range(args.repeat):
        backend = Instant()
        sq = Sidequest(
            backend, jobs=[Nothing], max_concurrent_jobs=c, queues=[QueueConfig("default", concurrency=c)]
        )
        await sq.configure()
        backend.fill(n)
        cpu = time.process_time()
        await sq.start()
        while sq.stats.completed < n:
            await asyncio.sleep(0.002)
        costs.append((time.process_time() - cpu) / n * 1e6)
        await sq.stop()
    print(
        f"engine, 1 worker × {c}, {n:,} jobs: {min(costs):.2f} µs of CPU per job at best, "
        f"{statistics.median(costs):.2f} median ({args.repeat} runs)"
    )


@contextlib.asynccontextmanager
async def fresh_postgres() -> AsyncIterator[Sidequest]:
    """A configured engine on a fresh database, dropped afterwards."""
    sq = Sidequest(await recreate_database("components"), jobs=[Nothing])
    try:
        await sq.configure()
        yield sq
    finally:
        await sq.close()
        await drop_database("components")


async def pg_claim(args: argparse.Namespace) -> None:
    async with fresh_postgres() as sq:
        for start in range(0, args.jobs, 5000):
            await sq.build(Nothing).enqueue_many([(i,) for i in range(start, min(start + 5000, args.jobs))])
        backend: Any = sq.backend
        claiming = completing = 0.0
        while True:
            cpu = time.process_time()
            records = await backend.claim_and_start("default", 100, "worker", 60.0)
            claimed = time.process_time()
            if not records:
                break
            await backend.complete_many([(r.id, r.lease_token, None) for r in records])
            claiming += claimed - cpu
            completing += time.process_time() - claimed
    n = args.jobs
    print(
        f"PostgreSQL, claims of 100, Python per job: claim_and_start {claiming / n * 1e6:.2f} µs, "
        f"complete_many {completing / n * 1e6:.2f} µs"
    )


async def pg_batches(args: argparse.Namespace) -> None:
    times = []
    async with fresh_postgres() as sq:
        builder = sq.build(Nothing)
        await builder.enqueue_many([(i,) for i in range(1000)])  # connections and statements warm
        for _ in range(args.batches):
            batch = [(i,) for i in range(1000)]
            start = time.perf_counter()
            await builder.enqueue_many(batch)
            times.append((time.perf_counter() - start) * 1000)
    p10 = statistics.quantiles(times, n=10)[0]
    p25, p50, _ = statistics.quantiles(times, n=4)
    print(
        f"PostgreSQL enqueue_many of 1,000, wall per batch over {args.batches}: "
        f"p10 {p10:.2f} ms, p25 {p25:.2f} ms, median {p50:.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("part", choices=("engine", "pg-claim", "pg-batches"))
    parser.add_argument("--jobs", type=int, default=None, help="jobs (engine: 30,000; pg-claim: 20,000)")
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=7, help="runs of the engine measurement")
    parser.add_argument("--batches", type=int, default=60)
    args = parser.parse_args()
    if args.jobs is None:
        args.jobs = 30_000 if args.part == "engine" else 20_000
    part = {"engine": engine, "pg-claim": pg_claim, "pg-batches": pg_batches}[args.part]
    asyncio.run(part(args))


if __name__ == "__main__":
    main()
