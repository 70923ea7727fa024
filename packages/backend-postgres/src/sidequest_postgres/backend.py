"""``PostgresBackend``: the sidequest Backend on PostgreSQL (asyncpg, SKIP LOCKED, LISTEN/NOTIFY)."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import asyncpg
from sidequest import ConfigurationError, DuplicateJobError, QueueNotFoundError
from sidequest.backend import (
    JobCounts,
    JobFilter,
    JobRecord,
    JobState,
    NewJob,
    QueueRecord,
    QueueState,
    Subscribers,
    TimeBucket,
    Transition,
    WakeupCallback,
    bucket_starts,
    check_concurrency,
    check_order,
    parse_span,
    plausible_token,
)

from . import _schema
from ._codec import dumps
from ._config import PostgresOptions, parse_options
from ._listener import Listener
from ._params import insert_document, insert_values, queue_values, shared_document, shared_values
from ._pipeline import PIPELINE_FROM, fetch_in_parts
from ._rows import job_record, queue_record
from ._schedules import ScheduleStore
from ._spare import SPARE_FROM_POOL_MAX, Spare
from ._sql import FINISHED_STATES, Statements
from ._timestamps import install as install_timestamp_codec

log = logging.getLogger("sidequest.postgres")
if TYPE_CHECKING:
    Pool = asyncpg.Pool[asyncpg.Record]
_DUPLICATE_KEY = re.compile(r"\(unique_digest\)=\((.*)\) already exists")


class PostgresBackend(ScheduleStore):
    """Jobs and queues in PostgreSQL tables of one schema.

    ``PostgresBackend("postgresql://user:pass@host/db?schema=jobs&pool_max=20")`` owns an
    asyncpg pool created on first use; ``PostgresBackend(url, pool=pool)`` or
    ``PostgresBackend.from_pool(pool, schema=...)`` uses the application's pool (and never
    closes it). Options may also be passed as keyword arguments (they win over the URL):
    ``schema``, ``pool_min``, ``pool_max``, ``notify``, ``statement_cache_size``,
    ``connect_timeout``, ``probe_interval``.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        pool: Pool | None = None,
        schema: str | None = None,
        pool_min: int | None = None,
        pool_max: int | None = None,
        notify: bool | None = None,
        statement_cache_size: int | None = None,
        connect_timeout: float | None = None,
        probe_interval: float | None = None,
    ) -> None:
        if url is None and pool is None:
            raise ConfigurationError("PostgresBackend needs a postgresql:// URL or an asyncpg pool")
        overrides = {
            "schema": schema,
            "pool_min": pool_min,
            "pool_max": pool_max,
            "notify": notify,
            "statement_cache_size": statement_cache_size,
            "connect_timeout": connect_timeout,
            "probe_interval": probe_interval,
        }
        self.options: PostgresOptions = parse_options(url, overrides)
        self.url = self.options.url if url is not None else f"postgresql://(pool)/?schema={self.schema}"
        self.notifies = self.options.notify
        self.channel = self.options.channel
        """The NOTIFY channel (derived from the schema)."""
        self.applied_migrations: list[int] = []
        """Versions applied by the last ``migrate()`` call of this instance (empty: up to date)."""
        self._sql = Statements(self.schema, notify=self.notifies)
        self._pool: Pool | None = pool
        self._owns_pool = pool is None
        self._pool_lock: asyncio.Lock | None = None
        self._spare: Spare | None = None
        self._closed = False
        self._subscribers = Subscribers()
        self._listener: Listener | None = None

    @classmethod
    def from_pool(cls, pool: Pool, *, schema: str | None = None, **options: Any) -> PostgresBackend:
        """A backend on the application's asyncpg pool (the pool stays the application's).

        Pass ``url=`` too so that LISTEN gets a connection of its own; otherwise the
        listener holds one connection of the pool.
        """
        url = options.pop("url", None)
        return cls(url, pool=pool, schema=schema, **options)

    @property
    def schema(self) -> str:
        return self.options.schema

    # connections ----------------------------------------------------------------------------
    async def _db(self) -> Pool:
        pool = self._pool
        if pool is not None:
            return pool
        return await self._create_pool()

    async def _create_pool(self) -> Pool:
        if self._closed:
            raise ConfigurationError("this PostgreSQL backend is closed")
        if self._pool_lock is None:
            self._pool_lock = asyncio.Lock()
        async with self._pool_lock:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(
                    self.options.dsn,
                    min_size=self.options.pool_min,
                    max_size=self.options.pool_max,
                    reset=_keep_session,
                    init=install_timestamp_codec,
                    **self.options.pool_arguments(),
                )
                self._spare = Spare(self._pool, enabled=self.options.pool_max >= SPARE_FROM_POOL_MAX)
            return self._pool

    async def _fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        """A single statement (no transaction of its own): on the spare connection of our own
        pool when it is free (``_spare``), through the pool otherwise."""
        spare = self._spare
        if spare is not None:
            return await spare.fetch(sql, *args)
        rows: list[asyncpg.Record] = await (await self._db()).fetch(sql, *args)
        return rows

    async def _open_listener_connection(self) -> Any:
        if self.options.dsn is not None:
            return await asyncpg.connect(self.options.dsn, **self.options.pool_arguments())
        return await (await self._db()).acquire()

    async def _close_listener_connection(self, conn: Any, broken: bool) -> None:
        if self.options.dsn is not None:
            if broken:
                conn.terminate()
            else:
                await asyncio.wait_for(conn.close(), 5)
            return
        pool = await self._db()
        if broken:
            conn.terminate()
        await pool.release(conn, timeout=5)

    # schema ------------------------------------------------------------------------------------
    async def migrate(self) -> None:
        async with (await self._db()).acquire() as conn:
            self.applied_migrations = await _schema.migrate(conn, self.schema)
        if self.applied_migrations:
            log.info("migrated schema %s to version %s", self.schema, self.applied_migrations[-1])

    async def rollback_migration(self) -> None:
        async with (await self._db()).acquire() as conn:
            version = await _schema.rollback(conn, self.schema)
        if version is not None:
            log.info("rolled back migration %s of schema %s", version, self.schema)

    async def schema_version(self) -> int | None:
        """The applied migration version (None when the schema was never migrated)."""
        async with (await self._db()).acquire() as conn:
            return await _schema.current_version(conn, self.schema)

    async def close(self) -> None:
        self._closed = True
        self._subscribers.clear()
        listener, self._listener = self._listener, None
        if listener is not None:
            await listener.stop()
        spare, self._spare = self._spare, None
        if spare is not None:
            await spare.close()
        pool, self._pool = self._pool, None
        if pool is not None and self._owns_pool:
            try:
                await asyncio.wait_for(pool.close(), 10)
            except TimeoutError:
                pool.terminate()

    async def now(self) -> datetime:
        value: datetime = await (await self._db()).fetchval(self._sql.now)
        return value

    # notifications -------------------------------------------------------------------------------
    def subscribe(self, callback: WakeupCallback) -> None:
        self._subscribers.add(callback)
        if self.notifies and not self._closed:
            if self._listener is None:
                self._listener = Listener(
                    channel=self.channel,
                    open_connection=self._open_listener_connection,
                    close_connection=self._close_listener_connection,
                    on_notify=self._wake,
                    probe_interval=self.options.probe_interval,
                    probe_timeout=min(5.0, max(0.5, self.options.probe_interval)),
                )
            try:
                self._listener.start()
            except RuntimeError:  # no running event loop yet: claim() starts it
                pass

    def unsubscribe(self, callback: WakeupCallback) -> None:
        self._subscribers.discard(callback)

    @property
    def listener_pid(self) -> int | None:
        """Backend pid of the LISTEN connection (None when not listening)."""
        return self._listener.pid if self._listener is not None else None

    async def wait_listening(self, timeout: float = 10.0) -> bool:
        """Wait until the LISTEN connection is up (False when notifications are off or on timeout)."""
        if self._listener is None:
            return False
        return await self._listener.wait_ready(timeout)

    def _wake(self) -> None:
        self._subscribers.wake()

    def _wake_locally(self) -> None:
        """Without NOTIFY, at least this process's subscribers learn about new work at once."""
        if not self.notifies:
            self._wake()

    # jobs ------------------------------------------------------------------------------------------
    async def enqueue(
        self, jobs: Sequence[NewJob], *, skip_duplicates: bool = False, connection: Any = None
    ) -> list[JobRecord]:
        """Insert ``jobs`` with one statement (so in one transaction and one round trip).

        ``connection``: an asyncpg connection whose open transaction the insert joins; the
        jobs (and the NOTIFY) become visible only if that transaction commits.
        """
        if not jobs:
            return []
        if connection is not None and not callable(getattr(connection, "fetch", None)):
            raise ConfigurationError(
                f"connection= must be an asyncpg connection, got {type(connection).__name__}"
            )
        shape = (bool(skip_duplicates), self.notifies)
        channel = [self.channel] if self.notifies else []  # the NOTIFY channel follows the rows
        shared = shared_values(jobs) if len(jobs) > 1 else None
        if connection is None and len(jobs) >= PIPELINE_FROM:
            return await self._enqueue_in_parts(jobs, shape, shared, channel)
        if len(jobs) == 1:
            sql, args = self._sql.enqueue_one[shape], [*insert_values(jobs[0]), *channel]
        elif shared is not None:
            sql, args = self._sql.enqueue_shared[shape], [shared_document(jobs), *shared, *channel]
        else:
            sql, args = self._sql.enqueue[shape], [insert_document(jobs), *channel]
        try:
            if connection is None:
                rows = await self._fetch(sql, *args)
            else:
                rows = await connection.fetch(sql, *args)
        except asyncpg.UniqueViolationError as exc:
            raise await self._duplicate(exc, jobs) from None
        if rows and connection is None:
            self._wake_locally()
        return _inserted(jobs, rows)

    async def _enqueue_in_parts(
        self,
        jobs: Sequence[NewJob],
        shape: tuple[bool, bool],
        shared: list[Any] | None,
        channel: list[str],
    ) -> list[JobRecord]:
        """A large batch as several statements in one transaction (see ``_pipeline``)."""
        if shared is None:
            sql, encode, extra = self._sql.enqueue_in_parts[shape], insert_document, channel
        else:
            sql, encode = self._sql.enqueue_shared_in_parts[shape], shared_document
            extra = [*shared, *channel]
        try:
            async with (await self._db()).acquire() as conn:
                records = await fetch_in_parts(conn, sql, jobs, encode, _inserted, extra)
        except asyncpg.UniqueViolationError as exc:
            raise await self._duplicate(exc, jobs) from None
        if records:
            self._wake_locally()
        return records

    async def _duplicate(
        self, exc: asyncpg.UniqueViolationError, jobs: Sequence[NewJob]
    ) -> DuplicateJobError:
        match = _DUPLICATE_KEY.search(exc.detail or "")
        digest = match.group(1) if match else None
        job_class = next((job.job_class for job in jobs if job.unique_digest == digest), jobs[0].job_class)
        existing = await self._holder(digest, 0) if digest else None
        return DuplicateJobError(existing, job_class)

    async def _holder(self, digest: str, other_than: int) -> int | None:
        holder: int | None = await (await self._db()).fetchval(self._sql.holder_of_digest, digest, other_than)
        return holder

    async def claim(self, queue: str, limit: int, worker_id: str, lease: float) -> list[JobRecord]:
        if limit <= 0:
            return []
        listener = self._listener
        if listener is not None and not listener.running and not self._closed:
            listener.start()  # subscribed without a running loop, or the task ended: listen again
        rows = await self._fetch(self._sql.claim, queue, int(limit), worker_id, float(lease))
        return [job_record(row) for row in rows]

    async def claim_and_start(self, queue: str, limit: int, worker_id: str, lease: float) -> list[JobRecord]:
        """``claim`` straight into running (attempt + 1, attempted_at), one statement."""
        if limit <= 0:
            return []
        listener = self._listener
        if listener is not None and not listener.running and not self._closed:
            listener.start()
        rows = await self._fetch(self._sql.claim_and_start, queue, int(limit), worker_id, float(lease))
        return [job_record(row) for row in rows]

    async def complete_many(self, items: Sequence[tuple[int, str, Any]]) -> set[int]:
        """Complete running jobs ``(id, lease_token, result)`` in one statement (fenced per row).

        The tokens and the results travel as JSON objects keyed by id (results only when not
        None). An id given more than once (never by the engine) gets one more statement per
        repetition, so every pair is tried as it would be on its own.
        """
        pending = [(i, token, result) for i, token, result in items if plausible_token(token)]
        done: set[int] = set()
        while pending:
            ids: list[int] = []
            tokens: dict[str, str] = {}
            results: dict[str, Any] = {}
            repeated = []
            for item in pending:
                job_id, token, result = item
                key = str(job_id)
                if key in tokens:
                    repeated.append(item)
                    continue
                ids.append(job_id)
                tokens[key] = token
                if result is not None:
                    results[key] = result
            rows = await self._fetch(self._sql.complete_many, ids, dumps(tokens), dumps(results))
            done.update(row[0] for row in rows)
            pending = [item for item in repeated if item[0] not in done]
        return done

    async def transition(self, job_id: int, change: Transition) -> JobRecord | None:
        if change.lease_token is not None and not plausible_token(change.lease_token):
            return None  # not a token we ever issued: the guard cannot match
        sql, args = self._sql.transition(job_id, change, self.channel)
        try:
            rows = await self._fetch(sql, *args)
        except asyncpg.UniqueViolationError as exc:
            match = _DUPLICATE_KEY.search(exc.detail or "")
            current = await self.get_job(job_id)
            existing = await self._holder(match.group(1), job_id) if match else None
            raise DuplicateJobError(existing, current.job_class if current else "") from None
        if not rows:
            return None
        record = job_record(rows[0])
        if record.state == JobState.WAITING:
            self._wake_locally()
        return record

    async def heartbeat(self, worker_id: str, leases: Mapping[int, str], lease: float | None) -> set[int]:
        held = {job_id: token for job_id, token in leases.items() if plausible_token(token)}
        if not held:
            return set()
        ids, tokens = list(held), dumps({str(job_id): token for job_id, token in held.items()})
        if lease is None:
            rows = await self._fetch(self._sql.heartbeat_check, ids, tokens)
        else:
            rows = await self._fetch(self._sql.heartbeat_renew, ids, tokens, float(lease))
        return {row[0] for row in rows}

    async def release_expired(self) -> list[JobRecord]:
        args: list[Any] = list(self._sql.release_arguments)
        if self.notifies:
            args.append(self.channel)
        rows = await self._fetch(self._sql.release_expired, *args)
        released = [job_record(row) for row in rows]
        if any(job.state == JobState.WAITING for job in released):
            self._wake_locally()
        return released

    async def delete_finished(self, older_than: datetime) -> int:
        pool = await self._db()
        deleted: int = await pool.fetchval(self._sql.delete_finished, older_than)
        return deleted

    async def get_job(self, job_id: int) -> JobRecord | None:
        row = await (await self._db()).fetchrow(self._sql.get_job, job_id)
        return None if row is None else job_record(row)

    async def list_jobs(self, filters: JobFilter) -> list[JobRecord]:
        sql, args = self._sql.list_jobs(filters)
        return [job_record(row) for row in await (await self._db()).fetch(sql, *args)]

    async def count_jobs(self, since: datetime | None = None, until: datetime | None = None) -> JobCounts:
        bounds = [moment for moment in (since, until) if moment is not None]
        sql = self._sql.count_jobs[(since is not None, until is not None)]
        rows = await (await self._db()).fetch(sql, *bounds)
        return JobCounts.from_pairs({row[0]: row[1] for row in rows})

    async def count_jobs_by_queue(self) -> dict[str, JobCounts]:
        return _per_queue(await (await self._db()).fetch(self._sql.count_jobs_by_queue))

    async def estimate_job_counts(self) -> JobCounts:
        """Counts per state; states above ``ESTIMATE_ABOVE`` rows come from table statistics."""
        pool = await self._db()
        large, _rows = await self._large_states(pool)
        rows = await pool.fetch(self._sql.count_small_states, *_small_arguments(large))
        pairs = {row[0]: row[1] for row in rows} | {state: round(n) for state, n in large.items()}
        return JobCounts.from_pairs(pairs, estimated=large)

    async def estimate_job_counts_by_queue(self) -> dict[str, JobCounts]:
        """Counts per queue and state; large states are split across queues by a block sample."""
        pool = await self._db()
        large, table_rows = await self._large_states(pool)
        exact = await pool.fetch(self._sql.count_small_states_by_queue, *_small_arguments(large))
        rows: list[Any] = list(exact)
        if large:
            percent = min(100.0, 100.0 * SAMPLE_ROWS / max(table_rows, 1.0))
            sample = await pool.fetch(self._sql.sample_by_queue, percent, list(large))
            sampled: dict[str, int] = {}
            for _queue, state, number in sample:
                sampled[state] = sampled.get(state, 0) + number
            rows += [(queue, state, round(large[state] * n / sampled[state])) for queue, state, n in sample]
        return _per_queue(rows, estimated=large)

    async def _large_states(self, pool: Pool) -> tuple[dict[str, float], float]:
        """The states the statistics put above ``ESTIMATE_ABOVE`` rows, and the table's row count."""
        rows = await pool.fetch(self._sql.state_estimates, self.schema, self._sql.jobs)
        table_rows = float(rows[0][2]) if rows else 0.0
        large = {row[0]: float(row[1]) for row in rows if row[0] in _ESTIMABLE and row[1] >= ESTIMATE_ABOVE}
        return large, table_rows

    async def count_jobs_over_time(self, span: str) -> list[TimeBucket]:
        _count, _unit, seconds = parse_span(span)
        starts = bucket_starts(await self.now(), span)
        end = starts[-1] + timedelta(seconds=seconds)
        per_bucket: list[dict[str, int]] = [{} for _ in starts]
        for bucket, state, number in await (await self._db()).fetch(
            self._sql.count_jobs_over_time, starts[0], seconds, end
        ):
            if 0 <= bucket < len(per_bucket):
                per_bucket[bucket][state] = number
        return [
            TimeBucket(at=start, counts=JobCounts.from_pairs(pairs))
            for start, pairs in zip(starts, per_bucket, strict=True)
        ]

    async def job_queue_names(self) -> list[str]:
        return sorted(row[0] for row in await (await self._db()).fetch(self._sql.job_queue_names))

    # queues ------------------------------------------------------------------------------------------
    async def get_queue(self, name: str) -> QueueRecord | None:
        row = await (await self._db()).fetchrow(self._sql.get_queue, name)
        return None if row is None else queue_record(row)

    async def list_queues(self, order_by: str = "priority", descending: bool = True) -> list[QueueRecord]:
        check_order(order_by)
        queues = [queue_record(row) for row in await (await self._db()).fetch(self._sql.list_queues)]
        return sorted(queues, key=lambda q: (getattr(q, order_by), q.name), reverse=descending)

    async def create_queue(self, queue: QueueRecord) -> QueueRecord:
        check_concurrency(queue.concurrency)
        row = await (await self._db()).fetchrow(self._sql.create_queue, *queue_values(queue))
        if row is None:
            raise ConfigurationError(f"queue {queue.name!r} already exists")
        return queue_record(row)

    async def ensure_queue(self, queue: QueueRecord) -> QueueRecord:
        check_concurrency(queue.concurrency)
        pool = await self._db()
        for _ in range(5):  # a concurrent insert may commit between our insert and our read
            row = await pool.fetchrow(self._sql.ensure_queue, *queue_values(queue))
            if row is not None:
                return queue_record(row)
        raise ConfigurationError(f"queue {queue.name!r} could not be created or read")

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
        pool = await self._db()
        row = await pool.fetchrow(
            self._sql.update_queue,
            name,
            concurrency,
            None if priority is None else int(priority),
            None if state is None else QueueState(state).value,
        )
        if row is None:
            raise QueueNotFoundError(name)
        if state == QueueState.ACTIVE:
            if self.notifies:
                await pool.execute(self._sql.notify_queue, self.channel, name)
            self._wake_locally()
        return queue_record(row)

    async def truncate(self) -> None:
        await (await self._db()).execute(self._sql.truncate)


