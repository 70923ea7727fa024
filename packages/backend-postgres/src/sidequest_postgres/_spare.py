"""One connection of the backend's own pool kept out of it between statements.

asyncpg's pool takes three turns of the event loop to lend a connection and take it back
(about 40 µs of CPU on the benchmark machine, a quarter of a lone enqueue's Python time).
The backend's single statements (an enqueue, a claim, a batch of completions, a
heartbeat, a state change) run on the spare when it is free, and through the pool when it
is busy, so that concurrent statements never wait for each other.

The spare goes back to the pool on any error, a cancellation included: the pool waits out
the cancelled statement and replaces a broken connection. A spare whose session the
server ended is given back (the pool has usually taken it back already) and a fresh one
taken. It also goes back every ``RECYCLE_AFTER`` statements, and when the backend closes
(at once, or as soon as its statement is over).
"""

from __future__ import annotations

from typing import Any

from asyncpg import InterfaceError, Record
from asyncpg.pool import Pool, PoolConnectionProxy

SPARE_FROM_POOL_MAX = 2
"""A pool of fewer connections keeps no spare (the spare would be all of it)."""
RECYCLE_AFTER = 1000
"""Statements after which the spare goes back to the pool and another is taken, so that
the pool's own policies (``max_queries``, ``expire_connections()``) reach it too."""


class Spare:
    """The spare connection of one pool (none until the first statement needs it)."""

    def __init__(self, pool: Pool, *, enabled: bool) -> None:
        self._pool = pool
        self._enabled = enabled
        self._connection: PoolConnectionProxy[Record] | None = None
        self._statements = 0
        """Statements run on the current spare (it goes back after ``RECYCLE_AFTER``)."""
        self._busy = False
        self._closed = False

    async def fetch(self, sql: str, *args: Any) -> list[Record]:
        """``pool.fetch(sql, *args)``, on the spare when it is free."""
        if self._busy or self._closed or not self._enabled:
            return await self._pool.fetch(sql, *args)
        self._busy = True
        try:
            connection = self._connection
            if connection is None or _ended(connection):
                await self._give_back()  # (a no-op for a proxy the pool detached already)
                connection = self._connection = await self._pool.acquire()
                self._statements = 0
            rows: list[Record] = await connection.fetch(sql, *args)
        except BaseException:
            await self._give_back()
            raise
        finally:
            self._busy = False
        self._statements += 1
        if self._closed or self._statements >= RECYCLE_AFTER:
            await self._give_back()
        return rows

    async def close(self) -> None:
        """Give the spare back (now when idle; when its statement is over otherwise)."""
        self._closed = True
        if not self._busy:
            await self._give_back()

    async def _give_back(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await self._pool.release(connection)


def _ended(connection: PoolConnectionProxy[Record]) -> bool:
    """Whether the spare's session is over. When it ends, the pool takes the connection
    back by itself and detaches the proxy, whose methods then raise ``InterfaceError``."""
    try:
        return connection.is_closed()
    except InterfaceError:
        return True
