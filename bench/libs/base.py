"""The interface every library adapter implements (parent side and worker side)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar


class NotSupported(Exception):
    """The library has no such feature (the table shows n/a)."""


class Adapter:
    """One library on one database.

    Parent side: ``provision`` (fresh database) → ``open`` → per repetition ``reset`` and the
    workload's calls → ``close`` → ``teardown``. Worker side (in ``bench/worker.py``):
    ``run_worker`` (or ``run_worker_sync``) until ``stop`` is set.

    Jobs are numbered 0..n-1; a job's body is ``bench.ledger.record(i, sent)`` and nothing
    else (async where the library supports async jobs).
    """

    key: ClassVar[str]
    label: ClassVar[str]
    storage: ClassVar[str]  # "postgresql", "sqlite" or "mysql"
    config_note: ClassVar[str] = ""
    sync_worker: ClassVar[bool] = False

    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = settings

    # provisioning ---------------------------------------------------------------------------
    @classmethod
    async def provision(cls, workdir: Path) -> dict[str, Any]:
        """Create a fresh database; returns the settings handed to every instance."""
        raise NotImplementedError

    @classmethod
    async def teardown(cls, settings: dict[str, Any]) -> None:
        """Drop what ``provision`` created."""

    # parent side ------------------------------------------------------------------------------
    async def open(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    async def reset(self) -> None:
        """Empty every table (a fresh start for the next repetition)."""
        raise NotImplementedError

    async def enqueue_one(self, i: int, sent: float | None = None) -> None:
        raise NotImplementedError

    async def enqueue_batch(self, numbers: Sequence[int]) -> None:
        raise NotSupported("no batch enqueue")

    async def prefill(self, n: int, *, delay: float = 0.0, first: int = 0) -> None:
        """Store jobs ``first..first+n-1`` as fast as possible (not timed); ``delay``: seconds
        until they become available."""
        raise NotImplementedError

    async def add_backlog(self, n: int) -> None:
        """Leave ``n`` finished jobs in the tables, as a busy system would have."""
        raise NotSupported("does not keep finished jobs")

    async def stored(self) -> int:
        """Jobs currently stored and not finished (enqueue checks)."""
        raise NotImplementedError

    async def done(self) -> bool:
        """True once no job is waiting or running (the drain is complete in the database)."""
        raise NotImplementedError

    async def verify(self, completed: int) -> str | None:
        """None when the database holds exactly ``completed`` successfully finished jobs and
        nothing failed, waiting or running; else what is wrong."""
        raise NotImplementedError

    # worker side --------------------------------------------------------------------------------
    async def run_worker(self, concurrency: int, ready: Callable[[], None], stop: asyncio.Event) -> None:
        raise NotImplementedError

    def run_worker_sync(self, concurrency: int, ready: Callable[[], None], stop: threading.Event) -> None:
        raise NotImplementedError


def chunks(numbers: Sequence[int] | range, size: int) -> list[Sequence[int]]:
    return [numbers[k : k + size] for k in range(0, len(numbers), size)]
