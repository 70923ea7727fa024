"""SQL building blocks: the database clock, time conversion, row mapping and list filters."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sidequest.backend import (
    ErrorRecord,
    JobFilter,
    JobRecord,
    JobState,
    NewJob,
    QueueRecord,
    QueueState,
    decode_payload,
    is_pattern,
    json_dumps,
    json_loads,
    new_job_values,
)

JOBS = "sidequest_jobs"
QUEUES = "sidequest_queues"

NOW = "CAST(ROUND((julianday('now') - 2440587.5) * 86400000.0) AS INTEGER)"
"""The database's current time in epoch milliseconds (exact: SQLite keeps 'now' in ms,
is stable within one statement, and works before ``unixepoch('subsec')`` existed)."""

NOW_ISO = f"strftime('%Y-%m-%dT%H:%M:%f', {NOW} / 1000.0, 'unixepoch') || '+00:00'"
"""The database's current time as ISO-8601 text (the ``at`` of an error record)."""

FINISHED_AT = "COALESCE(completed_at, failed_at, canceled_at)"
LATEST_AT = "COALESCE(completed_at, failed_at, canceled_at, attempted_at, claimed_at, inserted_at)"
"""The timestamp placing a job in time (``latest_timestamp`` of ``sidequest.backend``)."""

ALIVE_SQL = "('waiting', 'claimed', 'running')"
HELD_SQL = "('claimed', 'running')"
FINISHED_SQL = "('completed', 'failed', 'canceled')"
HOLDS_DIGEST = f"unique_digest IS NOT NULL AND (state IN {ALIVE_SQL} OR unique_forever = 1)"
"""Whether a row holds its digest: also the WHERE of the partial unique index (same text,
so that SQLite can use that index for lookups)."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_STAMPS = frozenset({"attempted_at", "completed_at", "failed_at", "canceled_at"})
_TIME_FIELDS = {
    "inserted_at": "inserted_at",
    "attempted_at": "attempted_at",
    "available_at": "available_at",
    "finished_at": FINISHED_AT,
}


# time ---------------------------------------------------------------------------------------
def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def floor_ms(moment: datetime) -> int:
    """Epoch milliseconds, rounded down (naive datetimes are taken as UTC)."""
    return (_aware(moment) - _EPOCH) // _MS


def ceil_ms(moment: datetime) -> int:
    """Epoch milliseconds, rounded up: ``stored >= moment`` ⇔ ``stored_ms >= ceil_ms(moment)``."""
    delta = _aware(moment) - _EPOCH
    whole = delta // _MS
    return whole if delta == whole * _MS else whole + 1


def from_ms(value: int | None) -> datetime | None:
    return None if value is None else _EPOCH + timedelta(milliseconds=value)


def seconds_to_ms(seconds: float) -> int:
    """A duration in whole milliseconds (rounded to nearest)."""
    return round(seconds * 1000)


# rows ---------------------------------------------------------------------------------------
def _json(text: str | None) -> Any:
    return None if text is None else json_loads(text)


def job_from_row(row: sqlite3.Row) -> JobRecord:
    """A ``sidequest_jobs`` row as a ``JobRecord``."""
    inserted_at = from_ms(row["inserted_at"])
    available_at = from_ms(row["available_at"])
    assert inserted_at is not None and available_at is not None
    args, kwargs, ctor, problem = decode_payload(
        json_loads, row["args"], row["kwargs"], row["constructor_args"]
    )
    try:
        result = _json(row["result"])
        errors = tuple(ErrorRecord.from_json(e) for e in json_loads(row["errors"] or "[]"))
    except (ValueError, TypeError, AttributeError) as exc:
        result, errors = None, ()
        problem = problem or f"undecodable stored result or errors: {exc}"
    return JobRecord(
        id=row["id"],
        queue=row["queue"],
        state=JobState(row["state"]),
        script=row["script"],
        job_class=row["job_class"],
        args=args,
        kwargs=kwargs,
        constructor_args=ctor,
        attempt=row["attempt"],
        max_attempts=row["max_attempts"],
        inserted_at=inserted_at,
        available_at=available_at,
        timeout=row["timeout"],
        result=result,
        errors=errors,
        attempted_at=from_ms(row["attempted_at"]),
        completed_at=from_ms(row["completed_at"]),
        failed_at=from_ms(row["failed_at"]),
        canceled_at=from_ms(row["canceled_at"]),
        claimed_at=from_ms(row["claimed_at"]),
        claimed_by=row["claimed_by"],
        unique_digest=row["unique_digest"],
        uniqueness_config=_json(row["uniqueness_config"]),
        retry_delay=row["retry_delay"],
        backoff_strategy=row["backoff_strategy"],
        lease_token=row["lease_token"],
        lease_expires_at=from_ms(row["lease_expires_at"]),
        decode_error=problem,
    )


def jobs_from_rows(rows: Sequence[sqlite3.Row]) -> list[JobRecord]:
    """Records ordered by id (``RETURNING`` gives rows in no particular order)."""
    return sorted((job_from_row(row) for row in rows), key=lambda job: job.id)


def queue_from_row(row: sqlite3.Row) -> QueueRecord:
    return QueueRecord(
        name=row["name"],
        concurrency=row["concurrency"],
        priority=row["priority"],
        state=QueueState(row["state"]),
    )


# enqueue ------------------------------------------------------------------------------------
INSERT_COLUMNS = (
    "queue, state, script, job_class, args, kwargs, constructor_args, attempt, max_attempts, "
    "inserted_at, available_at, timeout, errors, unique_digest, uniqueness_config, unique_forever, "
    "retry_delay, backoff_strategy"
)
_INSERT_ROW = f"(?, 'waiting', ?, ?, ?, ?, ?, 0, ?, {NOW}, COALESCE(?, {NOW} + ?), ?, '[]', ?, ?, ?, ?, ?)"
INSERT_PARAMS_PER_ROW = 15
INSERT_ROWS_PER_STATEMENT = 64
"""64 rows × 15 parameters stay under SQLite's historical limit of 999 parameters."""


