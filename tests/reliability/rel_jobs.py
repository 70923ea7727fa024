"""Jobs for the fault tests. Each execution appends a line to a ledger file outside the database."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from sidequest import Job

LEDGER_ENV = "SIDEQUEST_LEDGER_DIR"


def record_execution(job: Job) -> None:
    """Append ``job_id attempt pid`` to this process's ledger file (O_APPEND: atomic lines)."""
    directory = Path(os.environ[LEDGER_ENV])
    with open(directory / f"exec-{os.getpid()}.log", "a") as handle:
        handle.write(f"{job.id} {job.attempt} {os.getpid()} {time.time():.3f}\n")


class Work(Job):
    async def run(self, seconds: float = 0.0) -> str:
        record_execution(self)
        if seconds:
            await asyncio.sleep(seconds)
        return "done"


class SyncWork(Job):
    def run(self, seconds: float = 0.0) -> str:
        record_execution(self)
        time.sleep(seconds)
        return "done"


class Poison(Job):
    """Kills the whole worker process it runs in."""

    async def run(self) -> None:
        record_execution(self)
        os._exit(1)
