"""A cross-process writer queue: an advisory ``flock`` on a side file, taken around each write.

SQLite's busy handler polls for the write lock with sleeps growing to 100 ms, so under
multi-process contention a writer can wait hundreds of milliseconds while others take the
lock again and again. Waiting in ``flock`` instead wakes the next writer as soon as the lock
is released. This is only an optimisation: SQLite's own locking (``BEGIN IMMEDIATE`` with
``busy_timeout``) still decides, so a wait that takes too long is abandoned and the write
proceeds without it. Not available (a no-op) where ``fcntl`` is missing.
"""

from __future__ import annotations

import asyncio
import os
import threading

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


class WriteLock:
    """``async with lock.hold(): ...`` around a write transaction (best effort)."""

    def __init__(self, path: str | None, patience: float) -> None:
        self._path = path if fcntl is not None else None
        self._patience = patience
        self._fd: int | None = None
        self._mutex = threading.Lock()
        self.enabled = self._path is not None

    def _open(self) -> int | None:
        if self._fd is None and self._path is not None:
            try:
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError:
                self._path = None  # read-only directory and the like: rely on SQLite alone
                self.enabled = False
        return self._fd

    async def acquire(self) -> bool:
        """Take the lock; False when it is unavailable or the wait ran out of patience."""
        fd = self._open()
        if fd is None:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            pass
        except OSError:
            return False
        loop = asyncio.get_running_loop()
        acquired: asyncio.Future[bool] = loop.create_future()
        state = {"abandoned": False, "held": False}
        threading.Thread(
            target=self._wait, args=(fd, loop, acquired, state), name="sidequest-sqlite-lock", daemon=True
        ).start()
        try:
            return await asyncio.wait_for(asyncio.shield(acquired), self._patience)
        except TimeoutError:
            self._abandon(state)
            return False
        except asyncio.CancelledError:
            self._abandon(state)
            raise

    def _abandon(self, state: dict[str, bool]) -> None:
        """Stop waiting: a lock the waiting thread takes later is given back at once."""
        with self._mutex:
            state["abandoned"] = True
            held = state["held"]
        if held:
            self.release()

    def _wait(
        self, fd: int, loop: asyncio.AbstractEventLoop, done: asyncio.Future[bool], state: dict[str, bool]
    ) -> None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:
            loop.call_soon_threadsafe(_settle, done, False)
            return
        with self._mutex:
            if state["abandoned"]:
                fcntl.flock(fd, fcntl.LOCK_UN)
                return
            state["held"] = True
        loop.call_soon_threadsafe(_settle, done, True)

    def release(self) -> None:
        if self._fd is not None:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            except OSError:
                pass

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _settle(future: asyncio.Future[bool], value: bool) -> None:
    if not future.done():
        future.set_result(value)
