"""Large batches: exact records, atomicity, uniqueness, wake-ups at commit.

Each test runs with a batch written as one INSERT (250 jobs) and with one written in parts
inside one transaction (1,100 jobs: parts of ``PART_SIZE``, the last one short), and most
in both forms of the insert: the general one (every job its own fields) and the shared
one (jobs that share every field but their payload and digest, as ``enqueue_many`` makes).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import attrs
import pytest
from pg_support import enqueue_rolled_back, listening
from sidequest import DuplicateJobError
from sidequest.backend import JobBatch, JobFilter, JobState, NewJob
from sidequest_postgres._params import insert_document, shared_document, shared_values
from sidequest_postgres._pipeline import PART_SIZE, PIPELINE_FROM, fetch_in_parts
from sidequest_postgres.backend import PostgresBackend

pytestmark = pytest.mark.postgres
ONE_STATEMENT, IN_PARTS = 250, 4 * PART_SIZE + 100
assert ONE_STATEMENT < PIPELINE_FROM <= IN_PARTS


@pytest.fixture(params=[ONE_STATEMENT, IN_PARTS], ids=["one-statement", "in-parts"])
def n(request: pytest.FixtureRequest) -> int:
    return int(request.param)


@pytest.fixture(params=["general", "shared"])
def form(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def job(i: int, **fields: object) -> NewJob:
    return NewJob(queue=f"q{i % 3}", script="tests.jobs", job_class="TestJob", args=(i, f"user{i}"), **fields)  # type: ignore[arg-type]


def batch_of(n: int, form: str) -> list[NewJob]:
    """``n`` jobs in three queues (general form) or sharing one set of fields (shared form)."""
    if form == "general":
        jobs = [job(i) for i in range(n)]
    else:
        common = NewJob(queue="q0", script="tests.jobs", job_class="TestJob")
        jobs = [attrs.evolve(common, args=(i, f"user{i}")) for i in range(n)]
    assert (shared_values(jobs) is not None) == (form == "shared")
    return jobs


async def test_a_large_batch_reads_back_exactly(backend: PostgresBackend, n: int) -> None:
    when = datetime(2031, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    batch = [job(i) for i in range(n)]
    batch[1] = job(1, kwargs={"to": "ann", "n": 1.5e300, "big": 1e16}, constructor_args=("svc",))
    batch[2] = job(
        2, available_at=when, timeout=2.5, max_attempts=9, retry_delay=3.0, backoff_strategy="fixed"
    )
    batch[3] = job(3, available_in=3600.0, unique_digest="d3", uniqueness_config={"type": "alive-job"})
    before = await backend.now()
    records = await backend.enqueue(batch)
    assert [r.args for r in records] == [j.args for j in batch]
    assert [r.id for r in records] == sorted(r.id for r in records)
    assert len({r.inserted_at for r in records}) == 1 and records[0].inserted_at >= before
    for record in records:
        assert await backend.get_job(record.id) == record
    assert records[2].available_at == when.replace(microsecond=123000)
    delay = records[3].available_at - records[3].inserted_at
    assert timedelta(seconds=3599.99) <= delay <= timedelta(seconds=3600.01)
    assert records[0].state == JobState.WAITING and records[0].available_at == records[0].inserted_at
    claimed = await backend.claim("q0", n, "w", 30)
    ready = [j for j in batch if j.queue == "q0" and not j.available_in and j.available_at is None]
    assert len(claimed) == len(ready)


async def test_a_duplicate_in_a_large_batch_stores_nothing(
    backend: PostgresBackend, n: int, form: str
) -> None:
    (holder,) = await backend.enqueue([job(0, unique_digest="taken")])
    for where in (0, n // 2, n - 1):  # first, middle and last part
        batch = batch_of(n, form)
        batch[where] = attrs.evolve(batch[where], unique_digest="taken")
        with pytest.raises(DuplicateJobError) as caught:
            await backend.enqueue(batch)
        assert caught.value.existing_id == holder.id
        assert (await backend.count_jobs()).total == 1


async def test_skip_duplicates_in_a_large_batch_still_skips(
    backend: PostgresBackend, n: int, form: str
) -> None:
    await backend.enqueue([job(0, unique_digest="taken")])
    batch = [attrs.evolve(j, unique_digest=f"d{i}") for i, j in enumerate(batch_of(n, form))]
    batch[5] = attrs.evolve(batch[5], unique_digest="taken")
    batch[n - 2] = attrs.evolve(batch[n - 2], unique_digest="d1")  # repeats a digest of an earlier part
    stored = await backend.enqueue(batch, skip_duplicates=True)
    assert [r.args[0] for r in stored] == [i for i in range(n) if i not in (5, n - 2)]
    assert [r.id for r in stored] == sorted(r.id for r in stored)


async def test_a_server_error_in_a_later_part_stores_nothing(
    backend: PostgresBackend, n: int, form: str
) -> None:
    batch = batch_of(n, form)
    batch[-1] = attrs.evolve(batch[-1], args=("\x00",))  # jsonb refuses NUL: fails on the server
    with pytest.raises(asyncpg.DataError):
        await backend.enqueue(batch)
    assert await backend.list_jobs(JobFilter()) == []
    assert len(await backend.enqueue(batch_of(n, form))) == n  # the pool is fine afterwards


async def test_a_general_batch_fails_on_the_server_in_a_later_part(backend: PostgresBackend, n: int) -> None:
    batch = [job(i) for i in range(n)]
    batch[-1] = job(n, max_attempts=2**40)  # out of range for the int4 column
    with pytest.raises(asyncpg.DataError):
        await backend.enqueue(batch)
    assert await backend.list_jobs(JobFilter()) == []


async def test_a_batch_cancelled_midway_stores_nothing(backend: PostgresBackend, form: str) -> None:
    batch = batch_of(20 * PART_SIZE, form)
    for delay in (0.0, 0.002, 0.01, 0.03):
        task = asyncio.create_task(backend.enqueue(batch))
        await asyncio.sleep(delay)
        task.cancel()
        try:
            returned: int | None = len(await task)
        except asyncio.CancelledError:
            returned = None
        # all or nothing, whatever the moment of the cancellation (one that arrives while
        # the batch commits is raised once the commit is over, which may have stored it)
        stored = (await backend.count_jobs()).total
        assert stored in (0, len(batch))
        assert returned in (None, stored)
        await backend.truncate()
    assert len(await backend.enqueue(batch)) == len(batch)


async def test_a_cancellation_during_the_commit_waits_for_it(
    postgres_url: str, backend: PostgresBackend
) -> None:
    """Once COMMIT is sent, a cancellation (even a repeated one) is raised only after the
    commit is over, so the connection is free again and the batch is stored whole."""
    connection = await asyncpg.connect(postgres_url)
    committing, gate = asyncio.Event(), asyncio.Event()

    class SlowCommit:
        async def execute(self, sql: str) -> Any:
            if sql == "COMMIT":
                committing.set()
                await gate.wait()
            return await connection.execute(sql)

        async def fetch(self, sql: str, *args: Any) -> Any:
            return await connection.fetch(sql, *args)

    batch = batch_of(IN_PARTS, "general")
    try:
        task = asyncio.create_task(
            fetch_in_parts(
                SlowCommit(),  # type: ignore[arg-type]
                backend._sql.enqueue_in_parts[(False, False)],
                batch,
                insert_document,
                lambda part, rows: [len(rows)],
            )
        )
        await committing.wait()  # every part is written; COMMIT waits at the gate
        task.cancel()
        await asyncio.sleep(0.05)
        assert not task.done()  # held by the commit in flight
        task.cancel()  # a second cancellation does not cut the wait short either
        await asyncio.sleep(0.05)
        assert not task.done()
        gate.set()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not connection.is_in_transaction()
        assert await connection.fetchval("SELECT 1") == 1
        assert (await backend.count_jobs()).total == len(batch)
    finally:
        await connection.close()


async def test_a_job_batch_is_built_a_part_at_a_time_as_the_parts_are_sent(
    postgres_url: str, backend: PostgresBackend
) -> None:
    """Each part of an ``enqueue_many`` batch is built while the server writes the one
    before it: job ``i`` is built once ``i // PART_SIZE`` statements have been sent."""
    connection = await asyncpg.connect(postgres_url)
    sent = 0

    class Counting:
        async def execute(self, sql: str) -> Any:
            return await connection.execute(sql)

        async def fetch(self, sql: str, *args: Any) -> Any:
            nonlocal sent
            sent += 1
            return await connection.fetch(sql, *args)

    built_after: list[int] = []  # per job: the statements sent when it was built

    def digest(args: Sequence[Any], kwargs: Mapping[str, Any]) -> None:
        built_after.append(sent)

    template = NewJob(queue="q0", script="tests.jobs", job_class="TestJob")
    batch = JobBatch(template, [((position,), {}) for position in range(IN_PARTS)], digest)
    shared = shared_values(batch)
    assert shared is not None and built_after == []  # the shared values come from the template
    try:
        ids = await fetch_in_parts(
            Counting(),  # type: ignore[arg-type]
            backend._sql.enqueue_shared_in_parts[(False, False)],
            batch,
            shared_document,
            lambda part, rows: [row[0] for row in rows],
            shared,
        )
    finally:
        await connection.close()
    assert built_after == [position // PART_SIZE for position in range(IN_PARTS)]
    assert len(ids) == IN_PARTS and ids == sorted(ids)
    pool = await backend._db()
    stored = await pool.fetch(f"SELECT id, args::text FROM {backend._sql.jobs} ORDER BY id")
    assert [tuple(row) for row in stored] == [(i, f"[{position}]") for position, i in enumerate(ids)]


async def test_a_large_batch_wakes_other_processes_once_committed(
    backend: PostgresBackend, other: PostgresBackend, postgres_url: str, n: int, form: str
) -> None:
    wakes = await listening(other)
    await enqueue_rolled_back(postgres_url, backend, batch_of(n, form))
    assert not await wakes.wait(0.5)
    assert await backend.list_jobs(JobFilter()) == []
    await backend.enqueue(batch_of(n, form))
    assert await wakes.wait(3)


WHEN = datetime(2031, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
SHARED_OPTIONS: dict[str, dict[str, Any]] = {
    "plain": {},
    "every-option": {
        "constructor_args": ("svc", 1, {"deep": [1.5, None]}),
        "timeout": 2.5,
        "max_attempts": 9,
        "retry_delay": 3.0,
        "backoff_strategy": "fixed",
    },
    "available-at": {"available_at": WHEN},
    "available-in": {"available_in": 3600.0},
    "alive-job": {"uniqueness_config": {"type": "alive-job", "with_args": True}},
    "fixed-window": {"uniqueness_config": {"type": "fixed-window", "period": "hour"}},
}
STORED = (
    "queue, state, script, class, args::text, kwargs::text, constructor_args::text, attempt, max_attempts,"
    " CASE WHEN available_at > now() + interval '1 day' THEN extract(epoch FROM available_at)"  # absolute
    " ELSE round(extract(epoch FROM available_at - inserted_at)) END, timeout, unique_digest,"  # relative
    " uniqueness_config::text, unique_forever, retry_delay, backoff_strategy, errors::text, result"
)


@pytest.mark.parametrize("options", list(SHARED_OPTIONS), ids=list(SHARED_OPTIONS))
async def test_a_shared_batch_stores_what_the_general_form_stores(
    backend: PostgresBackend, n: int, options: str
) -> None:
    common = NewJob(queue="mail", script="tests.jobs", job_class="TestJob", **SHARED_OPTIONS[options])
    unique = common.uniqueness_config is not None
    shared = [
        attrs.evolve(
            common,
            args=(i, f"user{i}"),
            kwargs={"n": i, "big": 1e16, "text": 'é"\\'} if i % 2 else {},
            unique_digest=f"digest{i}" if unique else None,
        )
        for i in range(n)
    ]
    # equal values, distinct objects: the general form
    general = [attrs.evolve(j, available_in=float(repr(j.available_in))) for j in shared]
    assert shared_values(shared) is not None and shared_values(general) is None

    stored: list[list[Any]] = []
    for batch in (shared, general):
        records = await backend.enqueue(batch)
        assert [r.args for r in records] == [j.args for j in batch]
        assert [r.kwargs for r in records] == [j.kwargs for j in batch]
        for record in records[:3] + records[-3:]:
            assert await backend.get_job(record.id) == record
        pool = await backend._db()
        rows = await pool.fetch(f"SELECT {STORED} FROM {backend._sql.jobs} ORDER BY id")
        stored.append([list(row) for row in rows])
        await backend.truncate()
    assert len(stored[0]) == n and stored[0] == stored[1]


async def test_shared_values_need_the_same_objects_not_equal_ones() -> None:
    common = NewJob(queue="mails", script="m", job_class="C", constructor_args=(1,))
    jobs = [attrs.evolve(common, args=(i,), unique_digest=str(i)) for i in range(3)]
    values = shared_values(jobs)
    assert values is not None and values[:4] == ["mails", "m", "C", "[1]"]
    for field, value in [
        ("constructor_args", (True,)),  # equal to (1,) in Python, not in JSON
        ("constructor_args", tuple([1])),  # equal, but another object
        ("queue", "".join(["ma", "ils"])),  # equal, but another object
        ("max_attempts", 4),
        ("available_in", 0.0 + 1e-9),
        ("uniqueness_config", {}),
        ("backoff_strategy", "fixed"),
    ]:
        assert shared_values([*jobs, attrs.evolve(common, **{field: value})]) is None, field