ESTIMATE_ABOVE = 100_000
"""Estimated counts: states the statistics put above this many rows are not counted row by row."""
SAMPLE_ROWS = 20_000
"""About how many rows the block sample reads to split estimated states across queues."""
_ESTIMABLE = frozenset({"waiting", "completed", "failed", "canceled"})


def _inserted(jobs: Sequence[NewJob], rows: Sequence[Any]) -> list[JobRecord]:
    """Records of the inserted jobs from ``(id, inserted_at, available_at, digest)`` rows in id order.

    Ids follow the order of ``jobs``; with ``skip_duplicates`` a unique job whose digest is
    not the next row's was skipped (a job without a digest is never skipped).
    """
    records: list[JobRecord] = []
    remaining = iter(rows)
    row = next(remaining, None)
    for job in jobs:
        if row is None:
            break
        if job.unique_digest is not None and row[3] != job.unique_digest:
            continue
        records.append(job.inserted(row[0], row[1], row[2]))
        row = next(remaining, None)
    return records


def _small_arguments(large: Mapping[str, float]) -> tuple[list[str], bool]:
    """Arguments of the exact part: the finished states to count, and whether to count waiting."""
    return [state for state in FINISHED_STATES if state not in large], "waiting" not in large


def _per_queue(rows: Sequence[Any], estimated: Mapping[str, float] | None = None) -> dict[str, JobCounts]:
    """``(queue, state, count)`` rows (state None: a queue with no jobs) → counts per queue."""
    counts: dict[str, dict[str, int]] = {}
    for name, state, number in rows:
        per_state = counts.setdefault(name, {})
        if state is not None:
            per_state[state] = per_state.get(state, 0) + number
    marked = estimated or {}
    return {name: JobCounts.from_pairs(counts[name], estimated=marked) for name in sorted(counts)}


async def _keep_session(_conn: Any) -> None:
    """Pool reset hook: our statements leave no session state, so skip asyncpg's reset query.

    (asyncpg still rolls back a transaction left open.) This saves a round trip per release.
    """
