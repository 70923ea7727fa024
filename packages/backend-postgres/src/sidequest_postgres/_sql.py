"""Every SQL statement of the backend, built once per schema (no per-call lookups).

Each operation is one statement (one round trip); asyncpg prepares and caches each text.
Values are always bind parameters; the only interpolated names are the validated, quoted
schema and fixed column names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sidequest.backend import (
    WORKER_LOST,
    WORKER_LOST_MESSAGE,
    JobFilter,
    JobState,
    Transition,
    clamp_limit,
    id_direction,
    is_pattern,
    like_pattern,
    search_text,
)

from ._codec import dumps
from ._config import quote_ident
from ._rows import JOB_COLUMNS, QUEUE_COLUMNS, SCHEDULE_COLUMNS, select_list
from ._schema import FINISHED_AT, HOLDS_DIGEST, LATEST_AT

NOW_MS = "date_trunc('milliseconds', now())"
# NOTIFY payloads are the queue name, cut to stay far below PostgreSQL's 8000-byte payload limit.
HELD = "('claimed', 'running')"
FINISHED = "('completed', 'failed', 'canceled')"
_STAMPS = frozenset({"attempted_at", "completed_at", "failed_at", "canceled_at"})
_TIME_FIELDS = {
    "inserted_at": "inserted_at",
    "attempted_at": "attempted_at",
    "available_at": "available_at",
    "finished_at": FINISHED_AT,
}
_INSERT_COLUMNS = (
    "queue, state, script, class, args, kwargs, constructor_args, attempt, max_attempts, inserted_at, "
    "available_at, timeout, unique_digest, uniqueness_config, unique_forever, retry_delay, backoff_strategy"
)
_INSERT_SOURCE = """
    SELECT x->>0, 'waiting', x->>1, x->>2, x->3, x->4, x->5, 0, (x->>6)::int4, t.ts,
           COALESCE((x->>7)::timestamptz,
                    date_trunc('milliseconds', t.now + (x->>8)::float8 * interval '1 second')),
           (x->>9)::float8, x->>10, NULLIF(x->11, 'null'::jsonb), (x->>12)::bool, (x->>13)::float8, x->>14
    FROM (SELECT statement_timestamp() AS now,
                 date_trunc('milliseconds', statement_timestamp()) AS ts) AS t
    CROSS JOIN jsonb_array_elements($1::text::jsonb) WITH ORDINALITY AS batch(x, ord)
    ORDER BY batch.ord"""
"""A batch arrives as one JSON array of 15-element rows (``_params.insert_document``): one
parameter that PostgreSQL parses in C, where 15 parallel arrays cost asyncpg a type check
per element, and the payloads go in as JSON values instead of text cast to ``jsonb``."""
_INSERT_SHARED = """
    SELECT $2::text, 'waiting', $3::text, $4::text, x->0, x->1, t.constructor_args, 0, $6::int4, t.ts,
           t.available_at, $9::float8, x->>2, t.uniqueness_config, $11::bool, $12::float8, $13::text
    FROM (SELECT date_trunc('milliseconds', statement_timestamp()) AS ts,
                 COALESCE($7::timestamptz,
                          date_trunc('milliseconds', statement_timestamp() + $8::float8 * interval '1 s'))
                     AS available_at,
                 $5::text::jsonb AS constructor_args, $10::text::jsonb AS uniqueness_config) AS t
    CROSS JOIN jsonb_array_elements($1::text::jsonb) WITH ORDINALITY AS batch(x, ord)
    ORDER BY batch.ord"""
"""A batch whose jobs share every field but their payload and digest (any batch built by
``enqueue_many``): the rows are ``[args, kwargs, digest]`` (``_params.shared_document``), the
shared values $2–$13 (``_params.shared_values``) are computed once. The document is a
quarter of the general one, which is most of the server's time before the row writes."""
_INSERT_ONE = """
    VALUES ($1, 'waiting', $2, $3, $4::text::jsonb, $5::text::jsonb, $6::text::jsonb, 0, $7,
            date_trunc('milliseconds', statement_timestamp()),
            COALESCE($8::timestamptz,
                     date_trunc('milliseconds', statement_timestamp() + $9::float8 * interval '1 second')),
            $10::float8, $11, $12::text::jsonb, $13, $14::float8, $15)"""


