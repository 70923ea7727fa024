"""Connections: one writer (``BEGIN IMMEDIATE`` transactions) and a few readers, with busy retries.

Every connection gets the same pragmas (WAL, ``busy_timeout``, ``foreign_keys``,
``synchronous=NORMAL``). Writes in this process queue on an ``asyncio.Lock`` in front of
the single writer connection; between processes, a ``flock`` writer queue (``_writelock``)
takes turns of at most ``TURN`` seconds, and SQLite's file lock with its ``busy_timeout``
remains the arbiter. A ``database is locked`` that still escapes is retried here with
backoff and counted in ``busy_retries``: it never reaches callers.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import random
import sqlite3
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from sidequest import ConfigurationError, SidequestError

from ._sql import lower
from ._thread import ThreadConnection
from ._url import Target
from ._writelock import WriteLock

T = TypeVar("T")
Rows = list[sqlite3.Row]
Params = Sequence[Any] | dict[str, Any]
Work = Callable[[sqlite3.Connection], T]
"""A unit of work: plain ``sqlite3`` calls, run on the connection's thread inside one transaction."""

DEFAULT_BUSY_TIMEOUT_MS = 5000
TURN = 0.005
"""Longest time this process keeps the cross-process writer lock while it has writes queued."""
_BUSY_CODES = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def is_busy(exc: BaseException) -> bool:
    """True for SQLITE_BUSY / SQLITE_LOCKED (``database is locked``)."""
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int) and code & 0xFF in _BUSY_CODES:
        return True
    message = str(exc).lower()
    return "database is locked" in message or "database is busy" in message or "is locked" in message


