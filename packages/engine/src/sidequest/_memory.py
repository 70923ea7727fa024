"""The ``memory://`` backend: everything in one process's memory (tests, examples)."""

from __future__ import annotations

import copy
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import attrs

from . import _backend_support as support
from ._backend import Subscribers, WakeupCallback
from ._durations import as_utc, utcnow
from ._errors import ConfigurationError, DuplicateJobError, QueueNotFoundError
from ._payload import dumps
from ._records import (
    ALIVE_STATES,
    FINISHED_STATES,
    HELD_STATES,
    JobCounts,
    JobFilter,
    JobRecord,
    JobState,
    NewJob,
    QueueRecord,
    QueueState,
    ScheduleRecord,
    ScheduleState,
    TimeBucket,
    Transition,
)
from ._uniqueness import holds_forever


class MemoryBackend:
    """A complete, thread-safe in-memory backend; data lives as long as the instance."""

    notifies = True

    def __init__(self, url: str = "memory://", *, clock: Callable[[], datetime] = utcnow) -> None:
        self.url = url
        self._clock = clock
        self._lock = threading.RLock()
        self._jobs: dict[int, JobRecord] = {}
        self._queues: dict[str, QueueRecord] = {}
        self._schedules: dict[str, ScheduleRecord] = {}
        self._next_id = 1
        self._subscribers = Subscribers()
        self._migrated = False

    # schema ------------------------------------------------------------------
    async def migrate(self) -> None:
        self._migrated = True

    async def rollback_migration(self) -> None:
        self._migrated = False

    async def close(self) -> None:
        self._subscribers.clear()

    async def now(self) -> datetime:
        return self._clock()

    # notifications -------------------------------------------------------------
    def subscribe(self, callback: WakeupCallback) -> None:
        self._subscribers.add(callback)

    def unsubscribe(self, callback: WakeupCallback) -> None:
        self._subscribers.discard(callback)

    def _wake(self) -> None:
        self._subscribers.wake()

    # jobs ----------------------------------------------------------------------
    async def enqueue(
        self, jobs: Sequence[NewJob], *, skip_duplicates: bool = False, connection: Any = None
    ) -> list[JobRecord]:
        if connection is not None:
            raise ConfigurationError("the memory backend has no transactions to join (connection=)")
        with self._lock:
            now = self._clock()
            held = {j.unique_digest: j.id for j in self._jobs.values() if _holds(j) and j.unique_digest}
            batch: set[str] = set()
            stored: list[JobRecord] = []
            for new in jobs:
                digest = new.unique_digest
                if digest is not None and (digest in held or digest in batch):
                    if skip_duplicates:
                        continue
                    raise DuplicateJobError(held.get(digest), new.job_class)
                if digest is not None:
                    batch.add(digest)
                stored.append(self._build(new, now))
            for record in stored:
                self._jobs[record.id] = record
        if stored:
            self._wake()
        return [copy.deepcopy(r) for r in stored]

    def _build(self, new: NewJob, now: datetime) -> JobRecord:
        job_id = self._next_id
        self._next_id += 1
        available_at = as_utc(new.available_at) if new.available_at else _after(now, new.available_in)
        return copy.deepcopy(new.inserted(job_id, now, available_at))  # nothing shared with the caller

    async def claim(self, queue: str, limit: int, worker_id: str, lease: float) -> list[JobRecord]:
        with self._lock:
            now = self._clock()
            ready = sorted(
                (
                    j
                    for j in self._jobs.values()
                    if j.state == JobState.WAITING and j.queue == queue and j.available_at <= now
                ),
                key=lambda j: (j.available_at, j.id),
            )[: max(0, limit)]
            claimed = []
            for job in ready:
                record = attrs.evolve(
                    job,
                    state=JobState.CLAIMED,
                    claimed_at=now,
                    claimed_by=worker_id,
                    lease_token=uuid.uuid4().hex,
                    lease_expires_at=_after(now, lease),
                )
                self._jobs[job.id] = record
                claimed.append(copy.deepcopy(record))
            return claimed

    async def claim_and_start(self, queue: str, limit: int, worker_id: str, lease: float) -> list[JobRecord]:
        with self._lock:
            claimed = await self.claim(queue, limit, worker_id, lease)
            now = self._clock()
            started = []
            for job in claimed:
                record = attrs.evolve(job, state=JobState.RUNNING, attempt=job.attempt + 1, attempted_at=now)
                self._jobs[job.id] = record
                started.append(copy.deepcopy(record))
            return started

    async def complete_many(self, items: Sequence[tuple[int, str, Any]]) -> set[int]:
        done: set[int] = set()
        with self._lock:
            now = self._clock()
            for job_id, token, result in items:
                job = self._jobs.get(job_id)
                if job is None or job.state != JobState.RUNNING or job.lease_token != token:
                    continue
                self._jobs[job_id] = attrs.evolve(
                    job,
                    state=JobState.COMPLETED,
                    completed_at=now,
                    result=copy.deepcopy(result),
                    lease_token=None,
                    lease_expires_at=None,
                )
                done.add(job_id)
        return done

    async def transition(self, job_id: int, change: Transition) -> JobRecord | None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.state not in change.from_states:
                return None
            if change.lease_token is not None and job.lease_token != change.lease_token:
                return None
            now = self._clock()
            updates: dict[str, Any] = {"state": change.to_state}
            if change.attempt_delta:
                updates["attempt"] = max(0, job.attempt + change.attempt_delta)
            if change.stamp:
                updates[change.stamp] = now
            if change.available_in is not None:
                updates["available_at"] = _after(now, change.available_in)
            if change.set_result:
                updates["result"] = copy.deepcopy(change.result)
            if change.error is not None:
                updates["errors"] = (*job.errors, change.error)
            if change.clear_lease:
                updates["lease_token"] = None
                updates["lease_expires_at"] = None
            if change.rerun:
                updates.update(result=None, completed_at=None, failed_at=None, canceled_at=None)
                if job.attempt >= job.max_attempts:
                    updates["max_attempts"] = job.attempt + 1
            record = attrs.evolve(job, **updates)
            if _holds(record) and not _holds(job) and record.unique_digest:
                for other in self._jobs.values():
                    if other.id != job_id and other.unique_digest == record.unique_digest and _holds(other):
                        raise DuplicateJobError(other.id, job.job_class)
            self._jobs[job_id] = record
        if record.state == JobState.WAITING:
            self._wake()
        return copy.deepcopy(record)

    async def heartbeat(self, worker_id: str, leases: Mapping[int, str], lease: float | None) -> set[int]:
        with self._lock:
            now = self._clock()
            held: set[int] = set()
            for job_id, token in leases.items():
                job = self._jobs.get(job_id)
                if job is None or job.state not in HELD_STATES or job.lease_token != token:
                    continue
                held.add(job_id)
                if lease is not None:
                    self._jobs[job_id] = attrs.evolve(job, lease_expires_at=_after(now, lease))
            return held

    async def release_expired(self) -> list[JobRecord]:
        with self._lock:
            now = self._clock()
            released = []
            for job in list(self._jobs.values()):
                if job.state not in HELD_STATES or job.lease_expires_at is None:
                    continue
                if not job.lease_expires_at < now:
                    continue
                state = support.released_state(job)
                updates: dict[str, Any] = {"state": state, "lease_token": None, "lease_expires_at": None}
                if job.state == JobState.RUNNING:
                    updates["errors"] = (*job.errors, support.worker_lost_error(job, now))
                    if state == JobState.FAILED:
                        updates["failed_at"] = now
                    else:
                        updates["available_at"] = now
                record = attrs.evolve(job, **updates)
                self._jobs[job.id] = record
                released.append(copy.deepcopy(record))
        if released:
            self._wake()
        return released

    async def delete_finished(self, older_than: datetime) -> int:
        with self._lock:
            doomed = [
                j.id
                for j in self._jobs.values()
                if j.state in FINISHED_STATES and j.finished_at is not None and j.finished_at < older_than
            ]
            for job_id in doomed:
                del self._jobs[job_id]
            return len(doomed)

    async def get_job(self, job_id: int) -> JobRecord | None:
        with self._lock:
            job = self._jobs.get(job_id)
            return copy.deepcopy(job) if job else None

    async def list_jobs(self, filters: JobFilter) -> list[JobRecord]:
        with self._lock:
            found = sorted(
                (j for j in self._jobs.values() if _matches(j, filters)),
                key=lambda j: j.id,
                reverse=support.id_direction(filters.order) == "DESC",
            )
        start = max(0, filters.offset)
        return copy.deepcopy(found[start : start + support.clamp_limit(filters.limit)])

    async def count_jobs(self, since: datetime | None = None, until: datetime | None = None) -> JobCounts:
        with self._lock:
            jobs = list(self._jobs.values())
        return _count(j for j in jobs if _in_range(support.latest_timestamp(j), since, until))

    async def count_jobs_by_queue(self) -> dict[str, JobCounts]:
        with self._lock:
            jobs = list(self._jobs.values())
            names = set(self._queues) | {j.queue for j in jobs}
        return {name: _count(j for j in jobs if j.queue == name) for name in sorted(names)}

    async def count_jobs_over_time(self, span: str) -> list[TimeBucket]:
        now = self._clock()
        starts = support.bucket_starts(now, span)
        _, _unit, seconds = support.parse_span(span)
        with self._lock:
            jobs = list(self._jobs.values())
        buckets = []
        for start in starts:
            end = start + timedelta(seconds=seconds)
            buckets.append(
                TimeBucket(
                    at=start,
                    counts=_count(j for j in jobs if start <= support.latest_timestamp(j) < end),
                )
            )
        return buckets

    async def job_queue_names(self) -> list[str]:
        with self._lock:
            return sorted({j.queue for j in self._jobs.values()})

    # queues --------------------------------------------------------------------
    async def get_queue(self, name: str) -> QueueRecord | None:
        with self._lock:
            return self._queues.get(name)

    async def list_queues(self, order_by: str = "priority", descending: bool = True) -> list[QueueRecord]:
        support.check_order(order_by)
        with self._lock:
            queues = list(self._queues.values())
        return sorted(queues, key=lambda q: (getattr(q, order_by), q.name), reverse=descending)

    async def create_queue(self, queue: QueueRecord) -> QueueRecord:
        support.check_concurrency(queue.concurrency)
        with self._lock:
            if queue.name in self._queues:
                raise ConfigurationError(f"queue {queue.name!r} already exists")
            self._queues[queue.name] = queue
        return queue

    async def ensure_queue(self, queue: QueueRecord) -> QueueRecord:
        support.check_concurrency(queue.concurrency)
        with self._lock:
            return self._queues.setdefault(queue.name, queue)

    async def update_queue(
        self,
        name: str,
        *,
        concurrency: int | None = None,
        priority: int | None = None,
        state: QueueState | None = None,
    ) -> QueueRecord:
        if concurrency is not None:
            support.check_concurrency(concurrency)
        with self._lock:
            queue = self._queues.get(name)
            if queue is None:
                raise QueueNotFoundError(name)
            changes: dict[str, Any] = {}
            if concurrency is not None:
                changes["concurrency"] = concurrency
            if priority is not None:
                changes["priority"] = int(priority)
            if state is not None:
                changes["state"] = QueueState(state)
            queue = attrs.evolve(queue, **changes)
            self._queues[name] = queue
        if state == QueueState.ACTIVE:
            self._wake()
        return queue

    # schedules -------------------------------------------------------------------------
    async def save_schedule(self, schedule: ScheduleRecord) -> ScheduleRecord:
        with self._lock:
            self._schedules[schedule.name] = copy.deepcopy(schedule)
        return schedule

    async def get_schedule(self, name: str) -> ScheduleRecord | None:
        with self._lock:
            return copy.deepcopy(self._schedules.get(name))

    async def list_schedules(self) -> list[ScheduleRecord]:
        with self._lock:
            return [copy.deepcopy(self._schedules[name]) for name in sorted(self._schedules)]

    async def delete_schedule(self, name: str) -> bool:
        with self._lock:
            return self._schedules.pop(name, None) is not None

    async def set_schedule_state(self, name: str, state: ScheduleState) -> ScheduleRecord | None:
        with self._lock:
            current = self._schedules.get(name)
            if current is None:
                return None
            self._schedules[name] = attrs.evolve(current, state=ScheduleState(state))
            return copy.deepcopy(self._schedules[name])

    async def advance_schedule(
        self,
        name: str,
        *,
        expected_next_fire_at: datetime,
        next_fire_at: datetime,
        last_fired_at: datetime | None,
        last_job_id: int | None,
    ) -> bool:
        with self._lock:
            current = self._schedules.get(name)
            if current is None or current.next_fire_at != expected_next_fire_at:
                return False
            changes: dict[str, Any] = {"next_fire_at": next_fire_at}
            if last_fired_at is not None:
                changes["last_fired_at"] = last_fired_at
            if last_job_id is not None:
                changes["last_job_id"] = last_job_id
            self._schedules[name] = attrs.evolve(current, **changes)
            return True

    async def truncate(self) -> None:
        with self._lock:
            self._jobs.clear()
            self._queues.clear()
            self._schedules.clear()