class Statements:
    """The statements for one schema. ``notify``: whether writes that make work ready NOTIFY."""

    def __init__(self, schema: str, *, notify: bool) -> None:
        s = quote_ident(schema)
        self.notify = notify
        self.jobs = jobs = f"{s}.sidequest_jobs"
        self.queues = queues = f"{s}.sidequest_queues"
        self.schedules = schedules = f"{s}.sidequest_schedules"
        cols = select_list(JOB_COLUMNS)
        jcols = select_list(JOB_COLUMNS, "j")
        qcols = select_list(QUEUE_COLUMNS)
        scols = select_list(SCHEDULE_COLUMNS)
        self.job_columns = cols
        self._transitions: dict[tuple[Any, ...], str] = {}

        # enqueue: the NOTIFY channel follows the rows ($2 for a batch, $14 for a shared batch,
        # $16 for one job); the rows read back are only what the database chose
        def insert(source: str, skip_duplicates: bool) -> str:
            conflict = (
                f" ON CONFLICT (unique_digest) WHERE {HOLDS_DIGEST} DO NOTHING" if skip_duplicates else ""
            )
            return (
                f"INSERT INTO {jobs} ({_INSERT_COLUMNS}) {source}{conflict}"
                " RETURNING id, inserted_at, available_at, unique_digest, queue"
            )

        def batch(source: str, woken: str, skip_duplicates: bool, wake: bool) -> str:
            """A batch insert; ``woken``: the NOTIFY of its queues, as a one-row query."""
            notify = f" CROSS JOIN ({woken}) AS woken" if wake else ""
            return (
                f"WITH ins AS ({insert(source, skip_duplicates)})"
                " SELECT ins.id, ins.inserted_at, ins.available_at, ins.unique_digest"
                f" FROM ins{notify} ORDER BY ins.id"
            )

        def enqueue(skip_duplicates: bool, wake: bool) -> str:
            woken = (
                "SELECT count(pg_notify($2, left(q.queue, 200))) AS n"
                " FROM (SELECT DISTINCT queue FROM ins) AS q"
            )
            return batch(_INSERT_SOURCE, woken, skip_duplicates, wake)

        def enqueue_shared(skip_duplicates: bool, wake: bool) -> str:
            """One queue ($2): one NOTIFY when anything was inserted."""
            woken = (
                "SELECT count(pg_notify($14, left($2::text, 200))) AS n FROM (SELECT FROM ins LIMIT 1) AS one"
            )
            return batch(_INSERT_SHARED, woken, skip_duplicates, wake)

        def enqueue_one(skip_duplicates: bool, wake: bool) -> str:
            """One job: a plain VALUES insert plans and runs faster than a one-row batch."""
            notify = ", pg_notify($16, left(ins.queue, 200))" if wake else ""
            return f"WITH ins AS ({insert(_INSERT_ONE, skip_duplicates)}) SELECT ins.*{notify} FROM ins"

        def in_parts(statements: dict[tuple[bool, bool], str]) -> dict[tuple[bool, bool], str]:
            """A batch written in parts (``_pipeline``) runs in a transaction of its own: the
            transaction's start is every part's insert time, as one statement would have it."""
            return {
                shape: sql.replace("statement_timestamp()", "transaction_timestamp()")
                for shape, sql in statements.items()
            }

        shapes = [(skip, wake) for skip in (False, True) for wake in (False, True)]
        self.enqueue = {shape: enqueue(*shape) for shape in shapes}
        self.enqueue_in_parts = in_parts(self.enqueue)
        self.enqueue_shared = {shape: enqueue_shared(*shape) for shape in shapes}
        self.enqueue_shared_in_parts = in_parts(self.enqueue_shared)
        self.enqueue_one = {shape: enqueue_one(*shape) for shape in shapes}
        self.holder_of_digest = (
            f"SELECT id FROM {jobs} WHERE unique_digest = $1 AND {HOLDS_DIGEST} AND id <> $2"
            " ORDER BY id LIMIT 1"
        )

        # claim: one statement per queue, served by the partial index on waiting jobs -----------
        # Written so that its generic plan is its custom plan, which PostgreSQL then keeps
        # instead of planning every claim anew (about 170 µs of server time per claim): the
        # queue and the limit are sub-selects, estimated alike whether or not the planner
        # knows $1 and $2 (a known small queue made its own plan look cheaper), and the
        # picked rows are taken by primary key (``= ANY``), whatever their estimated number
        # (as a join, an unknown limit made the generic plan hash the whole table).
        self.claim = f"""
WITH picked AS MATERIALIZED (
    SELECT id FROM {jobs}
    WHERE state = 'waiting' AND queue = (SELECT $1::text) AND available_at <= now()
    ORDER BY available_at, id
    LIMIT (SELECT $2::bigint)
    FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE {jobs} AS j
    SET state = 'claimed', claimed_at = {NOW_MS}, claimed_by = $3,
        lease_token = gen_random_uuid(),
        lease_expires_at = date_trunc('milliseconds', now() + $4::float8 * interval '1 second')
    WHERE j.id = ANY(ARRAY(SELECT id FROM picked))
    RETURNING {jcols}
)
SELECT * FROM claimed ORDER BY available_at, id"""

        # leases -----------------------------------------------------------------------------
        self.claim_and_start = self.claim.replace(
            "SET state = 'claimed', claimed_at",
            f"SET state = 'running', attempt = j.attempt + 1, attempted_at = {NOW_MS}, claimed_at",
        )

        def owned(states: str) -> str:
            """Rows of ids $1 in ``states`` whose lease token is the one the JSON object $2
            (id → token, parsed once: an InitPlan) gives them, found by primary key.

            A join with ``unnest`` of the (id, token) pairs was planned as a walk of the lease
            index, visiting every held job's row to touch a few. The state test sits inside
            the CASE so that the planner cannot match the lease index's predicate again.
            Tokens compare as text (the form the backend hands them out in), so a string
            that is not a UUID simply matches nothing, with no check per token beforehand.
            """
            return (
                f"j.id = ANY($1::bigint[]) AND j.lease_token::text = CASE WHEN j.state {states}"
                " THEN (SELECT $2::text::jsonb) ->> j.id::text END"
            )

        # each completed job's result is a key lookup in the JSON object $3 (id → result)
        self.complete_many = f"""
UPDATE {jobs} AS j
SET state = 'completed', completed_at = {NOW_MS}, result = (SELECT $3::text::jsonb) -> j.id::text,
    lease_token = NULL, lease_expires_at = NULL
WHERE {owned("= 'running'")}
RETURNING j.id"""
        self.heartbeat_renew = f"""
UPDATE {jobs} AS j
SET lease_expires_at = date_trunc('milliseconds', now() + $3::float8 * interval '1 second')
WHERE {owned(f"IN {HELD}")}
RETURNING j.id"""
        self.heartbeat_check = f"SELECT j.id FROM {jobs} AS j WHERE {owned(f'IN {HELD}')}"
        exhausted = "j.state = 'running' AND j.attempt >= j.max_attempts"
        lost_error = (
            "jsonb_build_object('type', $1::text, 'message', $2::text, 'traceback', NULL,"
            " 'attempt', j.attempt, 'worker', j.claimed_by, 'at',"
            """ to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"+00:00"'))"""
        )
        release_notify = (
            " CROSS JOIN (SELECT count(pg_notify($3, left(q.queue, 200))) AS n FROM"
            " (SELECT DISTINCT queue FROM released WHERE state = 'waiting') AS q) AS woken"
            if notify
            else ""
        )
        self.release_expired = f"""
WITH expired AS MATERIALIZED (
    SELECT id FROM {jobs}
    WHERE state IN {HELD} AND lease_expires_at < now()
    FOR UPDATE SKIP LOCKED
), released AS (
    UPDATE {jobs} AS j SET
        state = CASE WHEN {exhausted} THEN 'failed' ELSE 'waiting' END,
        errors = CASE WHEN j.state = 'running'
                      THEN j.errors || jsonb_build_array({lost_error}) ELSE j.errors END,
        failed_at = CASE WHEN {exhausted} THEN {NOW_MS} ELSE j.failed_at END,
        available_at = CASE WHEN j.state = 'running' AND j.attempt < j.max_attempts
                            THEN {NOW_MS} ELSE j.available_at END,
        lease_token = NULL, lease_expires_at = NULL
    FROM expired WHERE j.id = expired.id
    RETURNING {jcols}
)
SELECT released.* FROM released{release_notify} ORDER BY released.id"""
        self.release_arguments: tuple[str, ...] = (WORKER_LOST, WORKER_LOST_MESSAGE)

        # reads and maintenance ------------------------------------------------------------------
        self.get_job = f"SELECT {cols} FROM {jobs} WHERE id = $1"
        self.delete_finished = (
            f"WITH gone AS (DELETE FROM {jobs} WHERE "
            + " OR ".join(f"({where} AND {at} < $1)" for where, at in _TIME_PARTS[:3])
            + " RETURNING 1) SELECT count(*) FROM gone"
        )
        # counts: finished rows through the finished index, live rows through the claim and
        # lease indexes (a job's latest timestamp is its finished time once it has finished)
        self.count_jobs = {
            (since, until): " UNION ALL ".join(
                f"SELECT state, count(*) FROM {jobs} WHERE {where} GROUP BY state"
                for where in _count_parts(since, until)
            )
            for since in (False, True)
            for until in (False, True)
        }
        self.count_jobs_by_queue = (
            f"SELECT name, NULL::text, 0::bigint FROM {queues}"
            f" UNION ALL SELECT queue, state, count(*) FROM {jobs} GROUP BY queue, state"
        )
        bucket = "floor(extract(epoch FROM ({at} - $1::timestamptz)) / $2::numeric)::int"
        self.count_jobs_over_time = " UNION ALL ".join(
            f"SELECT {bucket.format(at=at)}, state, count(*) FROM {jobs}"
            f" WHERE {where} AND {at} >= $1 AND {at} < $3 GROUP BY 1, 2"
            for where, at in _TIME_PARTS
        )
        # estimates: the planner's statistics (row count scaled to the table's current size
        # times each state's frequency), exact counts for the states it says are small, and a
        # block sample for how large states split across queues
        self.state_estimates = """
SELECT v.state, v.freq * c.reltuples / GREATEST(c.relpages, 1)
       * (pg_relation_size(c.oid) / current_setting('block_size')::float8), c.reltuples
FROM pg_class AS c
JOIN pg_stats AS s ON s.schemaname = $1 AND s.tablename = 'sidequest_jobs' AND s.attname = 'state'
CROSS JOIN unnest(s.most_common_vals::text::text[], s.most_common_freqs) AS v(state, freq)
WHERE c.oid = to_regclass($2) AND c.reltuples > 0"""
        small_parts = (
            f"state IN {FINISHED} AND state = ANY($1::text[])",
            "state = 'waiting' AND $2::bool",
            f"state IN {HELD}",
        )
        self.count_small_states = " UNION ALL ".join(
            f"SELECT state, count(*) FROM {jobs} WHERE {where} GROUP BY state" for where in small_parts
        )
        self.count_small_states_by_queue = f"SELECT name, NULL::text, 0::bigint FROM {queues}" + "".join(
            f" UNION ALL SELECT queue, state, count(*) FROM {jobs} WHERE {where} GROUP BY queue, state"
            for where in small_parts
        )
        self.sample_by_queue = (
            f"SELECT queue, state, count(*) FROM {jobs} TABLESAMPLE SYSTEM ($1::float4) REPEATABLE (7)"
            " WHERE state = ANY($2::text[]) GROUP BY queue, state"
        )
        self.job_queue_names = f"SELECT DISTINCT queue FROM {jobs}"
        self.now = f"SELECT {NOW_MS}"
        self.truncate = f"TRUNCATE {jobs}, {queues}, {schedules}"
        self.notify_queue = "SELECT pg_notify($1, left($2, 200))"

        # queues -----------------------------------------------------------------------------------
        insert_queue = (
            f"INSERT INTO {queues} (name, concurrency, priority, state) VALUES ($1, $2, $3, $4)"
            f" ON CONFLICT (name) DO NOTHING RETURNING {qcols}"
        )
        self.get_queue = f"SELECT {qcols} FROM {queues} WHERE name = $1"
        self.list_queues = f"SELECT {qcols} FROM {queues}"
        self.create_queue = insert_queue
        self.ensure_queue = (
            f"WITH ins AS ({insert_queue}) SELECT * FROM ins"
            f" UNION ALL SELECT {qcols} FROM {queues} WHERE name = $1 AND NOT EXISTS (SELECT 1 FROM ins)"
        )
        self.update_queue = (
            f"UPDATE {queues} SET concurrency = COALESCE($2, concurrency),"
            " priority = COALESCE($3, priority), state = COALESCE($4, state)"
            f" WHERE name = $1 RETURNING {qcols}"
        )

        # schedules --------------------------------------------------------------------------------
        names = [c.partition("::")[0] for c in SCHEDULE_COLUMNS]
        values = ", ".join(
            f"${i}::text::jsonb" if c.endswith("::text") else f"${i}"
            for i, c in enumerate(SCHEDULE_COLUMNS, start=1)
        )
        updates = ", ".join(f"{n} = EXCLUDED.{n}" for n in names[1:])
        self.save_schedule = (
            f"INSERT INTO {schedules} ({', '.join(names)}) VALUES ({values})"
            f" ON CONFLICT (name) DO UPDATE SET {updates} RETURNING {scols}"
        )
        self.get_schedule = f"SELECT {scols} FROM {schedules} WHERE name = $1"
        self.list_schedules = f"SELECT {scols} FROM {schedules}"
        self.delete_schedule = f"DELETE FROM {schedules} WHERE name = $1 RETURNING name"
        self.set_schedule_state = f"UPDATE {schedules} SET state = $2 WHERE name = $1 RETURNING {scols}"
        self.advance_schedule = (
            f"UPDATE {schedules} SET next_fire_at = $3, last_fired_at = COALESCE($4, last_fired_at),"
            " last_job_id = COALESCE($5, last_job_id) WHERE name = $1 AND next_fire_at = $2 RETURNING 1"
        )

    # transitions ------------------------------------------------------------------------------
    def transition(self, job_id: int, change: Transition, channel: str) -> tuple[str, list[Any]]:
        """One fenced UPDATE for ``change`` (statement texts are cached per shape)."""
        args: list[Any] = [job_id, [state.value for state in change.from_states], change.to_state.value]
        if change.attempt_delta:
            args.append(change.attempt_delta)
        if change.available_in is not None:
            args.append(float(change.available_in))
        if change.set_result and not change.rerun:
            args.append(None if change.result is None else dumps(change.result))
        if change.error is not None:
            args.append(error_json(change.error.to_json()))
        if change.lease_token is not None:
            args.append(change.lease_token)
        wake = self.notify and wakes(change)
        if wake:
            args.append(channel)
        shape = (
            bool(change.attempt_delta),
            change.stamp,
            change.available_in is not None,
            change.set_result and not change.rerun,
            change.error is not None,
            change.clear_lease,
            change.rerun,
            change.lease_token is not None,
            wake,
        )
        sql = self._transitions.get(shape)
        if sql is None:
            sql = self._transitions[shape] = self._transition_sql(change, wake)
        return sql, args

    def _transition_sql(self, change: Transition, wake: bool) -> str:
        number = 3

        def param() -> str:
            nonlocal number
            number += 1
            return f"${number}"

        sets: dict[str, str] = {"state": "$3"}
        if change.attempt_delta:
            sets["attempt"] = f"GREATEST(0, attempt + {param()}::int)"
        if change.stamp is not None:
            if change.stamp not in _STAMPS:
                raise ValueError(f"unknown timestamp column {change.stamp!r}")
            sets[change.stamp] = NOW_MS
        if change.available_in is not None:
            sets["available_at"] = (
                f"date_trunc('milliseconds', now() + {param()}::float8 * interval '1 second')"
            )
        if change.set_result and not change.rerun:
            sets["result"] = f"{param()}::text::jsonb"
        if change.error is not None:
            sets["errors"] = f"errors || jsonb_build_array({param()}::text::jsonb)"
        if change.clear_lease:
            sets["lease_token"] = "NULL"
            sets["lease_expires_at"] = "NULL"
        if change.rerun:
            sets.update(result="NULL", completed_at="NULL", failed_at="NULL", canceled_at="NULL")
            sets["max_attempts"] = "CASE WHEN attempt >= max_attempts THEN attempt + 1 ELSE max_attempts END"
        where = "id = $1 AND state = ANY($2::text[])"
        if change.lease_token is not None:
            where += f" AND lease_token::text = {param()}"
        assignments = ", ".join(f"{column} = {value}" for column, value in sets.items())
        update = f"UPDATE {self.jobs} SET {assignments} WHERE {where} RETURNING {self.job_columns}"
        if not wake:
            return update
        notify = f"CROSS JOIN LATERAL (SELECT pg_notify({param()}, left(upd.queue, 200))) AS woken"
        return f"WITH upd AS ({update}) SELECT upd.* FROM upd {notify}"

    # listings ---------------------------------------------------------------------------------
    def list_jobs(self, f: JobFilter) -> tuple[str, list[Any]]:
        args: list[Any] = []

        def param(value: Any) -> str:
            args.append(value)
            return f"${len(args)}"

        where: list[str] = []
        for column, values in (("state", f.states), ("queue", f.queues), ("class", f.job_classes)):
            if values:
                where.append(_match(column, values, param))
        if f.ids:
            where.append(f"id = ANY({param([int(i) for i in f.ids])}::bigint[])")
        if f.args is not None:
            where.append(f"args = {param(dumps(list(f.args)))}::text::jsonb")
        if f.search:
            where.append(f"lower(args::text || kwargs::text) LIKE {param(search_text(f.search))} ESCAPE '\\'")
        if f.before_id is not None:
            where.append(f"id < {param(int(f.before_id))}::bigint")
        if f.after_id is not None:
            where.append(f"id > {param(int(f.after_id))}::bigint")
        moment = _TIME_FIELDS.get(f.time_field)
        if moment is None:
            raise ValueError(f"unknown time field {f.time_field!r}")
        if f.since is not None:
            where.append(f"{moment} >= {param(f.since)}::timestamptz")
        if f.until is not None:
            where.append(f"{moment} <= {param(f.until)}::timestamptz")
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        limit = param(clamp_limit(f.limit))
        offset = param(max(0, int(f.offset)))
        page = f"ORDER BY id {id_direction(f.order)} LIMIT {limit} OFFSET {offset}"
        return f"SELECT {self.job_columns} FROM {self.jobs}{clause} {page}", args


