"""The ``Job`` base class users subclass."""

from __future__ import annotations

import logging
from collections.abc import Mapping, MutableMapping
from datetime import datetime, timedelta
from typing import Any

from ._abort import AbortSignal
from ._durations import to_seconds
from ._records import ErrorRecord, JobRecord, JobState, JsonValue
from ._results import Complete, Fail, Retry, Snooze

_job_logger = logging.getLogger("sidequest.job")


class JobLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """A logger that prefixes each message with the job's class, id and attempt."""

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, MutableMapping[str, Any]]:
        extra = dict(self.extra or {})
        kwargs["extra"] = {**extra, **kwargs.get("extra", {})}
        return f"[{extra['job_class']}#{extra['job_id']} attempt {extra['attempt']}] {msg}", kwargs


class Job:
    """Base class of a job: subclass it and implement ``run`` (async, or plain ``def``).

    ``run`` receives the enqueued arguments. Return a value (stored as the result), or
    ``return self.complete(...)``, ``self.fail(...)``, ``self.retry(...)`` or
    ``self.snooze(...)``. Raising an exception retries the job (or fails it when its
    attempts are exhausted). Runtime metadata (``self.id``, ``self.attempt``, …) is set
    before ``run`` is called; it is not available in ``__init__``.
    """

    _record: JobRecord | None = None
    _abort_signal: AbortSignal | None = None
    _logger: logging.LoggerAdapter | None = None  # type: ignore[type-arg]

    def run(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__qualname__} must implement run()")

    # result contract ----------------------------------------------------------------
    def complete(self, result: JsonValue = None) -> Complete:
        """Build a completed result. It only takes effect when returned from ``run``."""
        return Complete(result)

    def fail(self, reason: str | BaseException) -> Fail:
        """Build a failed result (no retry). It only takes effect when returned from ``run``."""
        return Fail(reason)

    def retry(self, reason: str | BaseException, delay: float | timedelta | None = None) -> Retry:
        """Build a retry result: ``delay`` seconds exactly, or the job's backoff when None.

        It consumes the attempt, and only takes effect when returned from ``run``.
        """
        return Retry(reason, None if delay is None else to_seconds(delay, "retry delay"))

    def snooze(self, delay: float | timedelta) -> Snooze:
        """Build a snooze result (back to waiting, attempt not consumed).

        It only takes effect when returned from ``run``.
        """
        return Snooze(to_seconds(delay, "snooze delay"))

    # runtime metadata ----------------------------------------------------------------
    def _bind(self, record: JobRecord, signal: AbortSignal) -> None:
        self._record = record
        self._abort_signal = signal
        self._logger = None  # made on first use: most jobs never log

    @property
    def record(self) -> JobRecord | None:
        """The stored record of the current run (None outside a run)."""
        return self._record

    @property
    def id(self) -> int | None:
        return self._record.id if self._record else None

    @property
    def attempt(self) -> int:
        """The current attempt, starting at 1."""
        return self._record.attempt if self._record else 0

    @property
    def max_attempts(self) -> int:
        return self._record.max_attempts if self._record else 0

    @property
    def queue(self) -> str | None:
        return self._record.queue if self._record else None

    @property
    def state(self) -> JobState | None:
        return self._record.state if self._record else None

    @property
    def inserted_at(self) -> datetime | None:
        return self._record.inserted_at if self._record else None

    @property
    def args(self) -> tuple[JsonValue, ...]:
        return self._record.args if self._record else ()

    @property
    def kwargs(self) -> Mapping[str, JsonValue]:
        return self._record.kwargs if self._record else {}

    @property
    def errors(self) -> tuple[ErrorRecord, ...]:
        """Errors recorded by earlier attempts."""
        return self._record.errors if self._record else ()

    @property
    def abort_signal(self) -> AbortSignal:
        """Set when the job times out, is canceled or the worker shuts down."""
        if self._abort_signal is None:
            self._abort_signal = AbortSignal()
        return self._abort_signal

    @property
    def logger(self) -> logging.LoggerAdapter:  # type: ignore[type-arg]
        """A logger whose lines carry the job's class, id and attempt."""
        if self._logger is None:
            record = self._record
            if record is None:
                return logging.LoggerAdapter(_job_logger, {})
            self._logger = JobLogger(
                _job_logger,
                {
                    "job_id": record.id,
                    "job_class": record.job_class,
                    "attempt": record.attempt,
                    "queue": record.queue,
                },
            )
        return self._logger
