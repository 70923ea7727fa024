"""Rows → records. Column lists are fixed so rows are decoded by position (fast)."""

from __future__ import annotations

from collections.abc import Sequence

from asyncpg import Record
from sidequest.backend import (
    ErrorRecord,
    JobRecord,
    JobState,
    QueueRecord,
    QueueState,
    ScheduleRecord,
    decode_payload,
    json_loads,
    make_job_record,
    schedule_from_values,
)

from ._codec import loads, ms

JOB_COLUMNS = (
    "id",
    "queue",
    "state",
    "script",
    "class",
    "args::text",
    "kwargs::text",
    "constructor_args::text",
    "attempt",
    "max_attempts",
    "inserted_at",
    "available_at",
    "timeout",
    "result::text",
    "errors::text",
    "attempted_at",
    "completed_at",
    "failed_at",
    "canceled_at",
    "claimed_at",
    "claimed_by",
    "unique_digest",
    "uniqueness_config::text",
    "retry_delay",
    "backoff_strategy",
    "lease_token::text",
    "lease_expires_at",
)
QUEUE_COLUMNS = ("name", "concurrency", "priority", "state")
SCHEDULE_COLUMNS = (
    "name",
    "cron",
    "tz",
    "queue",
    "script",
    "class",
    "args::text",
    "kwargs::text",
    "constructor_args::text",
    "max_attempts",
    "timeout",
    "retry_delay",
    "backoff_strategy",
    "catch_up",
    "no_overlap",
    "declared",
    "state",
    "next_fire_at",
    "last_fired_at",
    "last_job_id",
)

_STATES = {state.value: state for state in JobState}
_EMPTY_LIST = "[]"


def select_list(columns: Sequence[str], alias: str = "") -> str:
    """``a.id, a.args::text AS args, …`` (every column keeps its plain name)."""
    prefix = f"{alias}." if alias else ""
    parts = []
    for column in columns:
        name, _, cast = column.partition("::")
        parts.append(f"{prefix}{name}::{cast} AS {name}" if cast else f"{prefix}{name}")
    return ", ".join(parts)


def job_record(row: Record) -> JobRecord:
    args, kwargs, ctor, problem = decode_payload(json_loads, row[5], row[6], row[7])
    try:
        result = None if row[13] is None else loads(row[13])
        errors = () if row[14] == _EMPTY_LIST else tuple(ErrorRecord.from_json(e) for e in loads(row[14]))
    except (ValueError, TypeError, AttributeError) as exc:
        result, errors = None, ()
        problem = problem or f"undecodable stored result or errors: {exc}"
    return make_job_record(
        row[0],  # id
        row[1],  # queue
        _STATES[row[2]],
        row[3],  # script
        row[4],  # job_class
        args,
        kwargs,
        ctor,
        row[8],  # attempt
        row[9],  # max_attempts
        ms(row[10]),  # inserted_at
        ms(row[11]),  # available_at
        row[12],  # timeout
        result,
        errors,
        None if row[15] is None else ms(row[15]),  # attempted_at
        None if row[16] is None else ms(row[16]),  # completed_at
        None if row[17] is None else ms(row[17]),  # failed_at
        None if row[18] is None else ms(row[18]),  # canceled_at
        None if row[19] is None else ms(row[19]),  # claimed_at
        row[20],  # claimed_by
        row[21],  # unique_digest
        None if row[22] is None else loads(row[22]),  # uniqueness_config
        row[23],  # retry_delay
        row[24],  # backoff_strategy
        row[25],  # lease_token
        None if row[26] is None else ms(row[26]),  # lease_expires_at
        problem,  # decode_error
    )


def queue_record(row: Record) -> QueueRecord:
    return QueueRecord(name=row[0], concurrency=row[1], priority=row[2], state=QueueState(row[3]))


def schedule_record(row: Record) -> ScheduleRecord:
    return schedule_from_values(tuple(row), loads=loads, moment=ms)
