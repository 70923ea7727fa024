"""The contract every storage backend implements (see docs/backends/writing.md)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from ._records import (
    JobCounts,
    JobFilter,
    JobRecord,
    JsonValue,
    NewJob,
    QueueRecord,
    QueueState,
    ScheduleRecord,
    ScheduleState,
    TimeBucket,
    Transition,
)

WakeupCallback = Callable[[], None]


class Subscribers:
    """A backend's wake-up callbacks: what ``subscribe``/``unsubscribe`` keep and ``wake`` calls."""

    def __init__(self) -> None:
        self._callbacks: list[WakeupCallback] = []

    def add(self, callback: WakeupCallback) -> None:
        self._callbacks.append(callback)

    def discard(self, callback: WakeupCallback) -> None:
        if callback in self._callbacks:
            self._callbacks.remove(callback)

    def clear(self) -> None:
        self._callbacks.clear()

    def wake(self) -> None:
        """Call every callback (a copy of the list: a callback may unsubscribe)."""
        for callback in list(self._callbacks):
            callback()


@runtime_checkable
class Backend(Protocol):
    """Durable storage of jobs and queues.

    Rules every implementation keeps (the conformance suite checks them):

    - Every "now" is the database's clock; times are aware UTC datetimes with
      millisecond precision.
    - Every state change is one atomic statement guarded by the expected state (and the
      lease token where given): a write that matches nothing changes nothing.
    - A job *holds* its ``unique_digest`` while it is waiting/claimed/running, and forever
      when its ``uniqueness_config["type"]`` is ``"fixed-window"``; two held equal digests
      never coexist (enforced by the database, not by check-then-insert).
    """

    url: str
    """The URL this backend was created from, with any password masked."""
    notifies: bool
    """True when ``subscribe`` callbacks fire on enqueue from other processes too."""

    async def migrate(self) -> None:
        """Bring the schema to the latest version (safe to run concurrently)."""

    async def rollback_migration(self) -> None:
        """Undo the most recent migration."""

    async def close(self) -> None:
        """Release connections; the backend is unusable afterwards."""

    async def enqueue(
        self, jobs: Sequence[NewJob], *, skip_duplicates: bool = False, connection: Any = None
    ) -> list[JobRecord]:
        """Insert jobs in one transaction and return the stored records, in order.

        A held duplicate digest raises ``DuplicateJobError(existing_id)`` and stores
        nothing, unless ``skip_duplicates``: then duplicates are left out of the result.
        ``connection``: an application connection whose transaction the insert joins
        (backends without that capability raise ``ConfigurationError``).
        """

    async def claim(self, queue: str, limit: int, worker_id: str, lease: float) -> list[JobRecord]:
        """Atomically move up to ``limit`` ready waiting jobs of ``queue`` to ``claimed``.

        Ready means ``available_at <= now``; oldest ``available_at`` (then id) first. Each
        claimed job gets a fresh ``lease_token``, ``lease_expires_at = now + lease``,
        ``claimed_at = now`` and ``claimed_by = worker_id``. A job is never claimed twice.
        """

    async def transition(self, job_id: int, change: Transition) -> JobRecord | None:
        """Apply ``change`` atomically; return the new record, or None when the guard failed.

        Raises ``DuplicateJobError`` when the change would make a held digest collide.
        """

    async def heartbeat(self, worker_id: str, leases: Mapping[int, str], lease: float | None) -> set[int]:
        """Return the ids in ``leases`` still held (claimed/running with that token).

        With ``lease`` set, also extend those leases to ``now + lease``.
        """

    async def release_expired(self) -> list[JobRecord]:
        """Take back jobs whose lease expired, in one statement; return them as updated.

        ``claimed`` → ``waiting`` (attempt kept). ``running`` → ``waiting`` (available now)
        with an error of type ``worker_lost`` appended, or ``failed`` (``failed_at`` set)
        when ``attempt >= max_attempts``. Leases are cleared.
        """

    async def delete_finished(self, older_than: datetime) -> int:
        """Delete completed/failed/canceled jobs finished before ``older_than``; return how many."""

    async def get_job(self, job_id: int) -> JobRecord | None: ...

    async def list_jobs(self, filters: JobFilter) -> list[JobRecord]: ...

    async def count_jobs(self, since: datetime | None = None, until: datetime | None = None) -> JobCounts:
        """Counts by state; the time range (inclusive) applies to the job's latest timestamp."""

    async def count_jobs_by_queue(self) -> dict[str, JobCounts]:
        """Counts for every queue that has a row or a job (zeros for empty queues)."""

    async def count_jobs_over_time(self, span: str) -> list[TimeBucket]:
        """``"12m"``/``"24h"``/``"7d"``: that many minute/hour/day UTC buckets ending now."""

    async def job_queue_names(self) -> list[str]:
        """Sorted distinct queue names found on jobs (any state)."""

    async def get_queue(self, name: str) -> QueueRecord | None: ...

    async def list_queues(self, order_by: str = "priority", descending: bool = True) -> list[QueueRecord]: ...

    async def create_queue(self, queue: QueueRecord) -> QueueRecord:
        """Insert a queue; an existing name raises ``ConfigurationError``."""

    async def ensure_queue(self, queue: QueueRecord) -> QueueRecord:
        """Insert the queue unless one with that name exists; return the stored one."""

    async def update_queue(
        self,
        name: str,
        *,
        concurrency: int | None = None,
        priority: int | None = None,
        state: QueueState | None = None,
    ) -> QueueRecord:
        """Change the given fields; unknown name raises ``QueueNotFoundError``."""

    async def save_schedule(self, schedule: ScheduleRecord) -> ScheduleRecord:
        """Insert or replace (by name) a schedule; return the stored record."""

    async def get_schedule(self, name: str) -> ScheduleRecord | None: ...

    async def list_schedules(self) -> list[ScheduleRecord]:
        """Every schedule, sorted by name."""

    async def delete_schedule(self, name: str) -> bool:
        """Delete a schedule; False when there was none."""

    async def set_schedule_state(self, name: str, state: ScheduleState) -> ScheduleRecord | None:
        """Change a schedule's state; None when there is no such schedule."""

    async def advance_schedule(
        self,
        name: str,
        *,
        expected_next_fire_at: datetime,
        next_fire_at: datetime,
        last_fired_at: datetime | None,
        last_job_id: int | None,
    ) -> bool:
        """Compare-and-set: move ``next_fire_at`` on only if it still equals the expected value.

        ``last_fired_at``/``last_job_id`` are replaced only when given (not None).
        """

    async def truncate(self) -> None:
        """Delete every job, queue and schedule (tests and resets)."""

    async def now(self) -> datetime:
        """The database's current time."""

    def subscribe(self, callback: WakeupCallback) -> None:
        """Call ``callback`` (on the backend's event loop) when new work may be ready."""

    def unsubscribe(self, callback: WakeupCallback) -> None: ...


