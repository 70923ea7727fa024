"""huey with SQLite storage (``SqliteHuey``), thread workers.

huey runs synchronous functions only, so its job is a plain ``def`` (the others are
``async def``). Enqueue: calling the task (one INSERT per call; huey has no batch
enqueue). Worker: ``huey.create_consumer(workers=C, worker_type="thread")`` with the
documented defaults for polling (0.1 s initial delay, backoff 1.15, max 10 s). Storage:
``fsync=False`` (its documented fast setting: ``PRAGMA synchronous=0``; sidequest's SQLite
uses WAL with ``synchronous=NORMAL``). huey deletes a task from its table when a worker
takes it (at-most-once: a crash loses it), so it keeps no finished jobs and has no
claimed/running state to update on completion.
"""

from __future__ import annotations

import datetime
import signal
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

from huey import SqliteHuey

from .. import ledger
from .base import Adapter, NotSupported, chunks


def _noop(i: int, sent: float | None = None) -> None:
    """The benchmark job: records its number (and pickup latency) in the ledger."""
    ledger.record(i, sent)


def make_huey(path: str) -> tuple[SqliteHuey, Any]:
    huey = SqliteHuey("bench", filename=path, fsync=False)
    task = huey.task(name="noop")(_noop)
    return huey, task


class HueyAdapter(Adapter):
    key: ClassVar[str] = "huey"
    label: ClassVar[str] = "huey (SQLite)"
    storage: ClassVar[str] = "sqlite"
    config_note: ClassVar[str] = "SqliteHuey(fsync=False), consumer workers=C, worker_type=thread; sync job"
    sync_worker: ClassVar[bool] = True

    @classmethod
    async def provision(cls, workdir: Path) -> dict[str, Any]:
        return {"path": str(workdir / "huey.db")}

    @classmethod
    async def teardown(cls, settings: dict[str, Any]) -> None:
        _remove(Path(settings["path"]))

    async def open(self) -> None:
        self.huey, self.task = make_huey(self.settings["path"])  # creates its tables

    async def close(self) -> None:
        self.huey.storage.close()

    async def reset(self) -> None:
        await self.close()
        _remove(Path(self.settings["path"]))
        await self.open()

    async def enqueue_one(self, i: int, sent: float | None = None) -> None:
        if sent is None:
            self.task(i)
        else:
            self.task(i, sent)

    async def enqueue_batch(self, numbers: Sequence[int]) -> None:
        raise NotSupported("huey has no batch enqueue")

    async def prefill(self, n: int, *, delay: float = 0.0, first: int = 0) -> None:
        # Not timed: serialize huey's own messages and insert them in one transaction.
        huey, storage = self.huey, self.huey.storage
        eta = datetime.datetime.now() + datetime.timedelta(seconds=delay) if delay else None
        for part in chunks(range(first, first + n), 5000):
            rows = []
            for i in part:
                message = self.task.s(i)
                if eta is not None:
                    message.eta = eta
                rows.append(huey.serialize_task(message))
            with storage.db(commit=True) as cursor:
                if eta is None:
                    cursor.executemany(
                        "INSERT INTO task (queue, data, priority) VALUES (?, ?, 0)",
                        [(storage.name, data) for data in rows],
                    )
                else:
                    cursor.executemany(
                        "INSERT INTO schedule (queue, data, timestamp) VALUES (?, ?, ?)",
                        [(storage.name, data, eta.timestamp()) for data in rows],
                    )

    async def stored(self) -> int:
        return int(self.huey.storage.queue_size()) + int(self.huey.storage.schedule_size())

    async def done(self) -> bool:
        return self.huey.storage.queue_size() == 0

    async def verify(self, completed: int) -> str | None:
        left = self.huey.storage.queue_size() + self.huey.storage.schedule_size()
        return None if left == 0 else f"{left} task(s) left in huey's tables"

    def run_worker_sync(self, concurrency: int, ready: Callable[[], None], stop: threading.Event) -> None:
        huey, _task = make_huey(self.settings["path"])
        consumer = huey.create_consumer(workers=concurrency, worker_type="thread", periodic=False)
        consumer.start()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())  # start() installed huey's own handlers
        time.sleep(0.2)
        ready()
        stop.wait()
        consumer.stop(graceful=True)


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(path) + suffix).unlink(missing_ok=True)
