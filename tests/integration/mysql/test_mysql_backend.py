"""MySQL specifics beyond the conformance suite: batches, limits, corrupt rows, cancellation."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import sidequest_mysql.backend as backend_module
from mysql_support import execute
from sidequest import ConfigurationError, DuplicateJobError
from sidequest.backend import JobFilter, JobState, NewJob, Transition
from sidequest_mysql.backend import MySQLBackend

pytestmark = pytest.mark.mysql_server


def job(**fields: Any) -> NewJob:
    return NewJob(**{"queue": "default", "script": "tests.jobs", "job_class": "TestJob", **fields})


def nested(depth: int) -> Any:
    value: Any = "bottom"
    for level in range(depth):
        value = [value] if level % 2 else {"level": level, "next": value}
    return value


async def test_connection_argument_is_refused(backend: MySQLBackend) -> None:
    with pytest.raises(ConfigurationError, match="cannot join an application transaction"):
        await backend.enqueue([job()], connection=object())
    assert (await backend.count_jobs()).total == 0


async def test_session_runs_in_utc_read_committed(backend: MySQLBackend) -> None:
    row = await backend._db.fetch_one("SELECT @@session.time_zone, @@session.sql_mode")
    assert row is not None and row[0] == "+00:00" and "STRICT_ALL_TABLES" in row[1]


async def test_payloads_nested_deeper_than_mariadb_json_allows(backend: MySQLBackend) -> None:
    """MariaDB's JSON_VALID stops at depth 32; sidequest accepts up to 100 and stores text."""
    deep = nested(95)
    (stored,) = await backend.enqueue([job(args=(deep,), kwargs={"k": nested(40)})])
    fetched = await backend.get_job(stored.id)
    assert fetched is not None and fetched.args == (deep,) and fetched.decode_error is None


@pytest.mark.parametrize("returning", [True, False])
async def test_large_batches_span_several_statements(database_url: str, returning: bool) -> None:
    backend = MySQLBackend(database_url, returning=returning)
    try:
        await backend.migrate()
        jobs = [job(args=(n,)) for n in range(1203)]
        jobs += [job(args=("x" * 700_000, n)) for n in range(3)]  # ~2 MiB of text: several statements
        stored = await backend.enqueue(jobs)
        assert [j.args[-1] for j in stored] == [*range(1203), 0, 1, 2]
        assert [j.id for j in stored] == sorted(j.id for j in stored)
        assert (await backend.count_jobs()).waiting == 1206
        assert await backend.get_job(stored[-1].id) == stored[-1]
    finally:
        await backend.close()


@pytest.mark.parametrize("returning", [True, False])
async def test_a_duplicate_late_in_a_large_batch_stores_nothing(database_url: str, returning: bool) -> None:
    backend = MySQLBackend(database_url, returning=returning)
    try:
        await backend.migrate()
        holder = await backend.enqueue([job(unique_digest="held")])
        batch = [job(args=(n,)) for n in range(1100)] + [job(unique_digest="held")]
        with pytest.raises(DuplicateJobError) as caught:
            await backend.enqueue(batch)
        assert caught.value.existing_id == holder[0].id
        assert (await backend.count_jobs()).total == 1
        kept = await backend.enqueue(batch, skip_duplicates=True)
        assert len(kept) == 1100 and (await backend.count_jobs()).total == 1101
    finally:
        await backend.close()


@pytest.mark.parametrize(
    ("field", "length"), [("queue", 256), ("job_class", 513), ("script", 1025), ("unique_digest", 256)]
)
async def test_values_longer_than_their_column_are_refused(
    backend: MySQLBackend, field: str, length: int
) -> None:
    with pytest.raises(ConfigurationError, match="at most"):
        await backend.enqueue([job(), job(**{field: "a" * length})])
    assert (await backend.count_jobs()).total == 0
    await backend.enqueue([job(**{field: "a" * (length - 1)})])


