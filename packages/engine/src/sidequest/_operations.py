"""``sq.jobs`` and ``sq.queues``: inspect and steer stored jobs and queues from any process."""

from __future__ import annotations

import asyncio
import builtins
import time
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from . import _transitions as transitions
from ._backend import CountEstimates
from ._durations import Duration, to_seconds
from ._errors import ConfigurationError, InvalidStateError, JobNotFoundError, QueueNotFoundError
from ._records import (
    JobCounts,
    JobFilter,
    JobRecord,
    JobState,
    ListOrder,
    QueueRecord,
    QueueState,
    TimeBucket,
    TimeField,
    Transition,
)

if TYPE_CHECKING:
    from ._engine import Sidequest


def _many(value: str | Iterable[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


class JobOperations:
    """Read and act on jobs by id."""

    def __init__(self, engine: Sidequest) -> None:
        self._engine = engine

    async def get(self, job_id: int) -> JobRecord:
        """The job's record; raises ``JobNotFoundError``."""
        job = await (await self._engine.connected()).get_job(job_id)
        if job is None:
            raise JobNotFoundError(job_id)
        return job

    async def list(
        self,
        *,
        state: str | Iterable[str] | None = None,
        queue: str | Iterable[str] | None = None,
        job_class: str | Iterable[str] | None = None,
        args: list[Any] | None = None,
        search: str | None = None,
        time_field: TimeField = "attempted_at",
        since: datetime | None = None,
        until: datetime | None = None,
        before_id: int | None = None,
        after_id: int | None = None,
        order: ListOrder = "newest",
        offset: int = 0,
        limit: int = 50,
    ) -> builtins.list[JobRecord]:
        """Jobs matching every given filter, newest first (``order="oldest"``: ascending ids).

        Keyset pages: ``before_id`` keeps jobs with a lower id (the next older page),
        ``after_id`` jobs with a higher id (with ``order="oldest"``, the next newer page);
        both together read one id window.
        """
        states = _many(state)
        for value in states:
            if "%" not in value and value not in {s.value for s in JobState}:
                raise ConfigurationError(
                    f"unknown job state {value!r}; use one of {', '.join(s.value for s in JobState)}"
                )
        return await (await self._engine.connected()).list_jobs(
            JobFilter(
                states=states,
                queues=_many(queue),
                job_classes=_many(job_class),
                args=None if args is None else tuple(args),
                search=search,
                time_field=time_field,
                since=since,
                until=until,
                before_id=before_id,
                after_id=after_id,
                order=order,
                offset=offset,
                limit=limit,
            )
        )

    async def count(
        self, since: datetime | None = None, until: datetime | None = None, *, exact: bool = True
    ) -> JobCounts:
        """Jobs per state (whose latest timestamp is within ``since``/``until`` when given).

        ``exact=False`` lets a backend that can estimate (PostgreSQL) answer states above
        100,000 rows from its table statistics; ``JobCounts.estimated`` names them.
        """
        backend = await self._engine.connected()
        if not exact and since is None and until is None and isinstance(backend, CountEstimates):
            return await backend.estimate_job_counts()
        return await backend.count_jobs(since, until)

    async def count_by_queue(self, *, exact: bool = True) -> dict[str, JobCounts]:
        """Jobs per queue and state; ``exact=False`` as for ``count``."""
        backend = await self._engine.connected()
        if not exact and isinstance(backend, CountEstimates):
            return await backend.estimate_job_counts_by_queue()
        return await backend.count_jobs_by_queue()

    async def count_over_time(self, span: str) -> builtins.list[TimeBucket]:
        """Counts per minute/hour/day: ``"12m"``, ``"24h"``, ``"7d"``."""
        return await (await self._engine.connected()).count_jobs_over_time(span)

    async def cancel(self, job_id: int) -> JobRecord:
        """Cancel a waiting, claimed or running job (a running job is aborted)."""
        record = await self._apply(job_id, transitions.CANCEL, "cancel")
        self._engine.abort_local(job_id)
        return record

    async def run(self, job_id: int) -> JobRecord:
        """Make a waiting job available now (for a finished job use ``rerun``)."""
        return await self._apply(job_id, transitions.RUN_NOW, "run")

    async def rerun(self, job_id: int) -> JobRecord:
        """Run a completed, failed or canceled job again (one more attempt if exhausted)."""
        return await self._apply(job_id, transitions.RERUN, "rerun")

    async def snooze(self, job_id: int, delay: Duration) -> JobRecord:
        """Postpone a waiting job by ``delay`` seconds from now."""
        seconds = to_seconds(delay, "snooze delay")
        return await self._apply(job_id, transitions.snooze_waiting(seconds), "snooze")

    async def wait(self, job_id: int, timeout: Duration | None = None, poll: float = 0.05) -> JobRecord:
        """Wait until the job is completed, failed or canceled and return its final record."""
        deadline = None if timeout is None else time.monotonic() + to_seconds(timeout, "timeout")
        while True:
            job = await self.get(job_id)
            if job.finished:
                return job
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"job #{job_id} is still {job.state} after {timeout} s")
            await asyncio.sleep(poll)

    async def delete_finished(self, older_than: datetime) -> int:
        return await (await self._engine.connected()).delete_finished(older_than)

    # synchronous variants (no event loop needed) ---------------------------------------
    def get_sync(self, job_id: int) -> JobRecord:
        return self._engine.call_sync(lambda twin: twin.jobs.get(job_id))

    def list_sync(self, **filters: Any) -> builtins.list[JobRecord]:
        return self._engine.call_sync(lambda twin: twin.jobs.list(**filters))

    def count_sync(
        self, since: datetime | None = None, until: datetime | None = None, *, exact: bool = True
    ) -> JobCounts:
        return self._engine.call_sync(lambda twin: twin.jobs.count(since, until, exact=exact))

    def cancel_sync(self, job_id: int) -> JobRecord:
        return self._engine.call_sync(lambda twin: twin.jobs.cancel(job_id))

    def run_sync(self, job_id: int) -> JobRecord:
        return self._engine.call_sync(lambda twin: twin.jobs.run(job_id))

    def rerun_sync(self, job_id: int) -> JobRecord:
        return self._engine.call_sync(lambda twin: twin.jobs.rerun(job_id))

    def snooze_sync(self, job_id: int, delay: Duration) -> JobRecord:
        return self._engine.call_sync(lambda twin: twin.jobs.snooze(job_id, delay))

    def wait_sync(self, job_id: int, timeout: Duration | None = None) -> JobRecord:
        return self._engine.call_sync(lambda twin: twin.jobs.wait(job_id, timeout))

    async def _apply(self, job_id: int, change: Transition, action: str) -> JobRecord:
        record = await (await self._engine.connected()).transition(job_id, change)
        if record is not None:
            return record
        current = await (await self._engine.connected()).get_job(job_id)
        if current is None:
            raise JobNotFoundError(job_id)
        raise InvalidStateError(job_id, current.state.value, action)


class QueueOperations:
    """Read and change queues by name."""

    def __init__(self, engine: Sidequest) -> None:
        self._engine = engine

    async def get(self, name: str) -> QueueRecord:
        queue = await (await self._engine.connected()).get_queue(name)
        if queue is None:
            raise QueueNotFoundError(name)
        return queue

    async def list(self, order_by: str = "priority", descending: bool = True) -> builtins.list[QueueRecord]:
        return await (await self._engine.connected()).list_queues(order_by, descending)

    async def pause(self, name: str) -> QueueRecord:
        """Stop claiming this queue's jobs (running ones finish; other processes see it within 1 s)."""
        return await self._update(name, state=QueueState.PAUSED)

    async def resume(self, name: str) -> QueueRecord:
        return await self._update(name, state=QueueState.ACTIVE)

    async def update(
        self, name: str, *, concurrency: int | None = None, priority: int | None = None
    ) -> QueueRecord:
        if priority is not None and (isinstance(priority, bool) or not isinstance(priority, int)):
            raise ConfigurationError(f"priority must be an int, got {priority!r}")
        return await self._update(name, concurrency=concurrency, priority=priority)

    async def _update(self, name: str, **changes: Any) -> QueueRecord:
        record = await (await self._engine.connected()).update_queue(name, **changes)
        self._engine.queues_changed()
        return record
