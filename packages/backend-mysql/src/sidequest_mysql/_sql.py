"""SQL text: fixed statements, fenced transitions and ``list_jobs`` filters.

Values are always parameters (asyncmy formats ``%s`` client-side, so literal percent signs
never appear in statement text). MySQL applies the assignments of an UPDATE from left to
right, each seeing the previous ones: assignments that read a column come before the ones
that write it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sidequest.backend import (
    WORKER_LOST,
    WORKER_LOST_MESSAGE,
    JobFilter,
    Transition,
    clamp_limit,
    id_direction,
    is_pattern,
    json_dumps,
    like_pattern,
    search_text,
)

from ._rows import JOB_COLUMNS, micros, utc

JOBS = "sidequest_jobs"
QUEUES = "sidequest_queues"
SCHEDULES = "sidequest_schedules"
NOW = "UTC_TIMESTAMP(3)"
HELD = "('claimed', 'running')"
FINISHED = "('completed', 'failed', 'canceled')"
_STAMPS = frozenset({"attempted_at", "completed_at", "failed_at", "canceled_at"})
_TIME_FIELDS = {
    "inserted_at": "inserted_at",
    "attempted_at": "attempted_at",
    "available_at": "available_at",
    "finished_at": "finished_at",
}
_LIKE = "LIKE %s ESCAPE '\\\\'"
ISO_FORMAT = "%Y-%m-%dT%H:%i:%s.%f"


def append_error(value: str) -> str:
    """``errors`` (a JSON array we always write compactly) with one more element (SQL text)."""
    return f"CONCAT(LEFT(errors, CHAR_LENGTH(errors) - 1), IF(errors = '[]', '', ','), {value}, ']')"


def placeholders(count: int) -> str:
    return ", ".join(["%s"] * count)


GET_JOB = f"SELECT {JOB_COLUMNS} FROM {JOBS} WHERE id = %s"
NOW_SQL = f"SELECT {NOW}"
CLAIM_SELECT = f"""
SELECT {JOB_COLUMNS}, {NOW} FROM {JOBS}
WHERE state = 'waiting' AND queue = %s AND available_at <= {NOW}
ORDER BY available_at, id
LIMIT %s
FOR UPDATE SKIP LOCKED"""
EXPIRED_SELECT = f"""
SELECT id FROM {JOBS} WHERE state IN {HELD} AND lease_expires_at < {NOW}
FOR UPDATE SKIP LOCKED"""
_EXHAUSTED = "state = 'running' AND attempt >= max_attempts"
_LOST_ERROR = (
    "JSON_OBJECT('type', %s, 'message', %s, 'traceback', NULL, 'attempt', attempt,"
    f" 'worker', claimed_by, 'at', CONCAT(DATE_FORMAT({NOW}, %s), '+00:00'))"
)
RELEASE_ARGUMENTS: tuple[str, ...] = (WORKER_LOST, WORKER_LOST_MESSAGE, ISO_FORMAT)


def release_expired(count: int) -> str:
    """Take back ``count`` locked jobs: every CASE reads the state before ``state`` is written."""
    return f"""
UPDATE {JOBS} SET
    errors = CASE WHEN state = 'running' THEN {append_error(_LOST_ERROR)} ELSE errors END,
    failed_at = CASE WHEN {_EXHAUSTED} THEN {NOW} ELSE failed_at END,
    available_at = CASE WHEN state = 'running' AND attempt < max_attempts THEN {NOW} ELSE available_at END,
    state = CASE WHEN {_EXHAUSTED} THEN 'failed' ELSE 'waiting' END,
    lease_token = NULL, lease_expires_at = NULL
