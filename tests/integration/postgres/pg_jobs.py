"""Job classes for the PostgreSQL tests (importable by worker subprocesses too)."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import asyncpg
from sidequest import Job

SNOOZED: set[str] = set()
"""Keys of ``SnoozesOnce`` jobs that already snoozed (in-process tests only)."""

LEDGER_URL = "SQ_LEDGER_URL"
LEDGER_TABLE = "SQ_LEDGER_TABLE"
_ledger_pool: asyncpg.Pool | None = None
_ledger_lock = asyncio.Lock()


class Echo(Job):
    async def run(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return {"args": list(args), "kwargs": kwargs, "attempt": self.attempt}


class FailsUntil(Job):
    """Raises until attempt ``n``, then returns the attempt."""

    async def run(self, n: int) -> int:
        if self.attempt < n:
            raise RuntimeError(f"attempt {self.attempt} fails")
        return self.attempt


class GivesUp(Job):
    async def run(self) -> Any:
        return self.fail("invalid address")


class SnoozesOnce(Job):
    async def run(self, key: str, delay: float) -> Any:
        if key not in SNOOZED:
            SNOOZED.add(key)
            return self.snooze(delay)
        return {"attempt": self.attempt}


class Sleeps(Job):
    async def run(self, seconds: float) -> str:
        await asyncio.sleep(seconds)
        return "slept"


class WaitsForAbort(Job):
    """Runs until aborted (cancel or timeout), then raises."""

    async def run(self) -> None:
        reason = await self.abort_signal.wait()
        raise RuntimeError(f"stopping because {reason}")


class Ledger(Job):
    """Records its execution in the ledger table named by the environment (exactly-once checks)."""

    async def run(self, n: int) -> int:
        pool = await _pool()
        await pool.execute(
            f"INSERT INTO {os.environ[LEDGER_TABLE]} AS l (job_id, runs) VALUES ($1, 1)"
            " ON CONFLICT (job_id) DO UPDATE SET runs = l.runs + 1",
            self.id,
        )
        return n


async def _pool() -> asyncpg.Pool:
    global _ledger_pool
    async with _ledger_lock:
        if _ledger_pool is None:
            _ledger_pool = await asyncpg.create_pool(os.environ[LEDGER_URL], min_size=1, max_size=4)
    return _ledger_pool


async def close_ledger() -> None:
    global _ledger_pool
    if _ledger_pool is not None:
        await _ledger_pool.close()
        _ledger_pool = None