def _after(now: datetime, seconds: float) -> datetime:
    """``now`` plus ``seconds``, truncated to milliseconds like every stored time."""
    return as_utc(now + timedelta(seconds=seconds))


def _holds(job: JobRecord) -> bool:
    return job.unique_digest is not None and (
        job.state in ALIVE_STATES or holds_forever(job.uniqueness_config)
    )


def _in_range(moment: datetime | None, since: datetime | None, until: datetime | None) -> bool:
    if since is None and until is None:
        return True
    if moment is None:
        return False
    return (since is None or moment >= since) and (until is None or moment <= until)


def _matches(job: JobRecord, f: JobFilter) -> bool:
    if f.states and not any(support.like_matches(s, job.state.value) for s in f.states):
        return False
    if f.queues and not any(support.like_matches(q, job.queue) for q in f.queues):
        return False
    if f.job_classes and not any(support.like_matches(c, job.job_class) for c in f.job_classes):
        return False
    if f.ids and job.id not in f.ids:
        return False
    if f.args is not None and dumps(list(job.args)) != dumps(list(f.args)):
        return False
    if f.search and f.search.lower() not in (dumps(list(job.args)) + dumps(dict(job.kwargs))).lower():
        return False
    if f.before_id is not None and job.id >= f.before_id:
        return False
    if f.after_id is not None and job.id <= f.after_id:
        return False
    moment = job.finished_at if f.time_field == "finished_at" else getattr(job, f.time_field)
    return _in_range(moment, f.since, f.until)


def _count(jobs: Any) -> JobCounts:
    counts: dict[str, int] = {}
    for job in jobs:
        counts[job.state.value] = counts.get(job.state.value, 0) + 1
    return JobCounts.from_pairs(counts)
