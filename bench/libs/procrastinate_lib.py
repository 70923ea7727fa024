"""procrastinate on PostgreSQL (psycopg 3 async connector).

Enqueue: ``task.defer_async(i=…)`` one at a time and ``task.batch_defer_async(…)`` for
batches. Worker: ``app.run_worker_async(concurrency=C, listen_notify=True)`` over a
connection pool sized for the concurrency (``max_size`` = min(C, 20) + 2: the worker
holds one connection for LISTEN and one per in-flight job status update; the default
pool of 4 connections would cap it). procrastinate keeps finished jobs in
``procrastinate_jobs`` (status ``succeeded``) and logs events in ``procrastinate_events``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import asyncpg
import procrastinate

from .. import ledger
from ..common import drop_database, recreate_database
from .base import Adapter, chunks


async def _noop(i: int, sent: float | None = None) -> None:
    """The benchmark job: records its number (and pickup latency) in the ledger."""
    ledger.record(i, sent)


def _app(url: str, pool_max: int = 4) -> tuple[procrastinate.App, Any]:
    connector = procrastinate.PsycopgConnector(conninfo=url, min_size=1, max_size=pool_max)
    app = procrastinate.App(connector=connector)
    return app, app.task(name="noop")(_noop)


class ProcrastinateAdapter(Adapter):
    key: ClassVar[str] = "procrastinate"
    label: ClassVar[str] = "procrastinate"
    storage: ClassVar[str] = "postgresql"
    config_note: ClassVar[str] = (
        "psycopg pool max min(C,20)+2; run_worker_async(concurrency=C, listen_notify=True); batch_defer_async"
    )

    @classmethod
    async def provision(cls, workdir: Path) -> dict[str, Any]:
        url = await recreate_database("procrastinate")
        app, _task = _app(url)
        async with app.open_async():
            await app.schema_manager.apply_schema_async()
        return {"url": url}

    @classmethod
    async def teardown(cls, settings: dict[str, Any]) -> None:
        await drop_database("procrastinate")

    async def open(self) -> None:
        self.app, self.noop = _app(self.settings["url"])
        await self.app.open_async()
        self.admin = await asyncpg.connect(self.settings["url"])

    async def close(self) -> None:
        await self.app.close_async()
        await self.admin.close()

    async def reset(self) -> None:
        await self.admin.execute(
            "TRUNCATE procrastinate_jobs, procrastinate_events, procrastinate_periodic_defers,"
            " procrastinate_workers RESTART IDENTITY CASCADE"
        )

    async def enqueue_one(self, i: int, sent: float | None = None) -> None:
        if sent is None:
            await self.noop.defer_async(i=i)
        else:
            await self.noop.defer_async(i=i, sent=sent)

    async def enqueue_batch(self, numbers: Sequence[int]) -> None:
        await self.noop.batch_defer_async(*({"i": i} for i in numbers))

    async def prefill(self, n: int, *, delay: float = 0.0, first: int = 0) -> None:
        deferrer: Any = self.noop.configure(schedule_in={"seconds": delay}) if delay else self.noop
        for part in chunks(range(first, first + n), 5000):
            await deferrer.batch_defer_async(*({"i": i} for i in part))

    async def add_backlog(self, n: int) -> None:
        await self.prefill(n, first=10_000_000)
        await self.admin.execute(
            "UPDATE procrastinate_jobs SET status = 'succeeded', attempts = 1 WHERE status = 'todo'"
        )
        await self.admin.execute("VACUUM ANALYZE procrastinate_jobs")
        await self.admin.execute("VACUUM ANALYZE procrastinate_events")

    async def stored(self) -> int:
        return int(await self.admin.fetchval("SELECT count(*) FROM procrastinate_jobs WHERE status = 'todo'"))

    async def done(self) -> bool:
        return not await self.admin.fetchval(
            "SELECT EXISTS (SELECT 1 FROM procrastinate_jobs WHERE status IN ('todo', 'doing'))"
        )

    async def verify(self, completed: int) -> str | None:
        rows = await self.admin.fetch("SELECT status::text, count(*) FROM procrastinate_jobs GROUP BY status")
        states = {row[0]: row[1] for row in rows}
        if states != {"succeeded": completed}:
            return f"expected {completed} succeeded jobs, found {states}"
        return None

    async def run_worker(self, concurrency: int, ready: Callable[[], None], stop: asyncio.Event) -> None:
        app, _task = _app(self.settings["url"], pool_max=min(concurrency, 20) + 2)
        async with app.open_async():
            task = asyncio.create_task(
                app.run_worker_async(
                    concurrency=concurrency, listen_notify=True, install_signal_handlers=False
                )
            )
            await asyncio.sleep(0.5)  # the worker registers itself and LISTENs first
            if task.done():
                task.result()
            ready()
            await stop.wait()
            task.cancel()  # procrastinate: cancelling run_worker_async is a graceful stop
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, 30)
