"""Job classes for the MySQL tests (importable by worker subprocesses too)."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import asyncmy
from mysql_support import connect_arguments
from sidequest import Job

LEDGER_URL = "SQ_MYSQL_LEDGER_URL"
LEDGER_DATABASE = "SQ_MYSQL_LEDGER_DATABASE"
_pool: asyncmy.Pool | None = None
_lock = asyncio.Lock()


class Echo(Job):
    async def run(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return {"args": list(args), "kwargs": kwargs, "attempt": self.attempt}


class FailsUntil(Job):
    """Raises until attempt ``n``, then returns the attempt."""

    async def run(self, n: int) -> int:
        if self.attempt < n:
            raise RuntimeError(f"attempt {self.attempt} fails")
        return self.attempt


class Ledger(Job):
    """Records each execution in the ``ledger`` table (exactly-once checks)."""

    async def run(self, n: int) -> int:
        pool = await _ledger()
        async with pool.acquire() as conn, conn.cursor() as cur:
            await cur.execute(
                "INSERT INTO ledger (job_id, runs, pid) VALUES (%s, 1, %s)"
                " ON DUPLICATE KEY UPDATE runs = runs + 1",
                (self.id, os.getpid()),
            )
        return n


async def _ledger() -> asyncmy.Pool:
    global _pool
    async with _lock:
        if _pool is None:
            arguments = connect_arguments(os.environ[LEDGER_URL], os.environ[LEDGER_DATABASE])
            _pool = await asyncmy.create_pool(minsize=1, maxsize=4, **arguments)
    return _pool


async def close_ledger() -> None:
    global _pool
    if _pool is not None:
        _pool.close()
        await _pool.wait_closed()
        _pool = None
