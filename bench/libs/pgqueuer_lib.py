"""pgqueuer on PostgreSQL (asyncpg driver, its documented fast path).

Enqueue: ``Queries.enqueue("noop", payload)`` one at a time and the list form
``Queries.enqueue([...], [...], [...])`` for batches (one statement per batch). Worker:
``QueueManager`` over one asyncpg connection (what ``PgQueuer`` wraps, minus the
scheduler), an async entrypoint, ``run(batch_size=B, max_concurrent_tasks=C)``: at most C
jobs in flight per worker, which pgqueuer requires to be at least twice the dequeue batch,
so B = C / 2. pgqueuer deletes finished jobs from its queue table and appends them to
``pgqueuer_log`` (completions are buffered and written in batches).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

import asyncpg
from pgqueuer import AsyncpgDriver, Job, Queries, QueueManager

from .. import ledger
from ..common import drop_database, recreate_database
from .base import Adapter, chunks

ENTRYPOINT = "noop"


def _payload(i: int, sent: float | None) -> bytes:
    return (str(i) if sent is None else f"{i} {sent!r}").encode()


async def noop(job: Job) -> None:
    """The benchmark job: records its number (and pickup latency) in the ledger."""
    number, _, sent = (job.payload or b"").decode().partition(" ")
    ledger.record(int(number), float(sent) if sent else None)


class PgQueuerAdapter(Adapter):
    key: ClassVar[str] = "pgqueuer"
    label: ClassVar[str] = "pgqueuer"
    storage: ClassVar[str] = "postgresql"
    config_note: ClassVar[str] = (
        "asyncpg driver; QueueManager.run(batch_size=C/2, max_concurrent_tasks=C); list-form enqueue"
    )

    @classmethod
    async def provision(cls, workdir: Path) -> dict[str, Any]:
        url = await recreate_database("pgqueuer")
        conn = await asyncpg.connect(url)
        try:
            await Queries(AsyncpgDriver(conn)).install()
        finally:
            await conn.close()
        return {"url": url}

    @classmethod
    async def teardown(cls, settings: dict[str, Any]) -> None:
        await drop_database("pgqueuer")

    async def open(self) -> None:
        self.conn = await asyncpg.connect(self.settings["url"])
        self.queries = Queries(AsyncpgDriver(self.conn))
        self.admin = await asyncpg.connect(self.settings["url"])

    async def close(self) -> None:
        await self.conn.close()
        await self.admin.close()

    async def reset(self) -> None:
        await self.admin.execute("TRUNCATE pgqueuer, pgqueuer_log, pgqueuer_statistics RESTART IDENTITY")

    async def enqueue_one(self, i: int, sent: float | None = None) -> None:
        await self.queries.enqueue(ENTRYPOINT, _payload(i, sent))

    async def enqueue_batch(self, numbers: Sequence[int]) -> None:
        k = len(numbers)
        await self.queries.enqueue([ENTRYPOINT] * k, [_payload(i, None) for i in numbers], [0] * k)

    async def prefill(self, n: int, *, delay: float = 0.0, first: int = 0) -> None:
        after = timedelta(seconds=delay) if delay else None
        for part in chunks(range(first, first + n), 5000):
            k = len(part)
            await self.queries.enqueue(
                [ENTRYPOINT] * k, [_payload(i, None) for i in part], [0] * k, [after] * k
            )

    async def add_backlog(self, n: int) -> None:
        # pgqueuer keeps no finished job in its queue table: a busy system's history is
        # its log table. Enqueue, then finish them the way its log_jobs statement does.
        await self.prefill(n, first=10_000_000)
        await self.admin.execute(
            "WITH d AS (DELETE FROM pgqueuer RETURNING id, entrypoint, priority)"
            " INSERT INTO pgqueuer_log (job_id, status, entrypoint, priority)"
            " SELECT id, 'successful', entrypoint, priority FROM d"
        )
        await self.admin.execute("VACUUM ANALYZE pgqueuer")
        await self.admin.execute("VACUUM ANALYZE pgqueuer_log")

    async def stored(self) -> int:
        return int(await self.admin.fetchval("SELECT count(*) FROM pgqueuer WHERE status = 'queued'"))

    async def done(self) -> bool:
        return not await self.admin.fetchval("SELECT EXISTS (SELECT 1 FROM pgqueuer)")

    async def verify(self, completed: int) -> str | None:
        left = await self.admin.fetchval("SELECT count(*) FROM pgqueuer")
        rows = await self.admin.fetch(
            "SELECT status::text, count(*) FROM pgqueuer_log"
            " WHERE status NOT IN ('queued', 'picked') GROUP BY status"
        )
        states = {row[0]: row[1] for row in rows}
        if left or states != {"successful": completed}:
            return f"expected {completed} successful jobs, found {states} and {left} left in the queue"
        return None

    async def run_worker(self, concurrency: int, ready: Callable[[], None], stop: asyncio.Event) -> None:
        conn = await asyncpg.connect(self.settings["url"])
        qm = QueueManager(Queries(AsyncpgDriver(conn)))
        qm.entrypoint(ENTRYPOINT)(noop)
        batch = max(1, concurrency // 2)
        task = asyncio.create_task(qm.run(batch_size=batch, max_concurrent_tasks=max(concurrency, 2 * batch)))
        await asyncio.sleep(0.5)  # run() verifies the schema and LISTENs before its first dequeue
        if task.done():
            task.result()
        ready()
        await stop.wait()
        qm.shutdown.set()
        await asyncio.wait_for(task, 30)
        await conn.close()
