"""Subprocess roles of the multi-process SQLite test: ``enqueue`` and ``work``.

Each prints one JSON line with its figures. ``database is locked`` seen anywhere (raised to
this caller or logged by the engine) is counted in ``locked_errors``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from typing import Any

import sqlite_jobs
from sidequest import QueueConfig, Sidequest
from sidequest_sqlite import SQLiteBackend


class LockedErrors(logging.Handler):
    """Counts log records mentioning a locked database (the engine logs and retries errors)."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0
        self.samples: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += f" {record.exc_info[1]}"
        if "locked" in text.lower() or "busy" in text.lower():
            self.count += 1
            self.samples.append(text[:300])


def busy_retries(sq: Sidequest) -> int:
    backend = sq.backend
    return backend.busy_retries if isinstance(backend, SQLiteBackend) else 0


async def enqueue(url: str, count: int, tasks: int) -> dict[str, Any]:
    sq = Sidequest(url)
    await sq.configure()
    ids: list[int] = []
    latencies: list[float] = []
    locked = 0

    async def producer(n: int) -> None:
        nonlocal locked
        for i in range(n):
            started = time.perf_counter()
            try:
                record = await sq.build(sqlite_jobs.Ledger).enqueue(i)
            except Exception as exc:
                if "locked" in str(exc).lower():
                    locked += 1
                raise
            latencies.append(time.perf_counter() - started)
            ids.append(record.id)

    share, extra = divmod(count, tasks)
    await asyncio.gather(*(producer(share + (1 if t < extra else 0)) for t in range(tasks)))
    retries = busy_retries(sq)
    await sq.close()
    first = latencies[0] if latencies else 0.0
    latencies.sort()
    return {
        "ids": ids,
        "busy_retries": retries,
        "locked_errors": locked,
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1) if latencies else 0,
        "max_ms": round(latencies[-1] * 1000, 1) if latencies else 0,
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 1) if latencies else 0,
        "first_ms": round(first * 1000, 1),
    }


async def work(url: str, total: int, deadline: float) -> dict[str, Any]:
    sq = Sidequest(
        url,
        poll_interval=0.05,
        max_concurrent_jobs=8,
        queues=[QueueConfig("default", concurrency=8)],
        cleanup_interval=None,
    )
    await sq.start()
    until = time.monotonic() + deadline
    while time.monotonic() < until:
        counts = await sq.jobs.count()
        if counts.completed >= total:
            break
        await asyncio.sleep(0.2)
    await sq.stop()
    retries = busy_retries(sq)
    stats = sq.stats
    await sq.close()
    return {"busy_retries": retries, "completed": stats.completed, "claimed": stats.claimed}


def main() -> None:
    handler = LockedErrors()
    logging.getLogger().addHandler(handler)
    role, url = sys.argv[1], sys.argv[2]
    if role == "enqueue":
        result = asyncio.run(enqueue(url, int(sys.argv[3]), int(sys.argv[4])))
    else:
        result = asyncio.run(work(url, int(sys.argv[3]), float(sys.argv[4])))
    result["locked_errors"] = result.get("locked_errors", 0) + handler.count
    result["locked_samples"] = handler.samples[:5]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
