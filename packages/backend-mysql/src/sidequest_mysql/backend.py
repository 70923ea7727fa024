"""``MySQLBackend``: the sidequest Backend on MySQL 8 / MariaDB 10.6+ (asyncmy, SKIP LOCKED)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from ssl import SSLContext
from typing import TYPE_CHECKING, Any

from asyncmy.errors import MySQLError
from sidequest import ConfigurationError, DuplicateJobError
from sidequest.backend import (
    Backend,
    FastPathBackend,
    JobCounts,
    JobFilter,
    JobRecord,
    JobState,
    NewJob,
    Subscribers,
    TimeBucket,
    Transition,
    WakeupCallback,
    bucket_starts,
    parse_span,
    plausible_token,
)

from . import _schema, _sql
from ._claims import ClaimStore
from ._config import parse_options
from ._db import DUPLICATE_KEY, Database, error_code, retrying
from ._inserts import insert_jobs
from ._queues import QueueStore
from ._rows import job_record, micros, moment, utc
from ._schedules import ScheduleStore

log = logging.getLogger("sidequest.mysql")
_SKIP_ROUNDS = 20
_DELETE_BATCH = 5000


class MySQLBackend(ClaimStore, QueueStore, ScheduleStore):
    """Jobs, queues and schedules in three InnoDB tables of one database.

    ``MySQLBackend("mysql://user:pass@host:3306/db?pool_max=10")`` owns an asyncmy pool
    created on first use. Options (URL query or keyword, keywords win): ``pool_min``,
    ``pool_max``, ``connect_timeout``, ``unix_socket``, ``ssl`` (true/false, or an
    ``ssl.SSLContext`` as keyword), ``ssl_ca``. ``returning=False`` forces the
    MySQL code path (no ``INSERT … RETURNING``) on MariaDB, for tests.
    """

    notifies = False
    """No cross-process wake-ups: the engine polls (and this process's own writes wake it)."""

    def __init__(
        self,
        url: str,
        *,
        pool_min: int | None = None,
        pool_max: int | None = None,
        connect_timeout: float | None = None,
        unix_socket: str | None = None,
        ssl: bool | SSLContext | None = None,
        ssl_ca: str | None = None,
        returning: bool | None = None,
    ) -> None:
        overrides = {
            "pool_min": pool_min,
            "pool_max": pool_max,
            "connect_timeout": connect_timeout,
            "unix_socket": unix_socket,
            "ssl": ssl,
            "ssl_ca": ssl_ca,
        }
        self.options = parse_options(url, overrides)
        self.url = self.options.url
        self.applied_migrations: list[int] = []
        """Versions applied by the last ``migrate()`` of this instance (empty: up to date)."""
        self._db = Database(self.options)
        self._returning = returning
        self._subscribers = Subscribers()

    # schema ------------------------------------------------------------------------------------
    async def migrate(self) -> None:
        self.applied_migrations = await _schema.migrate(self._db)
        if self.applied_migrations:
            log.info("migrated %s to version %s", self.url, self.applied_migrations[-1])

    async def rollback_migration(self) -> None:
        version = await _schema.rollback(self._db)
        if version is not None:
            log.info("rolled back migration %s of %s", version, self.url)

    async def schema_version(self) -> int | None:
        """The applied migration version (None when never migrated)."""
        return await _schema.current_version(self._db)

    async def close(self) -> None:
        self._subscribers.clear()
        await self._db.close()

    async def now(self) -> datetime:
        row = await self._db.fetch_one(_sql.NOW_SQL)
        assert row is not None
        return moment(row[0])

    # wake-ups (this process only) ------------------------------------------------------------
    def subscribe(self, callback: WakeupCallback) -> None:
        self._subscribers.add(callback)

    def unsubscribe(self, callback: WakeupCallback) -> None:
        self._subscribers.discard(callback)

    def _wake(self) -> None:
        self._subscribers.wake()

    # enqueue -------------------------------------------------------------------------------------
    async def enqueue(
        self, jobs: Sequence[NewJob], *, skip_duplicates: bool = False, connection: Any = None
    ) -> list[JobRecord]:
        """Insert ``jobs`` in one transaction; the unique index decides duplicates.

        ``connection=`` is refused: this backend cannot join an application transaction.
        """
        if connection is not None:
            raise ConfigurationError(
                "the MySQL backend cannot join an application transaction (connection=);"
                " enqueue after your transaction commits"
            )
        if not jobs:
            return []
        records = await (self._insert_skipping(jobs) if skip_duplicates else self._insert(jobs))
        if records:
            self._wake()
        return records

    async def _insert(self, jobs: Sequence[NewJob]) -> list[JobRecord]:
        returning = self._returning
        if returning is None:
            returning = (await self._db.ready()).returning
        try:
            rows = await retrying(lambda: insert_jobs(self._db, jobs, returning=returning))
        except MySQLError as exc:
            if error_code(exc) != DUPLICATE_KEY:
                raise
            raise await self._duplicate(jobs) from None
        return [job_record(row) for row in rows]

    async def _insert_skipping(self, jobs: Sequence[NewJob]) -> list[JobRecord]:
        """Leave out held digests (and repeats), insert the rest; a lost race means look again."""
        for _ in range(_SKIP_ROUNDS):
            held = await self._holders([job.unique_digest for job in jobs if job.unique_digest])
            seen: set[str] = set()
            fresh = []
            for job in jobs:
                digest = job.unique_digest
                if digest is not None:
                    if digest in held or digest in seen:
                        continue
                    seen.add(digest)
                fresh.append(job)
            if not fresh:
                return []
            try:
                return await self._insert(fresh)
            except DuplicateJobError:
                continue  # another enqueue took one of these digests since we looked
        raise DuplicateJobError(None, jobs[0].job_class)

    async def _holders(self, digests: Sequence[str]) -> dict[str, int]:
        """Which of ``digests`` are held, and by which job."""
        if not digests:
            return {}
        unique = list(dict.fromkeys(digests))
        sql = _sql.HOLDER_OF.format(_sql.placeholders(len(unique)))
        return {str(digest): int(job_id) for job_id, digest in await self._db.fetch(sql, unique)}

    async def _duplicate(self, jobs: Sequence[NewJob]) -> DuplicateJobError:
        held = await self._holders([job.unique_digest for job in jobs if job.unique_digest])
        for job in jobs:
            if job.unique_digest in held:
                return DuplicateJobError(held[job.unique_digest], job.job_class)
        seen: set[str] = set()
        for job in jobs:  # a duplicate within the batch (or the holder finished meanwhile)
            if job.unique_digest is not None and job.unique_digest in seen:
                return DuplicateJobError(None, job.job_class)
            if job.unique_digest is not None:
                seen.add(job.unique_digest)
        return DuplicateJobError(None, jobs[0].job_class)

    # transitions ------------------------------------------------------------------------
    async def transition(self, job_id: int, change: Transition) -> JobRecord | None:
        sql, args = _sql.transition(job_id, change)
        try:
            record = await retrying(lambda: self._transition(job_id, sql, args))
        except MySQLError as exc:
            if error_code(exc) != DUPLICATE_KEY:
                raise
            raise await self._duplicate_of(job_id) from None
        if record is not None and record.state == JobState.WAITING:
            self._wake()
        return record

    async def _transition(self, job_id: int, sql: str, args: list[Any]) -> JobRecord | None:
        """The fenced UPDATE and the read-back, in one transaction (the row stays locked)."""
        async with self._db.transaction() as cur:
            if not await cur.execute(sql, args):
                return None
            await cur.execute(_sql.GET_JOB, (job_id,))
            row = await cur.fetchone()
        return None if row is None else job_record(row)

    async def _duplicate_of(self, job_id: int) -> DuplicateJobError:
        row = await self._db.fetch_one(
            f"SELECT unique_digest, class FROM {_sql.JOBS} WHERE id = %s", (job_id,)
        )
        if row is None or row[0] is None:
            return DuplicateJobError(None, "" if row is None else str(row[1]))
        holder = await self._db.fetch_one(
            f"SELECT id FROM {_sql.JOBS} WHERE unique_holder = %s AND id <> %s", (row[0], job_id)
        )
        return DuplicateJobError(None if holder is None else int(holder[0]), str(row[1]))

    # liveness --------------------------------------------------------------------------------------
    async def heartbeat(self, worker_id: str, leases: Mapping[int, str], lease: float | None) -> set[int]:
        pairs = {(int(job_id), token) for job_id, token in leases.items() if plausible_token(token)}
        if not pairs:
            return set()
        ids = sorted({job_id for job_id, _ in pairs})
        flat = [value for pair in sorted(pairs) for value in pair]
        if lease is not None:
            await self._db.execute(
                _sql.heartbeat(len(ids), len(pairs), renew=True), [micros(lease), *ids, *flat]
            )
        rows = await self._db.fetch(_sql.heartbeat(len(ids), len(pairs), renew=False), [*ids, *flat])
        return {int(row[0]) for row in rows if (int(row[0]), row[1]) in pairs}

    async def release_expired(self) -> list[JobRecord]:
        released = await retrying(self._release_expired)
        if any(job.state == JobState.WAITING for job in released):
            self._wake()
        return released

    async def _release_expired(self) -> list[JobRecord]:
        async with self._db.transaction() as cur:
            await cur.execute(_sql.EXPIRED_SELECT)
            ids = [row[0] for row in await cur.fetchall()]
            if not ids:
                return []
            await cur.execute(_sql.release_expired(len(ids)), [*_sql.RELEASE_ARGUMENTS, *ids])
            await cur.execute(_sql.jobs_by_ids(len(ids)), ids)
            rows = await cur.fetchall()
        return [job_record(row) for row in rows]

    async def delete_finished(self, older_than: datetime) -> int:
        """Delete in batches of 5,000 rows, so that no single transaction grows huge."""
        deleted = 0
        while True:
            count = await self._db.execute(_sql.DELETE_FINISHED, (utc(older_than), _DELETE_BATCH))
            deleted += count
            if count < _DELETE_BATCH:
                return deleted

    # reads -------------------------------------------------------------------------------------------
    async def get_job(self, job_id: int) -> JobRecord | None:
        row = await self._db.fetch_one(_sql.GET_JOB, (int(job_id),))
        return None if row is None else job_record(row)

    async def list_jobs(self, filters: JobFilter) -> list[JobRecord]:
        sql, args = _sql.list_jobs(filters)
        return [job_record(row) for row in await self._db.fetch(sql, args)]

    async def count_jobs(self, since: datetime | None = None, until: datetime | None = None) -> JobCounts:
        args = [utc(moment) for moment in (since, until) if moment is not None]
        rows = await self._db.fetch(_sql.count_jobs(since is not None, until is not None), args)
        return JobCounts.from_pairs({str(state): int(number) for state, number in rows})

    async def count_jobs_by_queue(self) -> dict[str, JobCounts]:
        counts: dict[str, dict[str, int]] = {}
        for name, state, number in await self._db.fetch(_sql.COUNT_BY_QUEUE):
            per_state = counts.setdefault(str(name), {})
            if state is not None:
                per_state[str(state)] = int(number)
        return {name: JobCounts.from_pairs(counts[name]) for name in sorted(counts)}

    async def count_jobs_over_time(self, span: str) -> list[TimeBucket]:
        _count, _unit, seconds = parse_span(span)
        starts = bucket_starts(await self.now(), span)
        first, end = utc(starts[0]), utc(starts[-1] + timedelta(seconds=seconds))
        per_bucket: list[dict[str, int]] = [{} for _ in starts]
        for bucket, state, number in await self._db.fetch(_sql.COUNT_OVER_TIME, (first, seconds, first, end)):
            if 0 <= int(bucket) < len(per_bucket):
                per_bucket[int(bucket)][str(state)] = int(number)
        return [
            TimeBucket(at=start, counts=JobCounts.from_pairs(pairs))
            for start, pairs in zip(starts, per_bucket, strict=True)
        ]

    async def job_queue_names(self) -> list[str]:
        return sorted(str(row[0]) for row in await self._db.fetch(_sql.JOB_QUEUE_NAMES))

    async def truncate(self) -> None:
        for table in (_sql.JOBS, _sql.QUEUES, _sql.SCHEDULES):
            await self._db.execute(f"DELETE FROM {table}")


if TYPE_CHECKING:  # mypy proves the class satisfies both public protocols
    _backend: type[Backend] = MySQLBackend
    _fast_path: type[FastPathBackend] = MySQLBackend
