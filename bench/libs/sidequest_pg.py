"""sidequest on PostgreSQL (``sidequest_postgres``: asyncpg, SKIP LOCKED, LISTEN/NOTIFY).

Configuration: the defaults (pool of 10, notifications on, prefetch "auto"), one worker process running
``Sidequest(url, max_concurrent_jobs=C, queues=[QueueConfig("default", concurrency=C)])``
and ``await sq.start()``. Enqueue: ``sq.build(NoOp).enqueue(i)`` one at a time and
``sq.build(NoOp).enqueue_many([(i,), …])`` for batches.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import asyncpg
import sidequest_postgres.backend  # noqa: F401  (the backend is part of the library: imported before LOADED)
from sidequest import Job, QueueConfig, Sidequest

from .. import ledger
from ..common import drop_database, recreate_database
from .base import Adapter, chunks

SCHEMA = "sidequest"
JOBS = f"{SCHEMA}.sidequest_jobs"
LIVE = "('waiting', 'claimed', 'running')"
DONE = (  # by the claim and lease indexes: the table has no index on state, and a scan of the
    # finished rows took 4-9 ms at the end of a drain (pgqueuer's emptied table: 1-3 ms)
    f"SELECT (SELECT id FROM {JOBS} WHERE state = 'waiting' ORDER BY queue, available_at, id LIMIT 1) IS NULL"
    f" AND (SELECT id FROM {JOBS} WHERE state IN ('claimed', 'running') ORDER BY lease_expires_at LIMIT 1) IS NULL"
)


class NoOp(Job):
    """The benchmark job: records its number (and pickup latency) in the ledger."""

    async def run(self, i: int, sent: float | None = None) -> None:
        ledger.record(i, sent)


class SidequestAdapter(Adapter):
    """Common to both backends: the engine calls are the same."""

    sq: Sidequest

    def make(self, **options: Any) -> Sidequest:
        prefetch = os.environ.get("BENCH_SQ_PREFETCH", "auto")  # e.g. 0: compare without prefetch
        # BENCH_SQ_GC_THRESHOLD=none: leave the collector alone; BENCH_GC_THRESHOLD=N: every
        # library's workers at N (bench/worker.py), so sidequest's too
        collector = os.environ.get("BENCH_SQ_GC_THRESHOLD") or os.environ.get("BENCH_GC_THRESHOLD")
        if collector:
            options["gc_threshold"] = None if collector.lower() == "none" else int(collector)
        return Sidequest(
            self.settings["url"], prefetch=prefetch if prefetch == "auto" else int(prefetch), **options
        )

    async def open(self) -> None:
        self.sq = self.make()
        await self.sq.configure()

    async def close(self) -> None:
        await self.sq.close()

    async def enqueue_one(self, i: int, sent: float | None = None) -> None:
        if sent is None:
            await self.sq.build(NoOp).enqueue(i)
        else:
            await self.sq.build(NoOp).enqueue(i, sent)

    async def enqueue_batch(self, numbers: Sequence[int]) -> None:
        await self.sq.build(NoOp).enqueue_many([(i,) for i in numbers])

    async def prefill(self, n: int, *, delay: float = 0.0, first: int = 0) -> None:
        builder = self.sq.build(NoOp)
        if delay:
            builder = builder.delay(delay)
        for part in chunks(range(first, first + n), 5000):
            await builder.enqueue_many([(i,) for i in part])

    async def run_worker(self, concurrency: int, ready: Callable[[], None], stop: asyncio.Event) -> None:
        sq = self.make(
            max_concurrent_jobs=concurrency, queues=[QueueConfig("default", concurrency=concurrency)]
        )
        await sq.start()
        waiting = getattr(sq.backend, "wait_listening", None)
        if waiting is not None:
            await waiting(10)
        ready()
        await stop.wait()
        await sq.stop()
        await sq.close()


class SidequestPostgres(SidequestAdapter):
    key: ClassVar[str] = "sidequest-pg"
    label: ClassVar[str] = "sidequest (PostgreSQL)"
    storage: ClassVar[str] = "postgresql"
    config_note: ClassVar[str] = (
        "defaults (asyncpg pool ≤ 10, LISTEN/NOTIFY, prefetch auto); enqueue_many for batches"
    )

    @classmethod
    async def provision(cls, workdir: Path) -> dict[str, Any]:
        return {"url": await recreate_database("sidequest")}

    @classmethod
    async def teardown(cls, settings: dict[str, Any]) -> None:
        await drop_database("sidequest")

    async def open(self) -> None:
        await super().open()
        self.conn = await asyncpg.connect(self.settings["url"])

    async def close(self) -> None:
        await self.conn.close()
        await super().close()

    async def reset(self) -> None:
        # queue rows stay: each worker applies its QueueConfig at start
        await self.conn.execute(f"TRUNCATE {JOBS}, {SCHEMA}.sidequest_schedules RESTART IDENTITY")

    async def add_backlog(self, n: int) -> None:
        await self.prefill(n, first=10_000_000)
        await self.conn.execute(
            f"UPDATE {JOBS} SET state = 'completed', attempt = 1, claimed_at = now(),"
            " claimed_by = 'backlog', attempted_at = now(), completed_at = now() WHERE state = 'waiting'"
        )
        await self.conn.execute(f"VACUUM ANALYZE {JOBS}")

    async def stored(self) -> int:
        return int(await self.conn.fetchval(f"SELECT count(*) FROM {JOBS} WHERE state IN {LIVE}"))

    async def done(self) -> bool:
        return bool(await self.conn.fetchval(DONE))

    async def verify(self, completed: int) -> str | None:
        rows = await self.conn.fetch(f"SELECT state, count(*) FROM {JOBS} GROUP BY state")
        states = {row[0]: row[1] for row in rows}
        if states != {"completed": completed}:
            return f"expected {completed} completed jobs, found {states}"
        return None