class Connections:
    """The connections of one backend instance (an in-memory database uses just one)."""

    def __init__(
        self,
        target: Target,
        *,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
        readers: int = 2,
        max_busy_wait: float = 120.0,
    ) -> None:
        self.target = target
        self.busy_timeout_ms = busy_timeout_ms
        self.reader_count = 0 if target.memory else readers
        self.max_busy_wait = max_busy_wait
        self.busy_retries = 0
        """``database is locked`` errors retried (after SQLite's own ``busy_timeout`` wait)."""
        self._writer: ThreadConnection | None = None
        self._readers: list[ThreadConnection] = []
        self._next_reader = itertools.count()
        self._write_lock = asyncio.Lock()
        lock_path = None if target.path is None else f"{target.path}-sidequest.lock"
        self._writers = WriteLock(lock_path, patience=busy_timeout_ms / 1000)
        self._queued = 0
        self._turn_started: float | None = None
        """When this process took the cross-process writer lock (None: not held)."""
        self._open_lock = asyncio.Lock()
        self._closed = False

    # opening ------------------------------------------------------------------------------
    async def _connect(self, *, reader: bool) -> ThreadConnection:
        location = ":memory:" if self.target.path is None else self.target.path
        try:
            conn = await ThreadConnection.open(location)
        except sqlite3.Error as exc:
            raise ConfigurationError(f"cannot open SQLite database {location!r}: {exc}") from exc
        try:
            await self._retry(lambda: conn.run(functools.partial(self._configure, reader=reader)))
        except BaseException:
            await conn.close()
            raise
        return conn

    def _configure(self, conn: sqlite3.Connection, *, reader: bool) -> None:
        conn.create_function("sq_lower", 1, lower, deterministic=True)
        conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
        if not self.target.memory:
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA temp_store = MEMORY")
        if reader:
            conn.execute("PRAGMA query_only = ON")

    async def _ensure_open(self) -> ThreadConnection:
        if self._closed:
            raise SidequestError("this SQLite backend is closed")
        if self._writer is None:
            async with self._open_lock:
                if self._writer is None:
                    self._writer = await self._connect(reader=False)
                    try:
                        for _ in range(self.reader_count):
                            self._readers.append(await self._connect(reader=True))
                    except BaseException:
                        await self.close()
                        raise
        return self._writer

    async def settings(self) -> list[dict[str, Any]]:
        """The pragmas of every connection (writer first): a diagnostic for tests and support."""
        writer = await self._ensure_open()
        names = ("busy_timeout", "journal_mode", "synchronous", "foreign_keys", "query_only")
        found = []
        for conn in (writer, *self._readers):
            values: dict[str, Any] = {}
            for name in names:
                rows = await self._retry(lambda: conn.run(fetch(f"PRAGMA {name}")))  # noqa: B023
                values[name] = rows[0][0]
            found.append(values)
        return found

    async def close(self) -> None:
        """Close every connection; later calls raise."""
        self._closed = True
        connections = [c for c in (self._writer, *self._readers) if c is not None]
        self._writer, self._readers = None, []
        async with self._write_lock:
            for conn in connections:
                try:
                    await conn.close()
                except (sqlite3.Error, ValueError):
                    pass
            self._writers.close()

    # work ---------------------------------------------------------------------------------
    async def write(self, work: Work[T]) -> T:
        """Run ``work(conn)`` in one ``BEGIN IMMEDIATE`` transaction (retried when busy).

        The whole transaction is one call on the writer's thread. It is shielded: a
        cancelled caller does not release the writer lock while it is still running.
        """
        writer = await self._ensure_open()
        task = asyncio.ensure_future(self._serialized(writer, work))
        task.add_done_callback(_consume)
        return await asyncio.shield(task)

    async def execute(self, sql: str, params: Params = ()) -> Rows:
        """One write statement in its own ``BEGIN IMMEDIATE`` transaction; its rows."""
        return await self.write(fetch(sql, params))

    async def _serialized(self, conn: ThreadConnection, work: Work[T]) -> T:
        self._queued += 1
        try:
            await self._write_lock.acquire()
        finally:
            self._queued -= 1
        try:
            if self._closed:
                raise SidequestError("this SQLite backend is closed")
            if self._turn_started is None and await self._writers.acquire():
                self._turn_started = time.monotonic()
            return await self._retry(lambda: conn.run(functools.partial(_transaction, work=work)))
        finally:
            self._end_turn()
            self._write_lock.release()

    def _end_turn(self) -> None:
        """Keep the writer lock for queued local writes, up to ``TURN`` seconds, then hand it on."""
        started = self._turn_started
        if started is None:
            return
        if self._queued and not self._closed and time.monotonic() - started < TURN:
            return
        self._turn_started = None
        self._writers.release()

    async def read(self, sql: str, params: Params = ()) -> Rows:
        """One read statement on a reader connection (the writer for ``:memory:``)."""
        writer = await self._ensure_open()
        statement = fetch(sql, params)
        if not self._readers:
            async with self._write_lock:
                return await self._retry(lambda: writer.run(statement))
        reader = self._readers[next(self._next_reader) % len(self._readers)]
        return await self._retry(lambda: reader.run(statement))

    async def _retry(self, attempt: Callable[[], Awaitable[T]]) -> T:
        deadline = time.monotonic() + self.max_busy_wait
        for tries in itertools.count():
            try:
                return await attempt()
            except sqlite3.OperationalError as exc:
                if not is_busy(exc):
                    raise
                if time.monotonic() >= deadline:
                    raise SidequestError(
                        f"the SQLite database {self.target.path or ':memory:'} stayed locked for "
                        f"{self.max_busy_wait:.0f} s (another process holds a long write transaction)"
                    ) from exc
                self.busy_retries += 1
                await asyncio.sleep(min(0.25, 0.002 * 2**tries) * (0.5 + random.random()))
        raise AssertionError("unreachable")


def fetch(sql: str, params: Params = ()) -> Callable[[sqlite3.Connection], Rows]:
    """A unit of work running one statement and returning its rows."""

    def statement(conn: sqlite3.Connection) -> Rows:
        return conn.execute(sql, params).fetchall()

    return statement


def _transaction(conn: sqlite3.Connection, work: Work[T]) -> T:
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = work(conn)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return result


def _consume(task: asyncio.Future[Any]) -> None:
    """Retrieve a shielded transaction's exception when its caller was cancelled."""
    if not task.cancelled():
        task.exception()
