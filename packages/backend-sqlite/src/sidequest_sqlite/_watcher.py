"""Cross-process wake-ups: notice commits by other connections through ``PRAGMA data_version``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

log = logging.getLogger("sidequest.sqlite")
WATCH_INTERVAL = 0.005
"""Seconds between checks: a read of a counter in shared memory, no disk I/O."""


class CommitWatcher:
    """Calls ``on_change`` (on the event loop) soon after another connection commits.

    SQLite has no notifications; ``data_version`` changes whenever a different connection
    commits to the file, so a worker sees enqueues from other processes within a few
    milliseconds. Polling by the dispatcher stays the correctness path.
    """

    def __init__(self, path: str, busy_timeout_ms: int, on_change: Callable[[], None]) -> None:
        self._path = path
        self._busy_timeout_ms = busy_timeout_ms
        self._on_change = on_change
        self._task: asyncio.Task[None] | None = None
        self._stop = False

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._stop = False
            self._task = asyncio.get_running_loop().create_task(self._watch(), name="sidequest-sqlite-watch")

    async def stop(self) -> None:
        self._stop = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        # One thread owns the connection: a check still running when the task is cancelled
        # finishes before the close queued behind it (sqlite3 must not be used concurrently).
        thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sidequest-sqlite-watch")
        conn: sqlite3.Connection | None = None
        try:
            conn = await loop.run_in_executor(thread, self._open)
            last = await loop.run_in_executor(thread, _version, conn)
            while not self._stop:
                await asyncio.sleep(WATCH_INTERVAL)
                try:
                    current = await loop.run_in_executor(thread, _version, conn)
                except sqlite3.Error as exc:
                    log.debug("data_version check failed: %s", exc)
                    continue
                if current != last:
                    last = current
                    self._on_change()
        finally:
            if conn is not None:
                thread.submit(conn.close)
            thread.shutdown(wait=False)

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
        return conn


def _version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA data_version").fetchone()[0])
