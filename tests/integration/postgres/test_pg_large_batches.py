"""Large batches: exact records, atomicity, uniqueness, wake-ups at commit.

Each test runs with a batch written as one INSERT (250 jobs) and with one written in parts
inside one transaction (1,100 jobs: parts of ``PART_SIZE``, the last one short).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from pg_support import enqueue_rolled_back, listening
from sidequest import DuplicateJobError
from sidequest.backend import JobFilter, JobState, NewJob
from sidequest_postgres._pipeline import PART_SIZE, PIPELINE_FROM
from sidequest_postgres.backend import PostgresBackend

pytestmark = pytest.mark.postgres
ONE_STATEMENT, IN_PARTS = 250, 4 * PART_SIZE + 100
assert ONE_STATEMENT < PIPELINE_FROM <= IN_PARTS


@pytest.fixture(params=[ONE_STATEMENT, IN_PARTS], ids=["one-statement", "in-parts"])
def n(request: pytest.FixtureRequest) -> int:
    return int(request.param)


def job(i: int, **fields: object) -> NewJob:
    return NewJob(queue=f"q{i % 3}", script="tests.jobs", job_class="TestJob", args=(i, f"user{i}"), **fields)  # type: ignore[arg-type]


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


async def test_a_duplicate_in_a_large_batch_stores_nothing(backend: PostgresBackend, n: int) -> None:
    (holder,) = await backend.enqueue([job(0, unique_digest="taken")])
    for where in (0, n // 2, n - 1):  # first, middle and last part
        batch = [job(i) for i in range(n)]
        batch[where] = job(where, unique_digest="taken")
        with pytest.raises(DuplicateJobError) as caught:
            await backend.enqueue(batch)
        assert caught.value.existing_id == holder.id
        assert (await backend.count_jobs()).total == 1


async def test_skip_duplicates_in_a_large_batch_still_skips(backend: PostgresBackend, n: int) -> None:
    await backend.enqueue([job(0, unique_digest="taken")])
    batch = [job(i, unique_digest=f"d{i}") for i in range(n)]
    batch[5] = job(5, unique_digest="taken")
    batch[n - 2] = job(n - 2, unique_digest="d1")  # repeats a digest of an earlier part
    stored = await backend.enqueue(batch, skip_duplicates=True)
    assert [r.args[0] for r in stored] == [i for i in range(n) if i not in (5, n - 2)]
    assert [r.id for r in stored] == sorted(r.id for r in stored)


async def test_a_server_error_in_a_later_part_stores_nothing(backend: PostgresBackend, n: int) -> None:
    batch = [job(i) for i in range(n)]
    batch[-1] = job(n, max_attempts=2**40)  # out of range for the int4 column: fails on the server
    with pytest.raises(asyncpg.DataError):
        await backend.enqueue(batch)
    assert await backend.list_jobs(JobFilter()) == []
    assert len(await backend.enqueue([job(i) for i in range(n)])) == n  # the pool is fine afterwards


async def test_a_batch_cancelled_midway_stores_nothing(backend: PostgresBackend) -> None:
    batch = [job(i) for i in range(20 * PART_SIZE)]
    for delay in (0.0, 0.002, 0.01, 0.03):
        task = asyncio.create_task(backend.enqueue(batch))
        await asyncio.sleep(delay)
        task.cancel()
        try:
            stored = len(await task)
        except asyncio.CancelledError:
            stored = 0
        # all or nothing, whatever the moment of the cancellation
        assert (await backend.count_jobs()).total == stored
        await backend.truncate()
    assert len(await backend.enqueue(batch)) == len(batch)


async def test_a_large_batch_wakes_other_processes_once_committed(
    backend: PostgresBackend, other: PostgresBackend, postgres_url: str, n: int
) -> None:
    wakes = await listening(other)
    await enqueue_rolled_back(postgres_url, backend, [job(i) for i in range(n)])
    assert not await wakes.wait(0.5)
    assert await backend.list_jobs(JobFilter()) == []
    await backend.enqueue([job(i) for i in range(n)])
    assert await wakes.wait(3)