FINISHED_STATES = ("completed", "failed", "canceled")
_TIME_PARTS = (
    # One part per finished state: ``state = 'failed'`` both lets PostgreSQL use the partial
    # finished index and gives its first column a condition. (``state IN (…)``, identical to
    # the index's predicate, would be dropped as implied, and a range on the finish time
    # alone would read the whole index.)
    *((f"state = '{state}'", FINISHED_AT) for state in FINISHED_STATES),
    ("state = 'waiting'", LATEST_AT),
    (f"state IN {HELD}", LATEST_AT),
)


def _count_parts(since: bool, until: bool) -> list[str]:
    """One condition per index-backed part of the table, with the given range bounds as $1, $2."""
    parts = []
    for where, at in _TIME_PARTS:
        bounds = [f"{at} >= $1::timestamptz"] if since else []
        if until:
            bounds.append(f"{at} <= ${1 + since}::timestamptz")
        parts.append(" AND ".join([where, *bounds]))
    return parts


def wakes(change: Transition) -> bool:
    """Whether a transition makes a job ready now (workers elsewhere should look)."""
    return change.to_state == JobState.WAITING and (change.available_in is None or change.available_in <= 0)


def error_json(error: dict[str, Any]) -> str:
    """An error record as JSON text (jsonb cannot store NUL characters: they become U+FFFD)."""
    return dumps({k: v.replace("\x00", "\ufffd") if isinstance(v, str) else v for k, v in error.items()})


def _match(column: str, values: tuple[str, ...], param: Callable[[Any], str]) -> str:
    exact = [v for v in values if not is_pattern(v)]
    tests = [f"{column} = ANY({param(exact)}::text[])"] if exact else []
    tests += [f"{column} LIKE {param(like_pattern(v))} ESCAPE '\\'" for v in values if is_pattern(v)]
    return tests[0] if len(tests) == 1 else "(" + " OR ".join(tests) + ")"