WHERE id IN ({placeholders(count)}) AND state IN {HELD}"""


def jobs_by_ids(count: int) -> str:
    return f"SELECT {JOB_COLUMNS} FROM {JOBS} WHERE id IN ({placeholders(count)}) ORDER BY id"


def claim_update(count: int, *, start: bool = False) -> str:
    """Claim locked rows; with ``start`` they go straight to ``running`` (attempt + 1)."""
    running = ", attempt = attempt + 1, attempted_at = %s" if start else ""
    state = "running" if start else "claimed"
    return (
        f"UPDATE {JOBS} SET claimed_at = %s, claimed_by = %s, lease_token = CONCAT(%s, '.', id),"
        f" lease_expires_at = %s{running}, state = '{state}' WHERE id IN ({placeholders(count)})"
    )


def heartbeat(ids: int, pairs: int, renew: bool) -> str:
    """Held leases: ``id IN`` picks rows by primary key, the row comparison checks each token."""
    where = (
        f"id IN ({placeholders(ids)}) AND (id, lease_token) IN ({', '.join(['(%s, %s)'] * pairs)})"
        f" AND state IN {HELD}"
    )
    if renew:
        return f"UPDATE {JOBS} SET lease_expires_at = TIMESTAMPADD(MICROSECOND, %s, {NOW}) WHERE {where}"
    return f"SELECT id, lease_token FROM {JOBS} WHERE {where}"


def transition(job_id: int, change: Transition) -> tuple[str, list[Any]]:
    """One fenced UPDATE applying ``change`` (0 matched rows: the guard failed)."""
    sets: dict[str, str] = {}
    args: list[Any] = []
    if change.rerun:  # reads attempt before it can change
        sets["max_attempts"] = "CASE WHEN attempt >= max_attempts THEN attempt + 1 ELSE max_attempts END"
    if change.error is not None:
        sets["errors"] = append_error("%s")
        args.append(json_dumps(change.error.to_json()))
    if change.set_result and not change.rerun:
        sets["result"] = "%s"
        args.append(None if change.result is None else json_dumps(change.result))
    if change.stamp is not None:
        if change.stamp not in _STAMPS:
            raise ValueError(f"unknown timestamp column {change.stamp!r}")
        sets[change.stamp] = NOW
    if change.rerun:
        sets.update(result="NULL", completed_at="NULL", failed_at="NULL", canceled_at="NULL")
    if change.available_in is not None:
        sets["available_at"] = f"TIMESTAMPADD(MICROSECOND, %s, {NOW})"
        args.append(micros(change.available_in))
    if change.clear_lease:
        sets.update(lease_token="NULL", lease_expires_at="NULL")
    if change.attempt_delta:
        sets["attempt"] = "GREATEST(0, attempt + %s)"
        args.append(int(change.attempt_delta))
    sets["state"] = "%s"
    args.append(change.to_state.value)
    states = sorted(state.value for state in change.from_states)
    where = f"id = %s AND state IN ({placeholders(len(states))})"
    args += [int(job_id), *states]
    if change.lease_token is not None:
        where += " AND lease_token = %s"
        args.append(change.lease_token)
    assignments = ", ".join(f"{column} = {value}" for column, value in sets.items())
    return f"UPDATE {JOBS} SET {assignments} WHERE {where}", args


def list_jobs(f: JobFilter) -> tuple[str, list[Any]]:
    """``SELECT`` for a ``JobFilter``: by id (newest or oldest first), keyset or offset pages."""
    where: list[str] = []
    args: list[Any] = []
    for column, values in (("state", f.states), ("queue", f.queues), ("class", f.job_classes)):
        if values:
            where.append(_match(column, values, args))
    if f.ids:
        where.append(f"id IN ({placeholders(len(f.ids))})")
        args += [int(i) for i in f.ids]
    if f.args is not None:
        where.append("args = %s")
        args.append(json_dumps(list(f.args)))
    if f.search:
        where.append(f"LOWER(CONCAT(args, kwargs)) {_LIKE}")
        args.append(search_text(f.search))
    if f.before_id is not None:
        where.append("id < %s")
        args.append(int(f.before_id))
    if f.after_id is not None:
        where.append("id > %s")
        args.append(int(f.after_id))
    timed = _TIME_FIELDS.get(f.time_field)
    if timed is None:
        raise ValueError(f"unknown time field {f.time_field!r}")
    if f.since is not None:
        where.append(f"{timed} >= %s")
        args.append(utc(f.since))
    if f.until is not None:
        where.append(f"{timed} <= %s")
        args.append(utc(f.until))
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    args += [clamp_limit(f.limit), max(0, int(f.offset))]
    page = f"ORDER BY id {id_direction(f.order)} LIMIT %s OFFSET %s"
    return f"SELECT {JOB_COLUMNS} FROM {JOBS}{clause} {page}", args


def _match(column: str, values: Sequence[str], args: list[Any]) -> str:
    exact = [v for v in values if not is_pattern(v)]
    tests = []
    if exact:
        tests.append(f"{column} IN ({placeholders(len(exact))})")
        args += exact
    for value in values:
        if is_pattern(value):
            tests.append(f"{column} {_LIKE}")
            args.append(like_pattern(value))
    return tests[0] if len(tests) == 1 else "(" + " OR ".join(tests) + ")"


def count_jobs(since: bool, until: bool) -> str:
    where = [f"latest_at {op} %s" for op, given in ((">=", since), ("<=", until)) if given]
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    return f"SELECT state, COUNT(*) FROM {JOBS}{clause} GROUP BY state"


COUNT_BY_QUEUE = (
    f"SELECT name, NULL, 0 FROM {QUEUES}"
    f" UNION ALL SELECT queue, state, COUNT(*) FROM {JOBS} GROUP BY queue, state"
)
COUNT_OVER_TIME = f"""
SELECT TIMESTAMPDIFF(SECOND, %s, latest_at) DIV %s AS bucket, state, COUNT(*)
FROM {JOBS} WHERE latest_at >= %s AND latest_at < %s
GROUP BY bucket, state"""
JOB_QUEUE_NAMES = f"SELECT DISTINCT queue FROM {JOBS}"
DELETE_FINISHED = f"DELETE FROM {JOBS} WHERE state IN {FINISHED} AND finished_at < %s LIMIT %s"
HOLDER_OF = f"SELECT id, unique_holder FROM {JOBS} WHERE unique_holder IN ({{}}) ORDER BY id"
"""Format with ``placeholders(n)``: who holds each of these digests."""
