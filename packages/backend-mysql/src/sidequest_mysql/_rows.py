"""Rows ↔ records: fixed column lists decoded by position, and values turned into parameters."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sidequest.backend import (
    ErrorRecord,
    JobRecord,
    JobState,
    NewJob,
    QueueRecord,
    QueueState,
    ScheduleRecord,
    decode_payload,
    json_dumps,
    json_loads,
    new_job_values,
    schedule_from_values,
)
from sidequest.backend import schedule_values as shared_schedule_values

JOB_COLUMNS = (
    "id, queue, state, script, class, args, kwargs, constructor_args, attempt, max_attempts,"
    " inserted_at, available_at, timeout, result, errors, attempted_at, completed_at, failed_at,"
    " canceled_at, claimed_at, claimed_by, unique_digest, uniqueness_config, retry_delay,"
    " backoff_strategy, lease_token, lease_expires_at"
)
QUEUE_COLUMNS = "name, concurrency, priority, state"
SCHEDULE_COLUMNS = (
    "name, cron, tz, queue, script, class, args, kwargs, constructor_args, max_attempts, timeout,"
    " retry_delay, backoff_strategy, catch_up, no_overlap, declared, state, next_fire_at,"
    " last_fired_at, last_job_id"
)
INSERT_COLUMNS = (
    "queue, state, script, class, args, kwargs, constructor_args, attempt, max_attempts, inserted_at,"
    " available_at, timeout, errors, unique_digest, uniqueness_config, unique_forever, retry_delay,"
    " backoff_strategy"
)
INSERT_VALUES = (
    "(%s, 'waiting', %s, %s, %s, %s, %s, 0, %s, UTC_TIMESTAMP(3),"
    " COALESCE(%s, TIMESTAMPADD(MICROSECOND, %s, UTC_TIMESTAMP(3))), %s, '[]', %s, %s, %s, %s, %s)"
)
"""One job's row; ``inserted_at`` and a relative ``available_at`` come from the database clock."""

_STATES = {state.value: state for state in JobState}
_MS = timedelta(milliseconds=1)


def loads(text: Any) -> Any:
    return None if text is None else json_loads(text)


def moment(value: datetime) -> datetime:
    """A stored DATETIME (naive, UTC) as an aware UTC datetime."""
    return value.replace(tzinfo=UTC)


def moment_or_none(value: datetime | None) -> datetime | None:
    return None if value is None else value.replace(tzinfo=UTC)


def utc(value: datetime) -> datetime:
    """An aware datetime as the naive UTC value a DATETIME(3) column stores (milliseconds)."""
    at = value.astimezone(UTC) if value.tzinfo is not None else value
    return at.replace(tzinfo=None, microsecond=at.microsecond - at.microsecond % 1000)


def utc_or_none(value: datetime | None) -> datetime | None:
    return None if value is None else utc(value)


def micros(seconds: float) -> int:
    """A duration as whole milliseconds, in microseconds (``TIMESTAMPADD(MICROSECOND, …)``)."""
    return (timedelta(seconds=seconds) // _MS) * 1000


def job_record(row: Sequence[Any], **overrides: Any) -> JobRecord:
    """Decode a ``JOB_COLUMNS`` row; a corrupt payload sets ``decode_error`` instead of raising."""
    args, kwargs, ctor, problem = decode_payload(loads, row[5], row[6], row[7])
    try:
        result = loads(row[13])
        errors = tuple(ErrorRecord.from_json(e) for e in loads(row[14]))
        uniqueness = loads(row[22])
    except (ValueError, TypeError, AttributeError) as exc:
        result, errors, uniqueness = None, (), None
        problem = problem or f"undecodable stored result, errors or uniqueness config: {exc}"
    fields: dict[str, Any] = {
        "id": row[0],
        "queue": row[1],
        "state": _STATES[row[2]],
        "script": row[3],
        "job_class": row[4],
        "args": args,
        "kwargs": kwargs,
        "constructor_args": ctor,
        "attempt": row[8],
        "max_attempts": row[9],
        "inserted_at": moment(row[10]),
        "available_at": moment(row[11]),
        "timeout": row[12],
        "result": result,
        "errors": errors,
        "attempted_at": moment_or_none(row[15]),
        "completed_at": moment_or_none(row[16]),
        "failed_at": moment_or_none(row[17]),
        "canceled_at": moment_or_none(row[18]),
        "claimed_at": moment_or_none(row[19]),
        "claimed_by": row[20],
        "unique_digest": row[21],
        "uniqueness_config": uniqueness,
        "retry_delay": row[23],
        "backoff_strategy": row[24],
        "lease_token": row[25],
        "lease_expires_at": moment_or_none(row[26]),
        "decode_error": problem,
    }
    fields.update(overrides)
    return JobRecord(**fields)


def insert_values(job: NewJob) -> list[Any]:
    """The parameters of one ``INSERT_VALUES`` row."""
    return new_job_values(job, dumps=json_dumps, moment=utc, delay=micros)


def queue_record(row: Sequence[Any]) -> QueueRecord:
    return QueueRecord(name=row[0], concurrency=row[1], priority=row[2], state=QueueState(row[3]))


def queue_values(queue: QueueRecord) -> tuple[str, int, int, str]:
    return queue.name, int(queue.concurrency), int(queue.priority), QueueState(queue.state).value


def schedule_record(row: Sequence[Any]) -> ScheduleRecord:
    return schedule_from_values(row, loads=loads, moment=moment)


def schedule_values(s: ScheduleRecord) -> list[Any]:
    return shared_schedule_values(s, dumps=json_dumps, moment=utc)
