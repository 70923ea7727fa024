"""The job-changing statements: each state change is one guarded SQL statement."""

from __future__ import annotations

from typing import Any

from sidequest.backend import JobState, Transition, json_dumps

from ._sql import FINISHED_AT, FINISHED_SQL, HELD_SQL, JOBS, NOW, NOW_ISO, seconds_to_ms, stamp_column

DELETE_BATCH = 1000

CLAIM = f"""UPDATE {JOBS} SET state = 'claimed', claimed_at = {NOW}, claimed_by = ?,
    lease_token = lower(hex(randomblob(16))), lease_expires_at = {NOW} + ?
  WHERE id IN (SELECT id FROM {JOBS} INDEXED BY sidequest_jobs_claim
               WHERE state = 'waiting' AND queue = ? AND available_at <= {NOW}
               ORDER BY available_at, id LIMIT ?)
  RETURNING *"""

CLAIM_AND_START = CLAIM.replace(
    "SET state = 'claimed', claimed_at",
    f"SET state = 'running', attempt = attempt + 1, attempted_at = {NOW}, claimed_at",
)
assert CLAIM_AND_START != CLAIM

COMPLETE_MANY = f"""UPDATE {JOBS} SET state = 'completed', completed_at = {NOW}, result = c.result,
    lease_token = NULL, lease_expires_at = NULL
  FROM (SELECT value ->> 0 AS id, value ->> 1 AS token, value ->> 2 AS result FROM json_each(?)) AS c
  WHERE {JOBS}.id = c.id AND {JOBS}.lease_token = c.token AND {JOBS}.state = 'running'
  RETURNING {JOBS}.id"""

_EXHAUSTED = "state = 'running' AND attempt >= max_attempts"
RELEASE_EXPIRED = f"""UPDATE {JOBS} INDEXED BY sidequest_jobs_lease SET
    state = CASE WHEN {_EXHAUSTED} THEN 'failed' ELSE 'waiting' END,
    errors = CASE WHEN state = 'running' THEN json_insert(errors, '$[#]', json_object(
        'type', ?, 'message', ?, 'traceback', NULL, 'attempt', attempt,
        'worker', claimed_by, 'at', {NOW_ISO})) ELSE errors END,
    failed_at = CASE WHEN {_EXHAUSTED} THEN {NOW} ELSE failed_at END,
    available_at = CASE WHEN state = 'running' AND attempt < max_attempts THEN {NOW}
                        ELSE available_at END,
    lease_token = NULL, lease_expires_at = NULL
  WHERE state IN {HELD_SQL} AND lease_expires_at < {NOW}
  RETURNING *"""

DELETE_FINISHED = f"""DELETE FROM {JOBS} WHERE id IN
    (SELECT id FROM {JOBS} INDEXED BY sidequest_jobs_finished
     WHERE state IN {FINISHED_SQL} AND {FINISHED_AT} < ? LIMIT {DELETE_BATCH})
  RETURNING id"""

HELD_LEASES = f"""state IN {HELD_SQL} AND (id, lease_token) IN
    (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?))"""


def transition_sql(job_id: int, change: Transition) -> tuple[str, dict[str, Any]]:
    """The single guarded UPDATE applying ``change`` (later assignments override earlier ones)."""
    sets: dict[str, str] = {"state": ":to_state"}
    params: dict[str, Any] = {"to_state": JobState(change.to_state).value, "id": int(job_id)}
    if change.attempt_delta:
        sets["attempt"] = "MAX(0, attempt + :attempt_delta)"
        params["attempt_delta"] = int(change.attempt_delta)
    if change.stamp:
        sets[stamp_column(change.stamp)] = NOW
    if change.available_in is not None:
        sets["available_at"] = f"{NOW} + :available_in"
        params["available_in"] = seconds_to_ms(change.available_in)
    if change.set_result:
        sets["result"] = ":result"
        params["result"] = json_dumps(change.result)
    if change.error is not None:
        sets["errors"] = "json_insert(errors, '$[#]', json(:error))"
        params["error"] = json_dumps(change.error.to_json())
    if change.clear_lease:
        sets.update(lease_token="NULL", lease_expires_at="NULL")
    if change.rerun:
        sets.update(result="NULL", completed_at="NULL", failed_at="NULL", canceled_at="NULL")
        sets["max_attempts"] = "CASE WHEN attempt >= max_attempts THEN attempt + 1 ELSE max_attempts END"
    states = sorted(JobState(s).value for s in change.from_states)
    for index, value in enumerate(states):
        params[f"from_{index}"] = value
    guard = f"id = :id AND state IN ({', '.join(f':from_{i}' for i in range(len(states)))})"
    if change.lease_token is not None:
        guard += " AND lease_token = :lease_token"
        params["lease_token"] = change.lease_token
    assignments = ", ".join(f"{column} = {value}" for column, value in sets.items())
    return f"UPDATE {JOBS} SET {assignments} WHERE {guard} RETURNING *", params