async def test_corrupt_rows_fail_alone(mysql_url: str, database: str, backend: MySQLBackend) -> None:
    good, bad, worse = await backend.enqueue([job(args=(1,)), job(args=(2,)), job(args=(3,))])
    await execute(
        mysql_url, "UPDATE sidequest_jobs SET args = '{not json' WHERE id = %s", (bad.id,), database
    )
    await execute(mysql_url, "UPDATE sidequest_jobs SET errors = 'nope' WHERE id = %s", (worse.id,), database)
    listed = {j.id: j for j in await backend.list_jobs(JobFilter())}
    assert listed[good.id].decode_error is None and listed[good.id].args == (1,)
    assert listed[bad.id].decode_error and listed[bad.id].args == ()
    assert listed[worse.id].decode_error and listed[worse.id].errors == ()
    claimed = await backend.claim("default", 10, "w", 60)
    assert {j.id for j in claimed} == {good.id, bad.id, worse.id}


async def test_delete_finished_works_in_batches(
    backend: MySQLBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(backend_module, "_DELETE_BATCH", 7)
    jobs = await backend.enqueue([job() for _ in range(30)])
    cancel = Transition(
        from_states=frozenset({JobState.WAITING}), to_state=JobState.CANCELED, stamp="canceled_at"
    )
    for record in jobs[:23]:
        await backend.transition(record.id, cancel)
    await asyncio.sleep(0.01)
    assert await backend.delete_finished(await backend.now()) == 23
    assert (await backend.count_jobs()).total == 7


async def test_cancelled_claims_leave_no_lock_behind(database_url: str, backend: MySQLBackend) -> None:
    await backend.enqueue([job() for _ in range(2000)])

    async def claimer() -> None:
        while await backend.claim("default", 3, "w", 60):
            pass

    tasks = [asyncio.create_task(claimer()) for _ in range(8)]
    await asyncio.sleep(0.05)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    other = MySQLBackend(database_url, pool_max=2)
    try:
        counts = await backend.count_jobs()
        assert counts.waiting + counts.claimed == 2000 and counts.waiting > 0  # interrupted mid-way
        taken = await asyncio.wait_for(other.claim("default", 2000, "x", 60), 10)  # no lock waits
        assert len(taken) == counts.waiting
        for record in await backend.list_jobs(JobFilter(states=("claimed",), limit=1000)):
            assert record.lease_token and record.lease_token.endswith(f".{record.id}")
    finally:
        await other.close()


async def test_a_closed_backend_refuses_work(database_url: str) -> None:
    backend = MySQLBackend(database_url)
    await backend.migrate()
    await backend.close()
    with pytest.raises(ConfigurationError, match="closed"):
        await backend.get_job(1)


async def test_claim_and_start_then_complete_many(backend: MySQLBackend) -> None:
    await backend.enqueue([job(args=(n,)) for n in range(5)])
    started = await backend.claim_and_start("default", 5, "w", 60)
    assert [j.state for j in started] == [JobState.RUNNING] * 5
    assert [await backend.get_job(j.id) for j in started] == started
    done = await backend.complete_many([(j.id, str(j.lease_token), {"n": j.args[0]}) for j in started])
    assert done == {j.id for j in started}
    assert (await backend.count_jobs()).completed == 5


async def test_connections_killed_by_the_server_are_replaced(
    mysql_url: str, database: str, backend: MySQLBackend
) -> None:
    (record,) = await backend.enqueue([job()])
    await asyncio.gather(*(backend.get_job(record.id) for _ in range(6)))  # fill the pool
    for (thread,) in await execute(
        mysql_url, "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = %s", (database,)
    ):
        await execute(mysql_url, f"KILL {thread}")
    await asyncio.sleep(0.5)
    assert await backend.get_job(record.id) == record
    assert [j.id for j in await backend.claim("default", 5, "w", 60)] == [record.id]