def insert_sql(rows: int, skip_duplicates: bool) -> str:
    values = ", ".join([_INSERT_ROW] * rows)
    conflict = " ON CONFLICT DO NOTHING" if skip_duplicates else ""
    return f"INSERT INTO {JOBS} ({INSERT_COLUMNS}) VALUES {values}{conflict} RETURNING *"


def insert_params(job: NewJob) -> list[Any]:
    """Parameters of one ``_INSERT_ROW``, in placeholder order."""
    return new_job_values(job, dumps=json_dumps, moment=floor_ms, delay=seconds_to_ms, flag=int)


def is_digest_conflict(exc: sqlite3.IntegrityError) -> bool:
    return "unique_digest" in str(exc)


# filters ------------------------------------------------------------------------------------
def glob_pattern(value: str) -> str:
    """Our pattern (``%`` = any run of characters, everything else literal) as a GLOB."""
    special = {"%": "*", "*": "[*]", "?": "[?]", "[": "[[]"}
    return "".join(special.get(char, char) for char in value)


def _text_match(column: str, values: Sequence[str], params: list[Any]) -> str:
    exact = [v for v in values if not is_pattern(v)]
    terms = []
    if exact:
        terms.append(f"{column} IN ({', '.join('?' * len(exact))})")
        params.extend(exact)
    for value in values:
        if is_pattern(value):
            terms.append(f"{column} GLOB ?")
            params.append(glob_pattern(value))
    return terms[0] if len(terms) == 1 else "(" + " OR ".join(terms) + ")"


def job_filter(f: JobFilter) -> tuple[str, list[Any]]:
    """The WHERE clause (possibly empty) and parameters of a job list."""
    terms: list[str] = []
    params: list[Any] = []
    if f.states:
        terms.append(_text_match("state", f.states, params))
    if f.queues:
        terms.append(_text_match("queue", f.queues, params))
    if f.job_classes:
        terms.append(_text_match("job_class", f.job_classes, params))
    if f.ids:
        terms.append(f"id IN ({', '.join('?' * len(f.ids))})")
        params.extend(int(i) for i in f.ids)
    if f.args is not None:
        terms.append("args = ?")
        params.append(json_dumps(list(f.args)))
    if f.search:
        terms.append("instr(sq_lower(args || kwargs), ?) > 0")
        params.append(f.search.lower())
    if f.before_id is not None:
        terms.append("id < ?")
        params.append(int(f.before_id))
    if f.after_id is not None:
        terms.append("id > ?")
        params.append(int(f.after_id))
    moment = _TIME_FIELDS[f.time_field]
    terms.extend(time_range(moment, f.since, f.until, params))
    return (" WHERE " + " AND ".join(terms)) if terms else "", params


def time_range(column: str, since: datetime | None, until: datetime | None, params: list[Any]) -> list[str]:
    """Inclusive bounds on a millisecond column (exact for sub-millisecond bounds too)."""
    terms = []
    if since is not None:
        terms.append(f"{column} >= ?")
        params.append(ceil_ms(since))
    if until is not None:
        terms.append(f"{column} <= ?")
        params.append(floor_ms(until))
    return terms


def stamp_column(stamp: str) -> str:
    """A transition's timestamp column, checked against the allow-list."""
    if stamp not in _STAMPS:
        raise ValueError(f"unknown timestamp column {stamp!r}")
    return stamp


def lower(value: str | None) -> str | None:
    """``sq_lower``: Python's Unicode-aware lower case (SQLite's ``lower`` is ASCII only)."""
    return None if value is None else value.lower()


def counts_by_state(rows: Sequence[sqlite3.Row]) -> Mapping[str, int]:
    return {row[0]: int(row[1]) for row in rows}
