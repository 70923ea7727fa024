"""Connections: a lazily created asyncmy pool, session settings, transactions and retries.

Every connection runs with ``time_zone = '+00:00'`` (all "now" is ``UTC_TIMESTAMP(3)``), a
pinned ``sql_mode`` (strict, backslash escapes on, so ``LIKE … ESCAPE '\\'`` means what it
says), ``READ COMMITTED`` isolation (no gap locks behind ``SKIP LOCKED`` claims) and the
``FOUND_ROWS`` client flag, so an UPDATE reports the rows it *matched*: a fenced write that
matched its row counts as done even when it happened to write the same values.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncmy
from asyncmy.constants import CLIENT
from asyncmy.cursors import Cursor
from asyncmy.errors import MySQLError
from sidequest import ConfigurationError

from ._config import MySQLOptions

T = TypeVar("T")
Row = tuple[Any, ...]
SQL_MODE = "STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION,ERROR_FOR_DIVISION_BY_ZERO"
DUPLICATE_KEY = 1062
UNKNOWN_DATABASE = 1049
DEADLOCK = 1213
LOCK_WAIT_TIMEOUT = 1205
_RETRYABLE = frozenset({DEADLOCK, LOCK_WAIT_TIMEOUT})
_RETRIES = 8
_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)")


@dataclass(frozen=True)
class Server:
    """What the server is, found once with a probe connection."""

    version: str
    mariadb: bool
    numbers: tuple[int, int, int]

    @property
    def returning(self) -> bool:
        """``INSERT … RETURNING`` (MariaDB 10.5+; MySQL has none)."""
        return self.mariadb and self.numbers >= (10, 5, 0)

    def check(self) -> None:
        """Refuse servers without ``SELECT … FOR UPDATE SKIP LOCKED``."""
        minimum = (10, 6, 0) if self.mariadb else (8, 0, 1)
        if self.numbers < minimum:
            name = "MariaDB 10.6" if self.mariadb else "MySQL 8.0.1"
            raise ConfigurationError(
                f"sidequest-mysql needs {name} or newer (SKIP LOCKED); the server is {self.version}"
            )

    def session_settings(self) -> str:
        """One statement run on every new connection (asyncmy's ``init_command``)."""
        isolation = "tx_isolation" if self.mariadb else "transaction_isolation"
        return f"SET time_zone = '+00:00', sql_mode = '{SQL_MODE}', {isolation} = 'READ-COMMITTED'"


def parse_server(version: str) -> Server:
    match = _VERSION.match(version)
    numbers = (int(match[1]), int(match[2]), int(match[3])) if match else (0, 0, 0)
    return Server(version=version, mariadb="mariadb" in version.lower(), numbers=numbers)


def error_code(exc: BaseException) -> int | None:
    """The server's error number carried by a driver exception (None for other errors)."""
    if isinstance(exc, MySQLError) and exc.args and isinstance(exc.args[0], int):
        return exc.args[0]
    return None


class Database:
    """An asyncmy pool created on first use; the unit every query goes through."""

    def __init__(self, options: MySQLOptions) -> None:
        self.options = options
        self.server: Server | None = None
        self._pool: asyncmy.Pool | None = None
        self._lock: asyncio.Lock | None = None
        self._closed = False

    async def _connect(self) -> asyncmy.Pool:
        if self._closed:
            raise ConfigurationError("this MySQL backend is closed")
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._pool is None:
                probe = await asyncmy.connect(**self.options.connect_arguments())
                try:
                    async with probe.cursor() as cur:
                        await cur.execute("SELECT VERSION()")
                        (version,) = await cur.fetchone()
                finally:
                    await probe.ensure_closed()
                server = parse_server(str(version))
                server.check()
                self._pool = await asyncmy.create_pool(
                    minsize=self.options.pool_min,
                    maxsize=self.options.pool_max,
                    autocommit=True,
                    charset="utf8mb4",
                    client_flag=CLIENT.FOUND_ROWS,
                    init_command=server.session_settings(),
                    **self.options.connect_arguments(),
                )
                self.server = server
            return self._pool

    async def create_database(self) -> None:
        """``CREATE DATABASE IF NOT EXISTS`` the URL's database (utf8mb4), as its first migration."""
        arguments = self.options.connect_arguments()
        name = str(arguments.pop("database")).replace("`", "``")
        conn = await asyncmy.connect(**arguments)
        try:
            async with conn.cursor() as cur:
                await cur.execute(f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4")
        finally:
            await conn.ensure_closed()

    async def ready(self) -> Server:
        """Connect if needed; return the server description."""
        await self._connect()
        assert self.server is not None
        return self.server

    @asynccontextmanager
    async def cursor(self) -> AsyncIterator[Cursor]:
        """A cursor on a pooled connection in autocommit mode (one statement, one transaction)."""
        pool = self._pool or await self._connect()
        async with pool.acquire() as conn, conn.cursor() as cur:
            yield cur

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Cursor]:
        """A cursor inside ``BEGIN … COMMIT``; any exception rolls back (and is re-raised).

        A connection given back with a transaction still open (a cancelled task) is closed
        by the pool, never reused.
        """
        pool = self._pool or await self._connect()
        async with pool.acquire() as conn, conn.cursor() as cur:
            await conn.begin()
            try:
                yield cur
            except Exception:
                if conn.connected:
                    await conn.rollback()
                raise
            except BaseException:  # cancelled: drop the connection rather than wait on it
                conn.close()
                raise
            await conn.commit()

    async def fetch(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        async with self.cursor() as cur:
            await cur.execute(sql, args or None)
            return list(await cur.fetchall())

    async def fetch_one(self, sql: str, args: Sequence[Any] = ()) -> Row | None:
        rows = await self.fetch(sql, args)
        return rows[0] if rows else None

    async def execute(self, sql: str, args: Sequence[Any] = ()) -> int:
        """Run one statement; return the rows it matched."""
        async with self.cursor() as cur:
            return int(await cur.execute(sql, args or None))

    async def close(self) -> None:
        self._closed = True
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()
            try:
                await asyncio.wait_for(pool.wait_closed(), 10)
            except TimeoutError:
                pool.terminate()


async def retrying(operation: Callable[[], Awaitable[T]]) -> T:
    """Run ``operation`` again (whole, it rolled back) when InnoDB picked it as a deadlock victim."""
    for attempt in range(_RETRIES):
        try:
            return await operation()
        except MySQLError as exc:
            if error_code(exc) not in _RETRYABLE or attempt == _RETRIES - 1:
                raise
        await asyncio.sleep(random.uniform(0.001, 0.005) * (attempt + 1))
    raise AssertionError("unreachable")
