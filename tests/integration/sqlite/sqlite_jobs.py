"""Job classes for the SQLite tests (importable by name, also from worker subprocesses)."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from sidequest import Job, Sidequest

RUNS: dict[str, int] = {}
"""Executions per key, counted in this process."""
ENGINE: dict[str, Sidequest] = {}
"""The engine a chaining job enqueues its child with (set by the test)."""


def count(key: str) -> int:
    RUNS[key] = RUNS.get(key, 0) + 1
    return RUNS[key]


class Echo(Job):
    async def run(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return {"args": list(args), "kwargs": kwargs, "attempt": self.attempt}


class GivesUp(Job):
    async def run(self) -> Any:
        return self.fail("invalid address")


class FailsUntil(Job):
    """Raises until attempt ``n``, then returns the attempt."""

    async def run(self, n: int) -> int:
        if self.attempt < n:
            raise RuntimeError(f"attempt {self.attempt} fails")
        return self.attempt


class SnoozesOnce(Job):
    async def run(self, key: str, delay: float) -> Any:
        if count(key) == 1:
            return self.snooze(delay)
        return {"attempt": self.attempt, "runs": RUNS[key]}


class Sleeps(Job):
    async def run(self, seconds: float) -> str:
        await asyncio.sleep(seconds)
        return "slept"


class Child(Job):
    async def run(self, parent: int) -> dict[str, int]:
        return {"parent": parent}


class Parent(Job):
    """Enqueues a ``Child`` from inside ``run`` (job chaining) and returns its id."""

    async def run(self, children: int) -> list[int]:
        sq = ENGINE["sq"]
        ids = []
        for _ in range(children):
            record = await sq.build(Child).enqueue(self.id)
            ids.append(record.id)
        return ids


class Ledger(Job):
    """Appends its id to this process's ledger file (multi-process exactly-once test)."""

    async def run(self, n: int) -> int:
        _append(os.path.join(os.environ["SQ_LEDGER_DIR"], f"ledger-{os.getpid()}.txt"), f"{self.id}\n")
        await asyncio.sleep(0.001)
        return n


def _append(path: str, line: str) -> None:
    with open(path, "a", encoding="utf-8") as ledger:
        ledger.write(line)
