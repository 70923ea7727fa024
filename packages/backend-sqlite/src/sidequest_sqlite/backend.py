"""``SQLiteBackend``: the ``sqlite://`` backend (stdlib sqlite3 on threads, WAL, one writer, readers)."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sidequest import ConfigurationError, DuplicateJobError
from sidequest.backend import (
    WORKER_LOST,
    WORKER_LOST_MESSAGE,
    JobCounts,
    JobFilter,
    JobRecord,
    JobState,
    NewJob,
    QueueRecord,
    QueueState,
    ScheduleRecord,
    ScheduleState,
    Subscribers,
    TimeBucket,
    Transition,
    WakeupCallback,
    bucket_starts,
    clamp_limit,
    id_direction,
    json_dumps,
    parse_span,
    plausible_token,
)

from . import _schema
from . import _statements as statements
from ._connections import DEFAULT_BUSY_TIMEOUT_MS, Connections, Rows
from ._queues import QueueStore
from ._schedules import SCHEDULES, ScheduleStore
from ._sql import (
    HOLDS_DIGEST,
    INSERT_ROWS_PER_STATEMENT,
    JOBS,
    LATEST_AT,
    NOW,
    QUEUES,
    ceil_ms,
    counts_by_state,
    from_ms,
    insert_params,
    insert_sql,
    is_digest_conflict,
    job_filter,
    job_from_row,
    jobs_from_rows,
    seconds_to_ms,
    time_range,
)
from ._url import parse_url
from ._watcher import CommitWatcher

MIN_SQLITE = (3, 35, 0)
"""``RETURNING`` (3.35) is needed for single-statement claims and transitions."""
_LOOKUP_CHUNK = 500
_OPTIONS = frozenset({"busy_timeout", "readers", "max_busy_wait"})


class SQLiteBackend:
    """Jobs and queues in one SQLite file (or a private in-memory database).

    ``SQLiteBackend("sqlite:///jobs.db", busy_timeout=5, readers=2, max_busy_wait=120)``:
    ``busy_timeout`` (seconds, at least 5) is SQLite's own wait for the write lock,
    ``readers`` the number of read connections, ``max_busy_wait`` how long a write keeps
    retrying a locked database before giving up.
    """

    notifies = True
    """Enqueues from other processes are noticed within milliseconds (see ``CommitWatcher``)."""
    in_process = True
    """The database runs inside this process, on threads that share the GIL with the jobs:
    the engine does not overlap its claims with running jobs (see ``sidequest._prefetch``)."""

    def __init__(self, url: str, **options: Any) -> None:
        if sqlite3.sqlite_version_info < MIN_SQLITE:
            raise ConfigurationError(
                f"sidequest-sqlite needs SQLite {'.'.join(map(str, MIN_SQLITE))} or newer; "
                f"this Python links SQLite {sqlite3.sqlite_version}"
            )
        unknown = set(options) - _OPTIONS
        if unknown:
            raise ConfigurationError(
                f"unknown SQLite backend option(s) {', '.join(sorted(unknown))}; "
                f"use {', '.join(sorted(_OPTIONS))}"
            )
        self.url = url
        self.target = parse_url(url)
        busy_timeout = _number(options.get("busy_timeout", DEFAULT_BUSY_TIMEOUT_MS / 1000), "busy_timeout")
        if busy_timeout < 5:
            raise ConfigurationError(f"busy_timeout must be at least 5 seconds, got {busy_timeout!r}")
        readers = options.get("readers", 2)
        if isinstance(readers, bool) or not isinstance(readers, int) or readers < 1:
            raise ConfigurationError(f"readers must be an int ≥ 1, got {readers!r}")
        self._db = Connections(
            self.target,
            busy_timeout_ms=int(busy_timeout * 1000),
            readers=readers,
            max_busy_wait=_number(options.get("max_busy_wait", 120.0), "max_busy_wait"),
        )
        self._queues = QueueStore(self._db)
        self._schedules = ScheduleStore(self._db)
        self._subscribers = Subscribers()
        self._watcher = (
            None
            if self.target.path is None or self.target.memory
            else CommitWatcher(self.target.path, int(busy_timeout * 1000), self._wake)
        )

    @property
    def busy_retries(self) -> int:
        """How many ``database is locked`` errors were retried internally (never raised)."""
        return self._db.busy_retries

    async def connection_settings(self) -> list[dict[str, Any]]:
        """``busy_timeout``, ``journal_mode``, ``synchronous``, ``foreign_keys`` and
        ``query_only`` of every open connection, writer first (diagnostics)."""
        return await self._db.settings()

    def __repr__(self) -> str:
        return f"SQLiteBackend({self.url!r})"

    # schema and lifecycle ----------------------------------------------------------------
    async def migrate(self) -> None:
        await self._db.write(_schema.migrate)

    async def rollback_migration(self) -> None:
        await self._db.write(_schema.rollback)

    async def close(self) -> None:
        self._subscribers.clear()
        if self._watcher is not None:
            await self._watcher.stop()
        await self._db.close()

    async def now(self) -> datetime:
        moment = from_ms((await self._db.read(f"SELECT {NOW}"))[0][0])
        assert moment is not None
        return moment

    # notifications (this process only) ---------------------------------------------------------
    def subscribe(self, callback: WakeupCallback) -> None:
        self._subscribers.add(callback)
        if self._watcher is not None:
            try:
                self._watcher.start()
            except RuntimeError:  # no running loop: in-process wake-ups and polling only
                pass

    def unsubscribe(self, callback: WakeupCallback) -> None:
        self._subscribers.discard(callback)

    def _wake(self) -> None:
        self._subscribers.wake()

    # enqueue ---------------------------------------------------------------------------------
    async def enqueue(
        self, jobs: Sequence[NewJob], *, skip_duplicates: bool = False, connection: Any = None
    ) -> list[JobRecord]:
        """Insert ``jobs`` in one transaction (multi-row INSERTs); see the Backend protocol."""
        if connection is not None:
            raise ConfigurationError(
                "the SQLite backend cannot join an application transaction (connection=); "
                "enqueue without it, or use PostgreSQL for transactional enqueueing"
            )
        jobs = list(jobs)
        if not jobs:
            return []
        rows = [insert_params(job) for job in jobs]

        def work(conn: sqlite3.Connection) -> Rows:
            stored: Rows = []
            for start in range(0, len(rows), INSERT_ROWS_PER_STATEMENT):
                chunk = rows[start : start + INSERT_ROWS_PER_STATEMENT]
                params = [value for row in chunk for value in row]
                stored.extend(conn.execute(insert_sql(len(chunk), skip_duplicates), params).fetchall())
            return stored

        for _ in range(3):
            try:
                inserted = await self._db.write(work)
            except sqlite3.IntegrityError as exc:
                if not is_digest_conflict(exc):
                    raise
                error = await self._duplicate_in(jobs)
                if error is not None:
                    raise error from None
                continue  # the holder finished meanwhile: try again
            records = jobs_from_rows(inserted)
            if records:
                self._wake()
            return records
        raise DuplicateJobError(None, jobs[0].job_class)

    async def _duplicate_in(self, jobs: Sequence[NewJob]) -> DuplicateJobError | None:
        """The error for the first job whose digest is held, or repeated earlier in the batch."""
        digests = sorted({job.unique_digest for job in jobs if job.unique_digest is not None})
        held: dict[str, int] = {}
        for start in range(0, len(digests), _LOOKUP_CHUNK):
            chunk = digests[start : start + _LOOKUP_CHUNK]
            rows = await self._db.read(
                f"SELECT unique_digest, id FROM {JOBS} "
                f"WHERE unique_digest IN ({', '.join('?' * len(chunk))}) AND {HOLDS_DIGEST}",
                chunk,
            )
            held.update({row[0]: row[1] for row in rows})
        batch: set[str] = set()
        for job in jobs:
            digest = job.unique_digest
            if digest is not None and (digest in held or digest in batch):
                return DuplicateJobError(held.get(digest), job.job_class)
            if digest is not None:
                batch.add(digest)
        return None

    # claims and state changes ---------------------------------------------------------------------
    async def claim(self, queue: str, limit: int, worker_id: str, lease: float) -> list[JobRecord]:
        """One ``UPDATE … WHERE id IN (SELECT … LIMIT ?) RETURNING *`` statement."""
        if limit <= 0:
            return []
        rows = await self._db.execute(statements.CLAIM, (worker_id, seconds_to_ms(lease), queue, int(limit)))
        return sorted(jobs_from_rows(rows), key=lambda job: (job.available_at, job.id))

    async def claim_and_start(self, queue: str, limit: int, worker_id: str, lease: float) -> list[JobRecord]:
        """``claim`` straight into running (attempt + 1, attempted_at), one statement."""
        if limit <= 0:
            return []
        rows = await self._db.execute(
            statements.CLAIM_AND_START, (worker_id, seconds_to_ms(lease), queue, int(limit))
        )
        return sorted(jobs_from_rows(rows), key=lambda job: (job.available_at, job.id))

    async def complete_many(self, items: Sequence[tuple[int, str, Any]]) -> set[int]:
        """Complete running jobs ``(id, lease_token, result)`` in one statement (fenced per row)."""
        batch = [
            [i, token, None if result is None else json_dumps(result)]
            for i, token, result in items
            if plausible_token(token)
        ]
        if not batch:
            return set()
        rows = await self._db.execute(statements.COMPLETE_MANY, (json_dumps(batch),))
        return {row[0] for row in rows}

    async def transition(self, job_id: int, change: Transition) -> JobRecord | None:
        """One guarded ``UPDATE … RETURNING *``; None when the guard matched nothing."""
        if not change.from_states:
            return None
        sql, params = statements.transition_sql(job_id, change)
        try:
            rows = await self._db.execute(sql, params)
        except sqlite3.IntegrityError as exc:
            if not is_digest_conflict(exc):
                raise
            raise await self._holder_error(job_id) from None
        if not rows:
            return None
        record = job_from_row(rows[0])
        if record.state == JobState.WAITING:
            self._wake()
        return record

    async def _holder_error(self, job_id: int) -> DuplicateJobError:
        job = await self.get_job(job_id)
        if job is None or job.unique_digest is None:
            return DuplicateJobError(None, job.job_class if job else "")
        rows = await self._db.read(
            f"SELECT id FROM {JOBS} WHERE unique_digest = ? AND {HOLDS_DIGEST} AND id != ? LIMIT 1",
            (job.unique_digest, job_id),
        )
        return DuplicateJobError(rows[0][0] if rows else None, job.job_class)

    async def heartbeat(self, worker_id: str, leases: Mapping[int, str], lease: float | None) -> set[int]:
        """Ids still held with their token; with ``lease``, extended in one UPDATE."""
        held = [[int(job_id), token] for job_id, token in leases.items() if plausible_token(token)]
        if not held:
            return set()
        pairs = json_dumps(held)
        if lease is None:
            rows = await self._db.read(f"SELECT id FROM {JOBS} WHERE {statements.HELD_LEASES}", (pairs,))
        else:
            rows = await self._db.execute(
                f"UPDATE {JOBS} SET lease_expires_at = {NOW} + ? WHERE {statements.HELD_LEASES} RETURNING id",
                (seconds_to_ms(lease), pairs),
            )
        return {int(row[0]) for row in rows}

    async def release_expired(self) -> list[JobRecord]:
        rows = await self._db.execute(statements.RELEASE_EXPIRED, (WORKER_LOST, WORKER_LOST_MESSAGE))
        released = jobs_from_rows(rows)
        if released:
            self._wake()
        return released

    async def delete_finished(self, older_than: datetime) -> int:
        """Delete in batches of 1,000 (one short transaction each) so workers are not stalled."""
        cutoff = ceil_ms(older_than)
        total = 0
        while True:
            deleted = len(await self._db.execute(statements.DELETE_FINISHED, (cutoff,)))
            total += deleted
            if deleted < statements.DELETE_BATCH:
                return total

    # reads ---------------------------------------------------------------------------------
    async def get_job(self, job_id: int) -> JobRecord | None:
        rows = await self._db.read(f"SELECT * FROM {JOBS} WHERE id = ?", (int(job_id),))
        return job_from_row(rows[0]) if rows else None

    async def list_jobs(self, filters: JobFilter) -> list[JobRecord]:
        where, params = job_filter(filters)
        sql = f"SELECT * FROM {JOBS}{where} ORDER BY id {id_direction(filters.order)} LIMIT ? OFFSET ?"
        rows = await self._db.read(sql, [*params, clamp_limit(filters.limit), max(0, int(filters.offset))])
        return [job_from_row(row) for row in rows]

    async def count_jobs(self, since: datetime | None = None, until: datetime | None = None) -> JobCounts:
        params: list[Any] = []
        terms = time_range(LATEST_AT, since, until, params)
        source = f"{JOBS} INDEXED BY sidequest_jobs_latest WHERE {' AND '.join(terms)}" if terms else JOBS
        rows = await self._db.read(f"SELECT state, count(*) FROM {source} GROUP BY state", params)
        return JobCounts.from_pairs(counts_by_state(rows))

    async def count_jobs_by_queue(self) -> dict[str, JobCounts]:
        rows = await self._db.read(f"SELECT queue, state, count(*) FROM {JOBS} GROUP BY queue, state")
        names = await self._db.read(f"SELECT name FROM {QUEUES}")
        pairs: dict[str, dict[str, int]] = {row[0]: {} for row in names}
        for queue, state, count in rows:
            pairs.setdefault(queue, {})[state] = int(count)
        return {name: JobCounts.from_pairs(pairs[name]) for name in sorted(pairs)}

    async def count_jobs_over_time(self, span: str) -> list[TimeBucket]:
        _count, _unit, seconds = parse_span(span)
        starts = bucket_starts(await self.now(), span)
        width = seconds * 1000
        first = ceil_ms(starts[0])
        rows = await self._db.read(
            f"SELECT ({LATEST_AT} - ?) / ? AS bucket, state, count(*) FROM {JOBS} "
            f"WHERE {LATEST_AT} >= ? AND {LATEST_AT} < ? GROUP BY bucket, state",
            (first, width, first, first + width * len(starts)),
        )
        per_bucket: list[dict[str, int]] = [{} for _ in starts]
        for bucket, state, count in rows:
            per_bucket[int(bucket)][state] = int(count)
        return [
            TimeBucket(at=start, counts=JobCounts.from_pairs(counts))
            for start, counts in zip(starts, per_bucket, strict=True)
        ]

    async def job_queue_names(self) -> list[str]:
        rows = await self._db.read(f"SELECT DISTINCT queue FROM {JOBS} ORDER BY queue")
        return [row[0] for row in rows]

    # queues ----------------------------------------------------------------------------------
    async def get_queue(self, name: str) -> QueueRecord | None:
        return await self._queues.get(name)

    async def list_queues(self, order_by: str = "priority", descending: bool = True) -> list[QueueRecord]:
        return await self._queues.list(order_by, descending)

    async def create_queue(self, queue: QueueRecord) -> QueueRecord:
        return await self._queues.create(queue)

    async def ensure_queue(self, queue: QueueRecord) -> QueueRecord:
        return await self._queues.ensure(queue)

    async def update_queue(
        self,
        name: str,
        *,
        concurrency: int | None = None,
        priority: int | None = None,
        state: QueueState | None = None,
    ) -> QueueRecord:
        queue = await self._queues.update(name, concurrency=concurrency, priority=priority, state=state)
        if state == QueueState.ACTIVE:
            self._wake()
        return queue

    async def truncate(self) -> None:
        def work(conn: sqlite3.Connection) -> None:
            for table in (JOBS, QUEUES, SCHEDULES):
                conn.execute(f"DELETE FROM {table}")

        await self._db.write(work)

    # schedules ---------------------------------------------------------------------------------
    async def save_schedule(self, schedule: ScheduleRecord) -> ScheduleRecord:
        return await self._schedules.save(schedule)

    async def get_schedule(self, name: str) -> ScheduleRecord | None:
        return await self._schedules.get(name)

    async def list_schedules(self) -> list[ScheduleRecord]:
        return await self._schedules.list()

    async def delete_schedule(self, name: str) -> bool:
        return await self._schedules.delete(name)

    async def set_schedule_state(self, name: str, state: ScheduleState) -> ScheduleRecord | None:
        return await self._schedules.set_state(name, state)

    async def advance_schedule(
        self,
        name: str,
        *,
        expected_next_fire_at: datetime,
        next_fire_at: datetime,
        last_fired_at: datetime | None,
        last_job_id: int | None,
    ) -> bool:
        return await self._schedules.advance(
            name,
            expected_next_fire_at=expected_next_fire_at,
            next_fire_at=next_fire_at,
            last_fired_at=last_fired_at,
            last_job_id=last_job_id,
        )


def _number(value: Any, name: str) -> float:
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value or value < 0:
        raise ConfigurationError(f"{name} must be a non-negative number of seconds, got {value!r}")
    return float(value)


__all__ = ["SQLiteBackend"]
