"""Queues: create, get, ensure, list and update."""

from __future__ import annotations

import pytest

from sidequest import ConfigurationError, QueueNotFoundError
from sidequest.backend import Backend, QueueRecord, QueueState


class QueueTests:
    """Reference createNewQueue/getQueue, listQueues and updateQueue cases, plus ensure_queue."""

    async def test_create_queue_with_defaults(self, backend: Backend) -> None:
        created = await backend.create_queue(QueueRecord(name="default"))
        expected = QueueRecord(name="default", concurrency=10, priority=0, state=QueueState.ACTIVE)
        assert created == expected
        assert await backend.get_queue("default") == expected

    async def test_create_queue_with_every_field(self, backend: Backend) -> None:
        queue = QueueRecord(name="default", concurrency=100, priority=100, state=QueueState.PAUSED)
        assert await backend.create_queue(queue) == queue
        assert await backend.get_queue("default") == queue

    async def test_create_duplicate_queue_is_refused(self, backend: Backend) -> None:
        first = await backend.create_queue(QueueRecord(name="default", priority=1))
        with pytest.raises(ConfigurationError):
            await backend.create_queue(QueueRecord(name="default", priority=2))
        assert await backend.get_queue("default") == first

    @pytest.mark.parametrize("concurrency", [0, -1])
    async def test_create_queue_needs_concurrency_of_one(self, backend: Backend, concurrency: int) -> None:
        with pytest.raises(ConfigurationError, match="Concurrency must be at least 1"):
            await backend.create_queue(QueueRecord(name="default", concurrency=concurrency))
        assert await backend.get_queue("default") is None

    async def test_get_unknown_queue(self, backend: Backend) -> None:
        await backend.create_queue(QueueRecord(name="default"))
        assert await backend.get_queue("unknown") is None

    async def test_queue_names_are_exact(self, backend: Backend) -> None:
        await backend.create_queue(QueueRecord(name="Mixed_Case-1"))
        await backend.create_queue(QueueRecord(name="special chars.é@%"))
        assert await backend.get_queue("mixed_case-1") is None
        assert await backend.get_queue("Mixed%") is None
        assert (await backend.get_queue("special chars.é@%")) == QueueRecord(name="special chars.é@%")

    async def test_ensure_queue_creates_a_missing_queue(self, backend: Backend) -> None:
        queue = QueueRecord(name="new", concurrency=3, priority=7)
        assert await backend.ensure_queue(queue) == queue
        assert await backend.get_queue("new") == queue

    async def test_ensure_queue_returns_the_existing_queue_unchanged(self, backend: Backend) -> None:
        existing = await backend.create_queue(QueueRecord(name="q", concurrency=2, state=QueueState.PAUSED))
        assert await backend.ensure_queue(QueueRecord(name="q", concurrency=50, priority=9)) == existing
        assert await backend.get_queue("q") == existing

    async def test_list_no_queue(self, backend: Backend) -> None:
        assert await backend.list_queues() == []

    async def test_list_queues_by_priority_descending(self, backend: Backend) -> None:
        await backend.create_queue(QueueRecord(name="default", priority=10))
        await backend.create_queue(QueueRecord(name="default2", priority=100))
        assert [q.name for q in await backend.list_queues()] == ["default2", "default"]

    async def test_list_queues_by_priority_ascending(self, backend: Backend) -> None:
        await _three_queues(backend)
        queues = await backend.list_queues("priority", descending=False)
        assert [q.priority for q in queues] == [1, 5, 9]

    async def test_list_queues_by_concurrency_descending(self, backend: Backend) -> None:
        await _three_queues(backend)
        queues = await backend.list_queues("concurrency", descending=True)
        assert [q.concurrency for q in queues] == [30, 20, 10]

    async def test_list_queues_by_name_ascending(self, backend: Backend) -> None:
        await _three_queues(backend)
        assert [q.name for q in await backend.list_queues("name", descending=False)] == ["a", "b", "c"]
        assert [q.name for q in await backend.list_queues("name", descending=True)] == ["c", "b", "a"]

    async def test_list_queues_by_state(self, backend: Backend) -> None:
        await _three_queues(backend)
        queues = await backend.list_queues("state", descending=False)
        assert [q.state for q in queues] == [QueueState.ACTIVE, QueueState.ACTIVE, QueueState.PAUSED]
        assert (await backend.list_queues("state", descending=True))[0].name == "a"

    async def test_list_queues_returns_full_records(self, backend: Backend) -> None:
        created = await _three_queues(backend)
        assert sorted(await backend.list_queues("name", False), key=lambda q: q.name) == created

    @pytest.mark.parametrize("column", ["id", "bogus", "name; DROP TABLE x", ""])
    async def test_list_queues_by_an_unknown_column_is_refused(self, backend: Backend, column: str) -> None:
        with pytest.raises(ConfigurationError):
            await backend.list_queues(column)

    async def test_update_queue_without_changes(self, backend: Backend) -> None:
        created = await backend.create_queue(QueueRecord(name="default", concurrency=4, priority=2))
        assert await backend.update_queue("default") == created
        assert await backend.get_queue("default") == created

    async def test_update_queue_values(self, backend: Backend) -> None:
        await backend.create_queue(QueueRecord(name="default"))
        updated = await backend.update_queue("default", concurrency=7, priority=-3, state=QueueState.PAUSED)
        expected = QueueRecord(name="default", concurrency=7, priority=-3, state=QueueState.PAUSED)
        assert updated == expected
        assert await backend.get_queue("default") == expected
        reactivated = await backend.update_queue("default", state=QueueState.ACTIVE)
        assert reactivated == QueueRecord(name="default", concurrency=7, priority=-3)

    async def test_update_queue_changes_only_given_fields(self, backend: Backend) -> None:
        await backend.create_queue(QueueRecord(name="default", concurrency=4, priority=2))
        await backend.create_queue(QueueRecord(name="other", concurrency=5, priority=6))
        assert await backend.update_queue("default", priority=9) == QueueRecord(
            name="default", concurrency=4, priority=9
        )
        assert await backend.get_queue("other") == QueueRecord(name="other", concurrency=5, priority=6)

    async def test_update_unknown_queue(self, backend: Backend) -> None:
        with pytest.raises(QueueNotFoundError):
            await backend.update_queue("unknown", priority=1)
        assert await backend.get_queue("unknown") is None

    async def test_update_queue_needs_concurrency_of_one(self, backend: Backend) -> None:
        created = await backend.create_queue(QueueRecord(name="default"))
        with pytest.raises(ConfigurationError, match="Concurrency must be at least 1"):
            await backend.update_queue("default", concurrency=0, priority=5)
        assert await backend.get_queue("default") == created


async def _three_queues(backend: Backend) -> list[QueueRecord]:
    queues = [
        QueueRecord(name="a", concurrency=20, priority=5, state=QueueState.PAUSED),
        QueueRecord(name="b", concurrency=10, priority=9),
        QueueRecord(name="c", concurrency=30, priority=1),
    ]
    for queue in queues:
        await backend.create_queue(queue)
    return queues
