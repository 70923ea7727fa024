"""Configuration records."""

from __future__ import annotations

from attrs import frozen

from ._backend_support import check_concurrency
from ._errors import ConfigurationError
from ._records import QueueRecord, QueueState


@frozen
class QueueConfig:
    """A queue's settings in ``Sidequest(queues=[...])``; given values override the stored ones at start.

    ``concurrency``: jobs of this queue one engine process runs at once (default 10);
    ``priority``: higher queues are served first (default 0); ``state``: ``"active"`` or
    ``"paused"`` (None keeps the stored state).
    """

    name: str
    concurrency: int | None = None
    priority: int | None = None
    state: QueueState | str | None = None
    runner: str | None = None
    """This process runs the queue's jobs with this runner (``"async"``/``"process"``); not stored."""

    def __attrs_post_init__(self) -> None:
        if self.runner not in (None, "async", "process"):
            raise ConfigurationError(f"runner must be 'async' or 'process', got {self.runner!r}")
        if not isinstance(self.name, str) or not self.name:
            raise ConfigurationError(f"queue name must be a non-empty string, got {self.name!r}")
        if self.concurrency is not None:
            check_concurrency(self.concurrency)
        if self.state is not None and self.state not in ("active", "paused"):
            raise ConfigurationError(f"queue state must be 'active' or 'paused', got {self.state!r}")

    def record(self, defaults: QueueRecord) -> QueueRecord:
        """The queue row to create when none exists."""
        return QueueRecord(
            name=self.name,
            concurrency=defaults.concurrency if self.concurrency is None else self.concurrency,
            priority=defaults.priority if self.priority is None else self.priority,
            state=defaults.state if self.state is None else QueueState(self.state),
        )
