"""Focused tests of the PostgreSQL backend's statements (fencing, uniqueness, claims, leases)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from sidequest import DuplicateJobError
from sidequest.backend import (
    WORKER_LOST,
    ErrorRecord,
    JobFilter,
    JobRecord,
    JobState,
    NewJob,
    Transition,
)
from sidequest_postgres.backend import PostgresBackend

pytestmark = pytest.mark.postgres


def job(queue: str = "default", **fields: object) -> NewJob:
    return NewJob(
        queue=queue, script="tests.jobs", job_class=str(fields.pop("job_class", "TestJob")), **fields
    )  # type: ignore[arg-type]


def start(record: JobRecord) -> Transition:
    return Transition(
        from_states=frozenset({JobState.CLAIMED}),
        to_state=JobState.RUNNING,
        lease_token=record.lease_token,
        attempt_delta=1,
        stamp="attempted_at",
    )


def complete(record: JobRecord, result: object = None) -> Transition:
    return Transition(
        from_states=frozenset({JobState.RUNNING}),
        to_state=JobState.COMPLETED,
        lease_token=record.lease_token,
        stamp="completed_at",
        set_result=True,
        result=result,
        clear_lease=True,
    )


async def running(backend: PostgresBackend, **fields: object) -> JobRecord:
    await backend.enqueue([job(**fields)])
    (claimed,) = await backend.claim(str(fields.get("queue", "default")), 1, "w1", 30)
    started = await backend.transition(claimed.id, start(claimed))
    assert started is not None
    return started


# enqueue ---------------------------------------------------------------------------------------
async def test_batch_enqueue_keeps_input_order_and_database_times(backend: PostgresBackend) -> None:
    before = await backend.now()
    records = await backend.enqueue([job(args=(i,)) for i in range(50)])
    assert [r.args for r in records] == [(i,) for i in range(50)]
    assert [r.id for r in records] == sorted(r.id for r in records)
    for record in records:
        assert record.state == JobState.WAITING and record.attempt == 0
        assert record.inserted_at >= before and record.inserted_at.microsecond % 1000 == 0
        assert record.available_at == record.inserted_at
        assert record.inserted_at.tzinfo is not None


async def test_available_at_and_available_in(backend: PostgresBackend) -> None:
    when = datetime(2031, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    exact, later = await backend.enqueue([job(available_at=when), job(available_in=3600)])
    assert exact.available_at == when.replace(microsecond=123000)
    delta = later.available_at - later.inserted_at
    assert timedelta(seconds=3599.99) <= delta <= timedelta(seconds=3600.01)
    assert await backend.claim("default", 10, "w", 30) == []


@pytest.mark.parametrize(
    "payload",
    [
        [1e16, -1e300, 1.5, 0.1, 5e-324, 2**63 - 1, -(2**63), 1.0, 123456789.125],
        [{"nested": {"list": [None, True, False, 'é ☃ \n " \\']}}, "x e+ y", ""],
        [{"b": 1, "a": 2, "": {"": []}}],
    ],
)
async def test_payloads_round_trip_exactly(backend: PostgresBackend, payload: list[object]) -> None:
    (record,) = await backend.enqueue(
        [job(args=tuple(payload), kwargs={"k": payload}, constructor_args=(payload,))]
    )
    stored = await backend.get_job(record.id)
    assert stored is not None
    for value in (record, stored):
        assert list(value.args) == payload
        assert [type(v) for v in value.args] == [type(v) for v in payload]
        assert value.kwargs == {"k": payload}
        assert value.constructor_args == (payload,)


async def test_duplicate_digest_raises_and_stores_nothing(backend: PostgresBackend) -> None:
    config = {"type": "alive-job", "with_args": False}
    (first,) = await backend.enqueue([job(unique_digest="d1", uniqueness_config=config)])
    with pytest.raises(DuplicateJobError) as raised:
        await backend.enqueue([job(args=("fresh",)), job(unique_digest="d1", job_class="Other")])
    assert raised.value.existing_id == first.id
    assert "Other" in str(raised.value)
    assert len(await backend.list_jobs(JobFilter())) == 1
    with pytest.raises(DuplicateJobError) as raised:
        await backend.enqueue([job(unique_digest="d2"), job(unique_digest="d2")])
    assert raised.value.existing_id is None
    assert len(await backend.list_jobs(JobFilter())) == 1


async def test_skip_duplicates_leaves_them_out_in_order(backend: PostgresBackend) -> None:
    (held,) = await backend.enqueue([job(unique_digest="a")])
    records = await backend.enqueue(
        [
            job(args=(1,)),
            job(unique_digest="a"),
            job(args=(2,), unique_digest="b"),
            job(unique_digest="b"),
            job(args=(3,)),
        ],
        skip_duplicates=True,
    )
    assert [r.args for r in records] == [(1,), (2,), (3,)]
    assert all(r.id != held.id for r in records)


async def test_alive_digest_is_released_when_finished_fixed_window_is_not(backend: PostgresBackend) -> None:
    alive = await running(backend, unique_digest="alive", uniqueness_config={"type": "alive-job"})
    await backend.transition(alive.id, complete(alive))
    await backend.enqueue([job(unique_digest="alive", uniqueness_config={"type": "alive-job"})])

    window = {"type": "fixed-window", "period": "hour", "with_args": False}
    fixed = await running(backend, queue="fixed", unique_digest="fixed", uniqueness_config=window)
    await backend.transition(fixed.id, complete(fixed))
    with pytest.raises(DuplicateJobError) as raised:
        await backend.enqueue([job(unique_digest="fixed", uniqueness_config=window)])
    assert raised.value.existing_id == fixed.id


async def test_rerun_into_a_held_digest_raises_duplicate(backend: PostgresBackend) -> None:
    first = await running(backend, unique_digest="r", uniqueness_config={"type": "alive-job"})
    await backend.transition(first.id, complete(first))
    (second,) = await backend.enqueue([job(unique_digest="r", uniqueness_config={"type": "alive-job"})])
    rerun = Transition(
        from_states=frozenset({JobState.COMPLETED}), to_state=JobState.WAITING, available_in=0.0, rerun=True
    )
    with pytest.raises(DuplicateJobError) as raised:
        await backend.transition(first.id, rerun)
    assert raised.value.existing_id == second.id
    stored = await backend.get_job(first.id)
    assert stored is not None and stored.state == JobState.COMPLETED


# claim -----------------------------------------------------------------------------------------
async def test_claim_order_limit_queue_and_lease(backend: PostgresBackend) -> None:
    now = await backend.now()
    late, early, other = await backend.enqueue(
        [
            job(available_at=now - timedelta(seconds=1)),
            job(available_at=now - timedelta(seconds=5)),
            job("other"),
        ]
    )
    claimed = await backend.claim("default", 1, "worker-a", 30)
    assert [c.id for c in claimed] == [early.id]
    (c,) = claimed
    assert (c.state, c.claimed_by) == (JobState.CLAIMED, "worker-a")
    assert c.claimed_at is not None and c.lease_token and c.lease_expires_at is not None
    assert timedelta(seconds=29.9) <= c.lease_expires_at - c.claimed_at <= timedelta(seconds=30.1)
    assert [j.id for j in await backend.claim("default", 10, "worker-a", 30)] == [late.id]
    assert await backend.claim("default", 10, "worker-a", 30) == []
    assert await backend.claim("nowhere", 10, "worker-a", 30) == []
    assert await backend.claim("other", 0, "worker-a", 30) == []
    assert [j.id for j in await backend.claim("other", 5, "worker-a", 30)] == [other.id]


async def test_racing_claimers_never_claim_a_job_twice(schema_url: str, backend: PostgresBackend) -> None:
    await backend.enqueue([job(args=(i,)) for i in range(600)])
    claimers = [PostgresBackend(schema_url, pool_max=2, notify=False) for _ in range(6)]

    async def drain(claimer: PostgresBackend, name: str) -> list[int]:
        got: list[int] = []
        while batch := await claimer.claim("default", 7, name, 30):
            got += [j.id for j in batch]
        return got

    try:
        results = await asyncio.gather(*(drain(c, f"w{i}") for i, c in enumerate(claimers) for _ in range(2)))
    finally:
        for claimer in claimers:
            await claimer.close()
    ids = [i for got in results for i in got]
    assert len(ids) == 600 and len(set(ids)) == 600


@pytest.mark.parametrize("statement", ["claim", "claim_and_start"])
async def test_claim_uses_the_partial_index(
    backend: PostgresBackend, conn: asyncpg.Connection, statement: str
) -> None:
    records = await backend.enqueue([job(f"q{i % 5}", args=(i,)) for i in range(4000)])
    for record in records[:3000:3]:  # a realistic table: most rows finished
        await conn.execute(
            f"UPDATE {backend._sql.jobs} SET state = 'completed', completed_at = now() WHERE id = $1",
            record.id,
        )
    await conn.execute(f"ANALYZE {backend._sql.jobs}")
    sql = getattr(backend._sql, statement)
    plan = "\n".join(row[0] for row in await conn.fetch(f"EXPLAIN {sql}", "q1", 10, "w", 30.0))
    assert "sidequest_jobs_claim_idx" in plan, plan
    assert "Seq Scan on sidequest_jobs" not in plan, plan


@pytest.mark.parametrize("statement", ["claim", "claim_and_start"])
async def test_claims_keep_one_plan_and_it_is_the_indexed_one(
    backend: PostgresBackend, conn: asyncpg.Connection, statement: str
) -> None:
    """PostgreSQL plans a prepared statement anew at every execution unless its generic plan
    is estimated no dearer than the plans made for each execution's parameters (about 170 µs
    of planning per claim). The claim is written so that it is, and so that this generic
    plan is the right one: the claim index to pick, the primary key to update, no scan of
    the whole table."""
    records = await backend.enqueue([job(f"q{i % 5}", args=(i,)) for i in range(4000)])
    for record in records[:3000:3]:
        await conn.execute(
            f"UPDATE {backend._sql.jobs} SET state = 'completed', completed_at = now() WHERE id = $1",
            record.id,
        )
    await conn.execute(f"ANALYZE {backend._sql.jobs}")
    sql = getattr(backend._sql, statement)
    for _ in range(10):
        assert len(await conn.fetch(sql, "q1", 10, "w", 30.0)) == 10
    generic, custom = await conn.fetchrow(
        "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement = $1", sql
    )
    assert (generic, custom) == (5, 5)  # five custom plans to compare with, then the generic one
    await conn.execute(f"PREPARE generic_claim(text, bigint, text, float8) AS {sql}")
    async with conn.transaction():
        await conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        rows = await conn.fetch("EXPLAIN EXECUTE generic_claim('q1', 10, 'w', 30.0)")
    plan = "\n".join(row[0] for row in rows)
    assert "sidequest_jobs_claim_idx" in plan and "sidequest_jobs_pkey" in plan, plan
    assert "Seq Scan" not in plan and "Hash" not in plan, plan


async def test_claim_plans_use_the_indexes_whatever_the_queue_sizes(
    backend: PostgresBackend, conn: asyncpg.Connection
) -> None:
    """With one queue holding nine rows in ten, the claims of a small queue and of the large
    one keep one plan alike (a known small queue would make a claim's own plan look
    cheaper than the generic one), and every plan, for any queue, keeps to the claim index
    and the primary key."""
    await backend.enqueue([job("big", args=(i,)) for i in range(3600)])
    await backend.enqueue([job(f"q{i % 4}", args=(i,)) for i in range(400)])
    await conn.execute(
        f"UPDATE {backend._sql.jobs} SET state = 'completed' WHERE queue = 'big' AND id % 3 = 0"
    )
    await conn.execute(f"ANALYZE {backend._sql.jobs}")
    sql = backend._sql.claim_and_start
    plans = "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement = $1"
    for queue, expected in (("q1", (5, 5)), ("big", (15, 5))):
        for _ in range(10):
            assert len(await conn.fetch(sql, queue, 5, "w", 30.0)) == 5
        assert tuple(await conn.fetchrow(plans, sql)) == expected, queue
    await conn.execute(f"PREPARE skewed_claim(text, bigint, text, float8) AS {sql}")
    for mode in ("force_custom_plan", "force_generic_plan"):
        for queue in ("q1", "big", "absent"):
            async with conn.transaction():
                await conn.execute(f"SET LOCAL plan_cache_mode = {mode}")
                rows = await conn.fetch(f"EXPLAIN EXECUTE skewed_claim('{queue}', 10, 'w', 30.0)")
            plan = "\n".join(row[0] for row in rows)
            assert "sidequest_jobs_claim_idx" in plan and "sidequest_jobs_pkey" in plan, (mode, queue, plan)
            assert "Seq Scan" not in plan and "Hash" not in plan, (mode, queue, plan)


@pytest.mark.parametrize("statement", ["claim", "claim_and_start"])
async def test_a_job_changed_after_the_claims_snapshot_is_still_claimed(
    backend: PostgresBackend, conn: asyncpg.Connection, postgres_url: str, statement: str
) -> None:
    """A waiting job that another transaction changes (it stays waiting) between the start
    of a claim and the moment the claim locks it is claimed in its new version: the claim
    does not come back short, which would make a worker believe the queue empty.

    The claim is slowed down before it locks each row (a ``pg_sleep`` in the scan's filter)
    so that the change commits in between. Updating the locked rows by ``ctid`` fails
    this: the new version is invisible to the statement's snapshot."""
    first, *_ = await backend.enqueue([job(args=(i,)) for i in range(3)])
    sql = getattr(backend._sql, statement)
    slowed = sql.replace("available_at <= now()", "available_at <= now() AND pg_sleep(0.3)::text = ''")
    assert slowed != sql
    claimer = await asyncpg.connect(postgres_url)
    try:
        claim = asyncio.create_task(claimer.fetch(slowed, "default", 10, "w", 30.0))
        await asyncio.sleep(0.1)  # the claim has its snapshot and sleeps before its first lock
        await conn.execute(
            f"UPDATE {backend._sql.jobs} SET available_at = available_at - interval '1 ms' WHERE id = $1",
            first.id,
        )
        claimed = await claim
    finally:
        await claimer.close()
    assert len(claimed) == 3 and first.id in {row["id"] for row in claimed}
    assert {j.state for j in await backend.list_jobs(JobFilter())} == {
        JobState.CLAIMED if statement == "claim" else JobState.RUNNING
    }


async def test_complete_many_gives_each_job_its_own_result_and_token(backend: PostgresBackend) -> None:
    await backend.enqueue([job(args=(i,)) for i in range(6)])
    jobs = await backend.claim_and_start("default", 6, "w1", 30)
    results: list[object] = [{"big": 1e16, "s": "e+1"}, None, ["x", 2.5], "plain"]
    done = await backend.complete_many(
        [(j.id, str(j.lease_token), result) for j, result in zip(jobs, results, strict=False)]
        # swapped tokens: each is a real token, but of the other job
        + [(jobs[4].id, str(jobs[5].lease_token), 0), (jobs[5].id, str(jobs[4].lease_token), 0)]
        # an id given again with a wrong token, then with its own: its own still counts
        + [(jobs[0].id, str(jobs[1].lease_token), 1), (jobs[3].id, "0" * 32, 1)]
    )
    assert done == {j.id for j in jobs[:4]}
    for j, result in zip(jobs, results, strict=False):
        stored = await backend.get_job(j.id)
        assert stored is not None and (stored.state, stored.result) == (JobState.COMPLETED, result)
    for j in jobs[4:]:
        assert (await backend.get_job(j.id)).state == JobState.RUNNING  # type: ignore[union-attr]
    late = await backend.complete_many([(jobs[4].id, "0" * 32, 1), (jobs[4].id, str(jobs[4].lease_token), 7)])
    assert late == {jobs[4].id} and (await backend.get_job(jobs[4].id)).result == 7  # type: ignore[union-attr]


@pytest.mark.parametrize("statement", ["complete_many", "heartbeat_renew", "heartbeat_check"])
async def test_fenced_batches_find_their_rows_by_primary_key(
    backend: PostgresBackend, conn: asyncpg.Connection, statement: str
) -> None:
    await backend.enqueue([job(args=(i,)) for i in range(3000)])
    held = await backend.claim_and_start("default", 2000, "w1", 30)  # many held jobs, as under load
    await conn.execute(f"ANALYZE {backend._sql.jobs}")
    ids = [j.id for j in held[:100]]
    tokens = "{" + ",".join(f'"{j.id}":"{j.lease_token}"' for j in held[:100]) + "}"
    third = {"complete_many": ["{}"], "heartbeat_renew": [30.0], "heartbeat_check": []}[statement]
    async with conn.transaction():
        await conn.execute("SET LOCAL enable_seqscan = off")  # the table is small; it would not be
        sql = getattr(backend._sql, statement)
        plan = "\n".join(row[0] for row in await conn.fetch(f"EXPLAIN {sql}", ids, tokens, *third))
    assert "sidequest_jobs_pkey" in plan, plan
    assert "lease_idx" not in plan, plan  # a walk over every held job, to touch 100


# transitions -----------------------------------------------------------------------------------
async def test_transitions_are_fenced_by_state_and_lease_token(backend: PostgresBackend) -> None:
    await backend.enqueue([job()])
    (claimed,) = await backend.claim("default", 1, "w1", 30)
    assert (
        await backend.transition(
            claimed.id,
            Transition(
                from_states=frozenset({JobState.CLAIMED}),
                to_state=JobState.RUNNING,
                lease_token="00000000-0000-0000-0000-000000000000",
            ),
        )
        is None
    )
    assert (
        await backend.transition(
            claimed.id,
            Transition(
                from_states=frozenset({JobState.CLAIMED}), to_state=JobState.RUNNING, lease_token="not-a-uuid"
            ),
        )
        is None
    )
    assert await backend.transition(claimed.id, complete(claimed)) is None  # not running yet
    assert await backend.transition(999_999, start(claimed)) is None
    started = await backend.transition(claimed.id, start(claimed))
    assert started is not None and started.attempt == 1 and started.attempted_at is not None
    error = ErrorRecord(type="ValueError", message="bad \x00 byte", attempt=1, worker="w1")
    retry = Transition(
        from_states=frozenset({JobState.RUNNING}),
        to_state=JobState.WAITING,
        lease_token=started.lease_token,
        available_in=0.25,
        error=error,
        clear_lease=True,
    )
    waiting = await backend.transition(started.id, retry)
    assert waiting is not None and waiting.state == JobState.WAITING
    assert waiting.lease_token is None and waiting.lease_expires_at is None
    assert [e.type for e in waiting.errors] == ["ValueError"]
    assert waiting.errors[0].message == "bad \ufffd byte"
    assert waiting.available_at > started.attempted_at  # type: ignore[operator]
    # the old token can no longer write anything
    assert await backend.transition(started.id, complete(started, 1)) is None


async def test_rerun_clears_result_and_grants_an_attempt(backend: PostgresBackend) -> None:
    started = await running(backend, max_attempts=1)
    done = await backend.transition(started.id, complete(started, {"ok": [1, 2]}))
    assert done is not None and done.result == {"ok": [1, 2]} and done.completed_at is not None
    rerun = Transition(
        from_states=frozenset({JobState.COMPLETED, JobState.FAILED, JobState.CANCELED}),
        to_state=JobState.WAITING,
        available_in=0.0,
        rerun=True,
    )
    again = await backend.transition(done.id, rerun)
    assert again is not None
    assert (again.state, again.result, again.completed_at, again.max_attempts) == (
        JobState.WAITING,
        None,
        None,
        2,
    )


# leases ----------------------------------------------------------------------------------------
async def test_heartbeat_checks_and_extends_only_held_leases(backend: PostgresBackend) -> None:
    started = await running(backend)
    leases = {started.id: str(started.lease_token), 424242: "00000000-0000-0000-0000-000000000000", 5: "junk"}
    assert await backend.heartbeat("w1", leases, None) == {started.id}
    await asyncio.sleep(0.01)
    assert await backend.heartbeat("w1", leases, 120) == {started.id}
    renewed = await backend.get_job(started.id)
    assert renewed is not None and renewed.lease_expires_at is not None
    assert renewed.lease_expires_at - (await backend.now()) > timedelta(seconds=100)
    assert await backend.heartbeat("w1", {}, 30) == set()


async def test_release_expired(backend: PostgresBackend) -> None:
    await backend.enqueue([job("a"), job("b"), job("c", max_attempts=1)])
    assert len(await backend.claim("a", 1, "wa", 0.001)) == 1
    (b,) = await backend.claim("b", 1, "wb", 0.001)
    (c,) = await backend.claim("c", 1, "wc", 0.001)
    b = await backend.transition(b.id, start(b))  # type: ignore[assignment]
    c = await backend.transition(c.id, start(c))  # type: ignore[assignment]
    await asyncio.sleep(0.02)
    released = {r.queue: r for r in await backend.release_expired()}
    assert released["a"].state == JobState.WAITING and released["a"].errors == ()
    assert released["a"].attempt == 0
    assert released["b"].state == JobState.WAITING and released["b"].attempt == 1
    (lost,) = released["b"].errors
    assert (lost.type, lost.attempt, lost.worker) == (WORKER_LOST, 1, "wb")
    assert lost.at is not None and released["b"].available_at >= lost.at
    assert released["c"].state == JobState.FAILED and released["c"].failed_at is not None
    assert all(r.lease_token is None and r.lease_expires_at is None for r in released.values())
    assert await backend.release_expired() == []


# maintenance and reads ---------------------------------------------------------------------------
async def test_delete_finished_only_before_cutoff(backend: PostgresBackend) -> None:
    done = await running(backend)
    await backend.transition(done.id, complete(done))
    await backend.enqueue([job()])
    assert await backend.delete_finished(datetime(2000, 1, 1, tzinfo=UTC)) == 0
    assert await backend.delete_finished(await backend.now() + timedelta(seconds=1)) == 1
    assert len(await backend.list_jobs(JobFilter())) == 1


async def test_list_filters(backend: PostgresBackend) -> None:
    records = await backend.enqueue(
        [
            job("email-queue", job_class="SendEmailJob", args=("Alice",), kwargs={"to": "a@x"}),
            job("report-queue", job_class="ProcessEmailJob", args=("bob",)),
            job("notification", job_class="Data_Processor", args=(1, 2)),
        ]
    )
    ids = [r.id for r in records]

    async def listed(**criteria: object) -> list[int]:
        return [j.id for j in await backend.list_jobs(JobFilter(**criteria))]  # type: ignore[arg-type]

    assert await listed() == ids[::-1]
    assert await listed(queues=("%-queue",)) == ids[1::-1]
    assert await listed(queues=("email%", "notification")) == [ids[2], ids[0]]
    assert await listed(job_classes=("%EmailJob",)) == ids[1::-1]
    assert await listed(job_classes=("Data_Processor",)) == [ids[2]]
    assert await listed(job_classes=("Data%Proc%",)) == [ids[2]]
    assert await listed(job_classes=("%Email_ob",)) == []  # "_" is literal, not a wildcard
    assert await listed(states=("wait%",)) == ids[::-1]
    assert await listed(states=("canceled",)) == []
    assert await listed(args=(1, 2)) == [ids[2]]
    assert await listed(search="ALICE") == [ids[0]]
    assert await listed(search="a@x") == [ids[0]]
    assert await listed(search="%") == []
    assert await listed(ids=(ids[0], ids[2])) == [ids[2], ids[0]]
    assert await listed(before_id=ids[2]) == ids[1::-1]
    assert await listed(limit=1, offset=1) == [ids[1]]
    moment = records[0].inserted_at
    assert await listed(time_field="inserted_at", since=moment, until=moment) == ids[::-1]
    assert await listed(time_field="inserted_at", since=moment + timedelta(milliseconds=1)) == []
    assert await listed(time_field="finished_at", since=moment) == []


async def test_counts(backend: PostgresBackend) -> None:
    done = await running(backend, queue="q1")
    await backend.transition(done.id, complete(done))
    await backend.enqueue([job("q1"), job("q2")])
    from sidequest.backend import QueueRecord

    await backend.create_queue(QueueRecord(name="empty"))
    counts = await backend.count_jobs()
    assert (counts.completed, counts.waiting, counts.total) == (1, 2, 3)
    future = await backend.now() + timedelta(hours=1)
    assert (await backend.count_jobs(since=future)).total == 0
    assert (await backend.count_jobs(until=future)).total == 3
    by_queue = await backend.count_jobs_by_queue()
    assert list(by_queue) == ["default", "empty", "q1", "q2"] or list(by_queue) == ["empty", "q1", "q2"]
    assert by_queue["empty"].total == 0 and by_queue["q1"].total == 2
    buckets = await backend.count_jobs_over_time("5m")
    assert len(buckets) == 5
    assert [b.at for b in buckets] == sorted(b.at for b in buckets)
    assert buckets[-1].counts.total == 3 and sum(b.counts.total for b in buckets[:-1]) == 0
    assert await backend.job_queue_names() == ["q1", "q2"]


async def test_truncate_empties_everything(backend: PostgresBackend) -> None:
    from sidequest.backend import QueueRecord

    await backend.enqueue([job()])
    await backend.ensure_queue(QueueRecord(name="default"))
    await backend.truncate()
    assert await backend.list_jobs(JobFilter()) == []
    assert await backend.list_queues() == []


async def test_works_without_prepared_statement_cache(schema_url: str) -> None:
    pg = PostgresBackend(schema_url, pool_max=2, statement_cache_size=0)  # PgBouncer transaction mode
    try:
        await pg.migrate()
        long_queue = "q" * 3000  # NOTIFY payloads are cut well below the 8000-byte limit
        await pg.enqueue([job(long_queue, args=(i,)) for i in range(3)])
        claimed = await pg.claim(long_queue, 5, "w", 30)
        assert [c.args for c in claimed] == [(0,), (1,), (2,)]
        started = await pg.transition(claimed[0].id, start(claimed[0]))
        assert started is not None
        assert await pg.heartbeat("w", {started.id: str(started.lease_token)}, 30) == {started.id}
    finally:
        await pg.close()