@runtime_checkable
class CountEstimates(Protocol):
    """Optional cheap counts for large tables (the dashboard's overview and queues pages).

    Counting millions of finished rows exactly costs a scan on every refresh. A backend
    with these methods may answer large states from its statistics instead, naming them
    in ``JobCounts.estimated``; small states stay exact. Without them the engine counts
    exactly.
    """

    async def estimate_job_counts(self) -> JobCounts:
        """``count_jobs()`` where large states may be estimates."""

    async def estimate_job_counts_by_queue(self) -> dict[str, JobCounts]:
        """``count_jobs_by_queue()`` where large states may be estimates."""


@runtime_checkable
class FastPathBackend(Protocol):
    """Optional batched operations; the engine uses them when a backend has them.

    A backend without them works through ``claim``/``transition`` alone. The conformance
    suite tests them only on backends that declare them.
    """

    async def claim_and_start(self, queue: str, limit: int, worker_id: str, lease: float) -> list[JobRecord]:
        """``claim`` straight into ``running`` in one statement: as ``claim``, plus
        ``attempt + 1`` and ``attempted_at = now``."""

    async def complete_many(self, items: Sequence[tuple[int, str, JsonValue]]) -> set[int]:
        """Complete running jobs ``(id, lease_token, result)`` in one statement; return the ids
        whose guard matched (the others are left unchanged)."""
