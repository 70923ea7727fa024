"""The fluent job builder returned by ``Sidequest.build(JobClass)``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs
from attrs import field, frozen

from . import _payload, _uniqueness
from ._batches import Digest, JobBatch
from ._durations import Duration, as_utc, to_seconds, utcnow
from ._errors import ConfigurationError
from ._job import Job
from ._records import BackoffStrategy, JobRecord, NewJob, ScheduleRecord

if TYPE_CHECKING:
    from ._engine import Sidequest

J = TypeVar("J", bound=Job)


@frozen
class JobBuilder(Generic[J]):
    """Collects a job's options; every method returns a new builder (they are reusable).

    Defaults: queue ``"default"``, 5 attempts, 1 s retry delay, exponential backoff,
    no timeout, no uniqueness, available immediately.
    """

    _engine: Sidequest
    _job_class: type[J]
    _queue: str = "default"
    _max_attempts: int = 5
    _timeout: float | None = None
    _retry_delay: float = 1.0
    _backoff: BackoffStrategy = "exponential"
    _uniqueness: dict[str, Any] | None = None
    _available_at: datetime | None = None
    _delay: float = 0.0
    _constructor_args: tuple[Any, ...] = field(default=())

    def queue(self, name: str) -> JobBuilder[J]:
        if not isinstance(name, str) or not name or len(name) > 255:
            raise ConfigurationError(f"queue name must be a non-empty string of ≤ 255 chars, got {name!r}")
        return attrs.evolve(self, queue=name)

    def timeout(self, seconds: Duration | None) -> JobBuilder[J]:
        """Abort the run after ``seconds`` (None: no timeout). The timed-out run is retried."""
        if seconds is None:
            return attrs.evolve(self, timeout=None)
        value = to_seconds(seconds, "timeout")
        if value <= 0:
            raise ConfigurationError(f"timeout must be positive, got {seconds!r}")
        return attrs.evolve(self, timeout=value)

    def max_attempts(self, attempts: int) -> JobBuilder[J]:
        if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
            raise ConfigurationError(f"max_attempts must be an int ≥ 1, got {attempts!r}")
        return attrs.evolve(self, max_attempts=attempts)

    def retry_delay(self, seconds: Duration) -> JobBuilder[J]:
        """Base delay of the backoff (the fixed delay with ``backoff("fixed")``)."""
        return attrs.evolve(self, retry_delay=to_seconds(seconds, "retry_delay"))

    def backoff(self, strategy: BackoffStrategy) -> JobBuilder[J]:
        if strategy not in ("exponential", "fixed"):
            raise ConfigurationError(f"backoff must be 'exponential' or 'fixed', got {strategy!r}")
        return attrs.evolve(self, backoff=strategy)

    def unique(
        self, enabled: bool = True, *, with_args: bool = False, period: str | None = None
    ) -> JobBuilder[J]:
        """Refuse a duplicate while one is alive, or (``period=``) within a fixed UTC window."""
        return attrs.evolve(
            self, uniqueness=_uniqueness.uniqueness_config(enabled, with_args=with_args, period=period)
        )

    def available_at(self, when: datetime) -> JobBuilder[J]:
        return attrs.evolve(self, available_at=as_utc(when, "available_at"), delay=0.0)

    def delay(self, seconds: Duration) -> JobBuilder[J]:
        """Make the job available ``seconds`` after it is enqueued (database clock)."""
        return attrs.evolve(self, delay=to_seconds(seconds, "delay"), available_at=None)

    def with_(self, *constructor_args: Any) -> JobBuilder[J]:
        """Arguments passed to the job class's constructor (JSON)."""
        return attrs.evolve(self, constructor_args=tuple(constructor_args))

    # enqueue -----------------------------------------------------------------------------
    def new_job(self, args: Sequence[Any], kwargs: dict[str, Any]) -> NewJob:
        """Validate the payload and build the record to insert (nothing is stored yet)."""
        return self.new_jobs([(args, kwargs)])[0]

    def new_jobs(self, calls: Iterable[tuple[Sequence[Any], dict[str, Any]]]) -> list[NewJob]:
        """``new_job`` for each ``(args, kwargs)``; what all of them share is worked out once."""
        return list(self._batch(calls))

    def _batch(self, calls: Iterable[tuple[Sequence[Any], dict[str, Any]]]) -> JobBatch:
        """The jobs for ``calls``: every payload is checked now (``InvalidPayloadError``
        before anything is stored), each job built when it is first read."""
        script, job_class = self._engine.resolver.name_of(self._job_class)
        limit = self._engine.max_payload_bytes
        _payload.validate_items(tuple(self._constructor_args), "constructor_args", max_bytes=limit)
        payloads = [_checked(args, kwargs, limit) for args, kwargs in calls]
        template = NewJob(  # every field but the payload and digest, which are each job's own
            queue=self._queue,
            script=script,
            job_class=job_class,
            constructor_args=self._constructor_args,
            max_attempts=self._max_attempts,
            available_at=self._available_at,
            available_in=self._delay,
            timeout=self._timeout,
            uniqueness_config=self._uniqueness,
            retry_delay=self._retry_delay,
            backoff_strategy=self._backoff,
        )
        return JobBatch(template, payloads, self._digest(job_class))

    def _digest(self, job_class: str) -> Digest | None:
        """A job's uniqueness digest from its payload (None: no uniqueness). A fixed window
        is the one the batch's availability falls in, worked out once for all its jobs."""
        config = self._uniqueness
        if not config:
            return None
        available_at = self._available_at or (utcnow() + timedelta(seconds=self._delay))
        constructor_args = self._constructor_args

        def digest(args: Sequence[Any], kwargs: Mapping[str, Any]) -> str | None:
            return _uniqueness.digest(
                config,
                job_class=job_class,
                args=args,
                kwargs=kwargs,
                constructor_args=constructor_args,
                available_at=available_at,
            )

        return digest

    async def enqueue(self, *args: Any, connection: Any = None, **kwargs: Any) -> JobRecord:
        """Store one job; returns its record. Raises ``DuplicateJobError`` or ``InvalidPayloadError``.

        ``connection``: join the application's database transaction (backends that support it).
        """
        records = await self._engine.enqueue_jobs([self.new_job(args, kwargs)], connection=connection)
        return records[0]

    def enqueue_sync(self, *args: Any, **kwargs: Any) -> JobRecord:
        """``enqueue`` for synchronous code (no event loop needed; safe from many threads)."""
        return self._engine.call_sync(lambda twin: attrs.evolve(self, engine=twin).enqueue(*args, **kwargs))

    def enqueue_many_sync(
        self, arguments: Iterable[Sequence[Any]], *, skip_duplicates: bool = False
    ) -> list[JobRecord]:
        """``enqueue_many`` for synchronous code."""
        items = list(arguments)
        return self._engine.call_sync(
            lambda twin: attrs.evolve(self, engine=twin).enqueue_many(items, skip_duplicates=skip_duplicates)
        )

    async def enqueue_many(
        self,
        arguments: Iterable[Sequence[Any]],
        *,
        skip_duplicates: bool = False,
        connection: Any = None,
    ) -> list[JobRecord]:
        """Store one job per tuple of run arguments in a single round trip (all or nothing).

        With ``skip_duplicates`` duplicates are left out instead of failing the batch.
        """
        items = list(arguments)
        for index, item in enumerate(items):
            if not isinstance(item, tuple | list):
                raise ConfigurationError(
                    f"enqueue_many item {index} must be a tuple of run arguments, got {item!r}"
                )
        if not items:
            return []
        batch = self._batch((item, {}) for item in items)
        return await self._engine.enqueue_jobs(batch, skip_duplicates=skip_duplicates, connection=connection)

    async def schedule(
        self,
        cron: str,
        *args: Any,
        tz: str = "UTC",
        name: str | None = None,
        catch_up: str = "latest",
        no_overlap: bool = False,
        **kwargs: Any,
    ) -> ScheduleRecord:
        """Store a recurring job: one job per fire time of ``cron`` in ``tz``, across all nodes.

        Re-scheduling an existing ``name`` replaces its definition (keeping its position
        when the timing is unchanged). ``catch_up``: ``"latest"``, ``"all"`` or ``"none"``.
        """
        from . import _schedules

        if self._uniqueness is not None:
            raise ConfigurationError("scheduled jobs are unique per fire time; drop .unique()")
        record = _schedules.definition(
            self._engine,
            self._job_class,
            cron,
            args=args,
            kwargs=kwargs,
            name=name,
            tz=tz,
            queue=self._queue,
            catch_up=catch_up,
            no_overlap=no_overlap,
            max_attempts=self._max_attempts,
            timeout=self._timeout,
            retry_delay=self._retry_delay,
            backoff_strategy=self._backoff,
            constructor_args=self._constructor_args,
        )
        return await _schedules.save(self._engine, record)


def _checked(
    args: Sequence[Any], kwargs: dict[str, Any], limit: int
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """A job's payload as stored, once checked (``InvalidPayloadError`` names what is wrong);
    the arguments as the tuple the job is built with (the caller's own, when it is one)."""
    items = args if type(args) is tuple else tuple(args)
    _payload.validate_items(items, "args", max_bytes=limit)
    if kwargs:
        _payload.validate(kwargs, "kwargs", max_bytes=limit)
    return items, kwargs
