"""Enqueue, get_job, truncate, job_queue_names, now and migrate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from sidequest import DuplicateJobError
from sidequest.backend import Backend, ErrorRecord, JobBatch, JobState, QueueRecord

from ._fixtures import (
    MS,
    QUEUE,
    WORKER,
    assert_times,
    assert_utc_ms,
    enqueue_one,
    make_job,
    near,
    new_job,
    tick,
)


class JobTests:
    """Storing and reading jobs (reference: truncate, createNewJob, getJob, getQueuesFromJobs)."""

    async def test_backend_satisfies_the_protocol(self, backend: Backend) -> None:
        assert isinstance(backend, Backend)
        assert isinstance(backend.url, str)
        assert isinstance(backend.notifies, bool)

    async def test_truncate_deletes_jobs_and_queues(self, backend: Backend) -> None:
        job = await enqueue_one(backend)
        await backend.create_queue(QueueRecord(name=QUEUE, concurrency=100, priority=10))
        await backend.truncate()
        assert await backend.get_job(job.id) is None
        assert await backend.get_queue(QUEUE) is None
        assert await backend.job_queue_names() == []

    async def test_enqueue_bare_minimum(self, backend: Backend) -> None:
        job = await enqueue_one(backend)
        assert (job.queue, job.job_class, job.script) == (QUEUE, "TestJob", "tests.jobs")
        assert (job.state, job.attempt, job.max_attempts) == (JobState.WAITING, 0, 5)
        assert job.args == () and dict(job.kwargs) == {} and job.constructor_args == ()
        assert isinstance(job.inserted_at, datetime) and isinstance(job.available_at, datetime)
        nullable = (
            "result",
            "attempted_at",
            "completed_at",
            "failed_at",
            "canceled_at",
            "claimed_at",
            "claimed_by",
            "timeout",
            "unique_digest",
            "uniqueness_config",
            "retry_delay",
            "lease_token",
            "lease_expires_at",
        )
        for name in nullable:
            assert getattr(job, name) is None, name
        assert job.errors == ()
        assert job.backoff_strategy == "exponential"
        assert_times(job)

    async def test_enqueue_with_all_optionals(self, backend: Backend) -> None:
        available_at = datetime(2020, 5, 17, 8, 30, 12, 345000, tzinfo=UTC)
        job = await enqueue_one(
            backend,
            available_at=available_at,
            timeout=10.0,
            unique_digest="test",
            uniqueness_config={"type": "alive"},
            backoff_strategy="fixed",
            retry_delay=15.0,
            max_attempts=9,
        )
        assert job.available_at == available_at
        assert (job.timeout, job.unique_digest, job.retry_delay) == (10.0, "test", 15.0)
        assert job.uniqueness_config == {"type": "alive"}
        assert (job.backoff_strategy, job.max_attempts) == ("fixed", 9)
        assert job.result is None and job.errors == () and job.attempted_at is None
        assert await backend.get_job(job.id) == job

    async def test_enqueue_refuses_a_second_job_with_the_same_digest(self, backend: Backend) -> None:
        first = await enqueue_one(backend, unique_digest="test")
        other = new_job("other-queue", "OtherJob", args=(1,), unique_digest="test")
        with pytest.raises(DuplicateJobError) as caught:
            await backend.enqueue([other])
        assert caught.value.existing_id == first.id
        assert (await backend.count_jobs()).total == 1

    async def test_get_job_unknown_id_is_none(self, backend: Backend) -> None:
        await enqueue_one(backend)
        assert await backend.get_job(-1) is None
        assert await backend.get_job(10**12) is None

    async def test_get_job_returns_the_stored_record(self, backend: Backend) -> None:
        job = await enqueue_one(backend)
        found = await backend.get_job(job.id)
        assert found == job
        assert found is not None and found.errors == () and found.args == ()

    async def test_get_job_with_errors_and_object_args(self, backend: Backend) -> None:
        error = ErrorRecord(type="Error", message="test", worker="test-runner")
        job = await make_job(
            backend,
            JobState.FAILED,
            args=({"test": True},),
            constructor_args=({"test": True},),
            error=error,
        )
        found = await backend.get_job(job.id)
        assert found is not None
        assert found.errors == (error,)
        assert found.args == ({"test": True},) and found.constructor_args == ({"test": True},)

    async def test_job_queue_names_without_jobs(self, backend: Backend) -> None:
        await backend.create_queue(QueueRecord(name="only-a-queue-row"))
        assert await backend.job_queue_names() == []

    async def test_job_queue_names_cover_every_state_sorted(self, backend: Backend) -> None:
        await make_job(backend, JobState.FAILED, queue="default2")
        await enqueue_one(backend, "default")
        await make_job(backend, JobState.COMPLETED, queue="b-queue")
        await enqueue_one(backend, "default")
        assert await backend.job_queue_names() == ["b-queue", "default", "default2"]
        assert await backend.list_queues() == []

    async def test_enqueue_empty_batch(self, backend: Backend) -> None:
        assert await backend.enqueue([]) == []
        assert (await backend.count_jobs()).total == 0

    async def test_enqueue_batch_keeps_order(self, backend: Backend) -> None:
        jobs = await backend.enqueue([new_job(args=(n,)) for n in range(10)])
        assert [j.args for j in jobs] == [(n,) for n in range(10)]
        assert len({j.id for j in jobs}) == 10
        for job in jobs:
            assert await backend.get_job(job.id) == job

    async def test_enqueue_takes_a_job_batch_as_enqueue_many_hands_it_over(self, backend: Backend) -> None:
        batch = JobBatch(new_job(max_attempts=3), [((n,), {"n": n}) for n in range(7)])
        jobs = await backend.enqueue(batch)
        assert [(j.args, j.kwargs, j.max_attempts) for j in jobs] == [((n,), {"n": n}, 3) for n in range(7)]
        for job in jobs:
            assert await backend.get_job(job.id) == job

    async def test_ids_increase_across_enqueues(self, backend: Backend) -> None:
        ids = [(await enqueue_one(backend)).id for _ in range(5)]
        assert ids == sorted(ids) and len(set(ids)) == 5

    async def test_inserted_at_is_the_database_now(self, backend: Backend) -> None:
        before = await backend.now()
        job = await enqueue_one(backend)
        after = await backend.now()
        assert before <= job.inserted_at <= after
        assert near(job.available_at, job.inserted_at, 0.002)

    async def test_available_in_delays_the_job(self, backend: Backend) -> None:
        job = await enqueue_one(backend, available_in=60.0)
        assert near(job.available_at, job.inserted_at + timedelta(seconds=60), 0.002)
        assert await backend.claim(QUEUE, 10, WORKER, 60) == []

    async def test_available_at_is_stored_as_utc_milliseconds(self, backend: Backend) -> None:
        plus_two = timezone(timedelta(hours=2))
        given = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=plus_two)
        job = await enqueue_one(backend, available_at=given)
        assert_utc_ms(job.available_at, "available_at")
        assert abs(job.available_at - given) < MS
        assert await backend.get_job(job.id) == job

    async def test_now_is_utc_milliseconds_and_moves_on(self, backend: Backend) -> None:
        first = await backend.now()
        await tick()
        second = await backend.now()
        assert_utc_ms(first)
        assert_utc_ms(second)
        assert first < second
        assert near(first, datetime.now(UTC), 60.0)

    async def test_migrate_again_keeps_data(self, backend: Backend) -> None:
        job = await enqueue_one(backend)
        await backend.migrate()
        assert await backend.get_job(job.id) == job
