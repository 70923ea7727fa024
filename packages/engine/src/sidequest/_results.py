"""The run-result contract: what ``run()`` returns to decide a job's next state."""

from __future__ import annotations

from attrs import frozen

from ._records import JsonValue


@frozen
class Complete:
    """Finish the job as ``completed`` with ``result`` stored (must be JSON)."""

    result: JsonValue = None


@frozen
class Fail:
    """Finish the job as ``failed`` now, whatever attempts are left."""

    reason: str | BaseException


@frozen
class Retry:
    """Record the error and run again after ``delay`` seconds (exact), or the job's backoff.

    Consumes the attempt: on the last attempt the job fails instead.
    """

    reason: str | BaseException
    delay: float | None = None


@frozen
class Snooze:
    """Put the job back to ``waiting`` for ``delay`` seconds without consuming an attempt."""

    delay: float


Outcome = Complete | Fail | Retry | Snooze
