"""A stdlib ``sqlite3`` connection owned by one thread; each call runs a whole unit of work there.

An event loop must not block on SQLite, so the connection lives on a thread of its own.
Handing that thread a complete unit (``BEGIN IMMEDIATE``, the statements, ``COMMIT``)
costs one round trip between the loop and the thread, where a statement-by-statement
async driver pays one per statement.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


class ThreadConnection:
    """``await conn.run(fn)`` calls ``fn(connection)`` on the connection's own thread.

    Calls run one at a time in the order they were made. A caller that is cancelled stops
    waiting, but its call still runs to the end (a unit of work is never cut in half).
    """

    def __init__(self, connection: sqlite3.Connection, thread: ThreadPoolExecutor) -> None:
        self._connection = connection
        self._thread = thread

    @classmethod
    async def open(cls, location: str) -> ThreadConnection:
        """Connect on a new thread (autocommit mode: transactions are explicit)."""
        thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sidequest-sqlite")
        try:
            connection = await asyncio.get_running_loop().run_in_executor(thread, _connect, location)
        except BaseException:
            thread.shutdown(wait=False)
            raise
        return cls(connection, thread)

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, self._connection)

    async def close(self) -> None:
        """Close after the calls already queued; the thread ends with it."""
        try:
            await self.run(sqlite3.Connection.close)
        finally:
            self._thread.shutdown(wait=False)


def _connect(location: str) -> sqlite3.Connection:
    connection = sqlite3.connect(location, isolation_level=None)
    connection.row_factory = sqlite3.Row
    return connection
