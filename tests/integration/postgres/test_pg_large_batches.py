"""Large batches (one INSERT of many rows): exact records, atomicity, uniqueness, wake-ups at commit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pg_support import enqueue_rolled_back, listening
from sidequest import DuplicateJobError
from sidequest.backend import JobFilter, JobState, NewJob
from sidequest_postgres.backend import PostgresBackend

pytestmark = pytest.mark.postgres
N = 250


def job(i: int, **fields: object) -> NewJob:
    return NewJob(queue=f"q{i % 3}", script="tests.jobs", job_class="TestJob", args=(i, f"user{i}"), **fields)  # type: ignore[arg-type]


async def test_a_large_batch_reads_back_exactly(backend: PostgresBackend) -> None:
    when = datetime(2031, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    batch = [job(i) for i in range(N)]
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
    claimed = await backend.claim("q0", N, "w", 30)
    ready = [j for j in batch if j.queue == "q0" and not j.available_in and j.available_at is None]
    assert len(claimed) == len(ready)


async def test_a_duplicate_in_a_large_batch_stores_nothing(backend: PostgresBackend) -> None:
    (holder,) = await backend.enqueue([job(0, unique_digest="taken")])
    batch = [job(i) for i in range(N)]
    batch[-1] = job(N, unique_digest="taken")
    with pytest.raises(DuplicateJobError) as caught:
        await backend.enqueue(batch)
    assert caught.value.existing_id == holder.id
    assert len(await backend.list_jobs(JobFilter(limit=1000))) == 1


async def test_skip_duplicates_in_a_large_batch_still_skips(backend: PostgresBackend) -> None:
    await backend.enqueue([job(0, unique_digest="taken")])
    batch = [job(i, unique_digest=f"d{i}") for i in range(N)]
    batch[5] = job(5, unique_digest="taken")
    stored = await backend.enqueue(batch, skip_duplicates=True)
    assert len(stored) == N - 1 and 5 not in {r.args[0] for r in stored}


async def test_a_large_batch_wakes_other_processes_once_committed(
    backend: PostgresBackend, other: PostgresBackend, postgres_url: str
) -> None:
    wakes = await listening(other)
    await enqueue_rolled_back(postgres_url, backend, [job(i) for i in range(N)])
    assert not await wakes.wait(0.5)
    assert await backend.list_jobs(JobFilter()) == []
    await backend.enqueue([job(i) for i in range(N)])
    assert await wakes.wait(3)
