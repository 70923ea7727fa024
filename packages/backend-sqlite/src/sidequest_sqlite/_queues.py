"""Queues: the ``sidequest_queues`` table as ``QueueRecord`` values."""

from __future__ import annotations

import sqlite3
from typing import Any

from sidequest import ConfigurationError, QueueNotFoundError
from sidequest.backend import QueueRecord, QueueState, check_concurrency, check_order

from ._connections import Connections, Rows
from ._sql import QUEUES, queue_from_row

_INSERT = f"INSERT INTO {QUEUES} (name, concurrency, priority, state) VALUES (?, ?, ?, ?)"


def _params(queue: QueueRecord) -> tuple[Any, ...]:
    return (queue.name, queue.concurrency, int(queue.priority), QueueState(queue.state).value)


class QueueStore:
    """Queue operations of the SQLite backend."""

    def __init__(self, db: Connections) -> None:
        self._db = db

    async def get(self, name: str) -> QueueRecord | None:
        rows = await self._db.read(f"SELECT * FROM {QUEUES} WHERE name = ?", (name,))
        return queue_from_row(rows[0]) if rows else None

    async def list(self, order_by: str, descending: bool) -> list[QueueRecord]:
        check_order(order_by)  # an allow-list: safe to put in the SQL text
        direction = "DESC" if descending else "ASC"
        sql = f"SELECT * FROM {QUEUES} ORDER BY {order_by} {direction}, name {direction}"
        rows = await self._db.read(sql)
        return [queue_from_row(row) for row in rows]

    async def create(self, queue: QueueRecord) -> QueueRecord:
        check_concurrency(queue.concurrency)
        try:
            rows = await self._db.execute(f"{_INSERT} RETURNING *", _params(queue))
        except sqlite3.IntegrityError:
            raise ConfigurationError(f"queue {queue.name!r} already exists") from None
        return queue_from_row(rows[0])

    async def ensure(self, queue: QueueRecord) -> QueueRecord:
        """Insert unless the name exists; return the stored queue (one transaction)."""
        check_concurrency(queue.concurrency)

        def work(conn: sqlite3.Connection) -> Rows:
            conn.execute(f"{_INSERT} ON CONFLICT (name) DO NOTHING", _params(queue))
            return conn.execute(f"SELECT * FROM {QUEUES} WHERE name = ?", (queue.name,)).fetchall()

        return queue_from_row((await self._db.write(work))[0])

    async def update(
        self, name: str, *, concurrency: int | None, priority: int | None, state: QueueState | None
    ) -> QueueRecord:
        if concurrency is not None:
            check_concurrency(concurrency)
        sets: dict[str, Any] = {}
        if concurrency is not None:
            sets["concurrency"] = concurrency
        if priority is not None:
            sets["priority"] = int(priority)
        if state is not None:
            sets["state"] = QueueState(state).value
        if sets:
            assignments = ", ".join(f"{column} = ?" for column in sets)
            sql = f"UPDATE {QUEUES} SET {assignments} WHERE name = ? RETURNING *"
            rows = await self._db.execute(sql, [*sets.values(), name])
        else:
            rows = await self._db.read(f"SELECT * FROM {QUEUES} WHERE name = ?", (name,))
        if not rows:
            raise QueueNotFoundError(name)
        return queue_from_row(rows[0])
