"""Queue rows: create, ensure, read, list and update (``MySQLBackend``'s queue methods)."""

from __future__ import annotations

from sidequest import ConfigurationError, QueueNotFoundError
from sidequest.backend import QueueRecord, QueueState, check_concurrency, check_order

from ._db import DUPLICATE_KEY, Database, error_code
from ._rows import QUEUE_COLUMNS, queue_record, queue_values
from ._sql import QUEUES

_GET = f"SELECT {QUEUE_COLUMNS} FROM {QUEUES} WHERE name = %s"
_INSERT = f"INSERT INTO {QUEUES} (name, concurrency, priority, state) VALUES (%s, %s, %s, %s)"
_UPDATE = (
    f"UPDATE {QUEUES} SET concurrency = COALESCE(%s, concurrency), priority = COALESCE(%s, priority),"
    " state = COALESCE(%s, state) WHERE name = %s"
)


class QueueStore:
    """Queue methods; each write is one statement (the name is the primary key)."""

    _db: Database

    def _wake(self) -> None:
        raise NotImplementedError

    async def get_queue(self, name: str) -> QueueRecord | None:
        row = await self._db.fetch_one(_GET, (name,))
        return None if row is None else queue_record(row)

    async def list_queues(self, order_by: str = "priority", descending: bool = True) -> list[QueueRecord]:
        check_order(order_by)
        queues = [queue_record(row) for row in await self._db.fetch(f"SELECT {QUEUE_COLUMNS} FROM {QUEUES}")]
        return sorted(queues, key=lambda q: (getattr(q, order_by), q.name), reverse=descending)

    async def create_queue(self, queue: QueueRecord) -> QueueRecord:
        check_concurrency(queue.concurrency)
        try:
            await self._db.execute(_INSERT, queue_values(queue))
        except Exception as exc:
            if error_code(exc) == DUPLICATE_KEY:
                raise ConfigurationError(f"queue {queue.name!r} already exists") from None
            raise
        return await self._read(queue.name)

    async def ensure_queue(self, queue: QueueRecord) -> QueueRecord:
        check_concurrency(queue.concurrency)
        await self._db.execute(_INSERT + " ON DUPLICATE KEY UPDATE name = name", queue_values(queue))
        return await self._read(queue.name)

    async def update_queue(
        self,
        name: str,
        *,
        concurrency: int | None = None,
        priority: int | None = None,
        state: QueueState | None = None,
    ) -> QueueRecord:
        if concurrency is not None:
            check_concurrency(concurrency)
        values = (
            concurrency,
            None if priority is None else int(priority),
            None if state is None else QueueState(state).value,
            name,
        )
        if not await self._db.execute(_UPDATE, values):
            raise QueueNotFoundError(name)
        if state == QueueState.ACTIVE:
            self._wake()
        return await self._read(name)

    async def _read(self, name: str) -> QueueRecord:
        queue = await self.get_queue(name)
        if queue is None:  # deleted in between (truncate): nothing sensible to return
            raise QueueNotFoundError(name)
        return queue
