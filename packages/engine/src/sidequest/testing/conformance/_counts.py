"""count_jobs and count_jobs_by_queue (the reference countJobs and countJobsByQueues cases)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sidequest._transitions import complete, start
from sidequest.backend import Backend, CountEstimates, JobCounts, JobState, QueueRecord, QueueState

from ._fixtures import apply, claim_job, enqueue_one, make_job, new_job, tick


class CountTests:
    """Counts per state; the time range applies to each job's latest timestamp, inclusively."""

    async def test_zero_counts_without_jobs(self, backend: Backend) -> None:
        counts = await backend.count_jobs()
        assert counts == JobCounts()
        assert counts.as_dict() == dict.fromkeys([*(s.value for s in JobState), "total"], 0)

    async def test_counts_by_state(self, backend: Backend) -> None:
        await make_job(backend, JobState.COMPLETED)
        await make_job(backend, JobState.FAILED)
        await enqueue_one(backend)
        assert await backend.count_jobs() == JobCounts(waiting=1, completed=1, failed=1)
        assert (await backend.count_jobs()).total == 3

    async def test_counts_every_state(self, backend: Backend) -> None:
        for state in JobState:
            await make_job(backend, state)
        counts = await backend.count_jobs()
        assert counts == JobCounts.from_pairs(dict.fromkeys((s.value for s in JobState), 1))
        assert counts.total == 6

    async def test_time_range_uses_the_latest_timestamp(self, backend: Backend) -> None:
        await make_job(backend, JobState.RUNNING)
        await tick()
        completed = await make_job(backend, JobState.COMPLETED)
        await tick()
        await make_job(backend, JobState.FAILED)
        claimed = await make_job(backend, JobState.CLAIMED)
        assert completed.completed_at is not None and claimed.claimed_at is not None
        counts = await backend.count_jobs(completed.completed_at, claimed.claimed_at)
        assert counts == JobCounts(completed=1, failed=1, claimed=1)

    async def test_time_range_since_only(self, backend: Backend) -> None:
        old = await make_job(backend, JobState.COMPLETED)
        await tick()
        new = await make_job(backend, JobState.COMPLETED)
        assert old.completed_at is not None and new.completed_at is not None
        assert await backend.count_jobs(since=new.completed_at) == JobCounts(completed=1)
        assert await backend.count_jobs(since=old.completed_at) == JobCounts(completed=2)

    async def test_time_range_until_only(self, backend: Backend) -> None:
        old = await make_job(backend, JobState.COMPLETED)
        await tick()
        new = await make_job(backend, JobState.COMPLETED)
        assert old.completed_at is not None and new.completed_at is not None
        assert await backend.count_jobs(until=old.completed_at) == JobCounts(completed=1)
        assert await backend.count_jobs(until=new.completed_at - timedelta(milliseconds=1)) == JobCounts(
            completed=1
        )

    async def test_waiting_jobs_are_placed_at_insert_time(self, backend: Backend) -> None:
        job = await enqueue_one(backend, available_in=3600.0)
        assert await backend.count_jobs(job.inserted_at, job.inserted_at) == JobCounts(waiting=1)

    async def test_many_jobs_of_one_state(self, backend: Backend) -> None:
        await backend.enqueue([new_job() for _ in range(5)])
        assert await backend.count_jobs() == JobCounts(waiting=5)

    async def test_no_job_in_the_time_range(self, backend: Backend) -> None:
        await make_job(backend, JobState.COMPLETED)
        await enqueue_one(backend)
        later = await backend.now() + timedelta(hours=1)
        assert await backend.count_jobs(since=later) == JobCounts()
        assert await backend.count_jobs(since=later, until=later + timedelta(hours=1)) == JobCounts()


class QueueCountTests:
    """count_jobs_by_queue: every queue with a row or a job, zeros for empty queues."""

    async def test_no_queues_no_counts(self, backend: Backend) -> None:
        assert await backend.count_jobs_by_queue() == {}

    async def test_single_queue_single_job(self, backend: Backend) -> None:
        await enqueue_one(backend, "test-queue")
        assert await backend.count_jobs_by_queue() == {"test-queue": JobCounts(waiting=1)}

    async def test_states_of_one_queue(self, backend: Backend) -> None:
        await make_job(backend, JobState.COMPLETED, queue="test-queue")
        await make_job(backend, JobState.FAILED, queue="test-queue")
        await enqueue_one(backend, "test-queue")
        counts = await backend.count_jobs_by_queue()
        assert counts == {"test-queue": JobCounts(waiting=1, completed=1, failed=1)}
        assert counts["test-queue"].total == 3

    async def test_several_queues(self, backend: Backend) -> None:
        await backend.enqueue([new_job("queue-1"), new_job("queue-1")])
        await make_job(backend, JobState.COMPLETED, queue="queue-2")
        await make_job(backend, JobState.FAILED, queue="queue-3")
        assert await backend.count_jobs_by_queue() == {
            "queue-1": JobCounts(waiting=2),
            "queue-2": JobCounts(completed=1),
            "queue-3": JobCounts(failed=1),
        }

    async def test_every_state_in_each_queue(self, backend: Backend) -> None:
        for state in JobState:
            await make_job(backend, state, queue="queue-1")
        await make_job(backend, JobState.COMPLETED, queue="queue-2")
        await enqueue_one(backend, "queue-2")
        counts = await backend.count_jobs_by_queue()
        assert counts == {
            "queue-1": JobCounts.from_pairs(dict.fromkeys((s.value for s in JobState), 1)),
            "queue-2": JobCounts(waiting=1, completed=1),
        }

    async def test_same_state_in_different_queues(self, backend: Backend) -> None:
        await backend.enqueue([new_job("queue-1") for _ in range(3)] + [new_job("queue-2") for _ in range(2)])
        assert await backend.count_jobs_by_queue() == {
            "queue-1": JobCounts(waiting=3),
            "queue-2": JobCounts(waiting=2),
        }

    async def test_queue_rows_without_jobs_count_zero(self, backend: Backend) -> None:
        await backend.create_queue(QueueRecord(name="empty-queue", state=QueueState.PAUSED))
        await backend.create_queue(QueueRecord(name="job-queue"))
        await enqueue_one(backend, "job-queue")
        assert await backend.count_jobs_by_queue() == {
            "empty-queue": JobCounts(),
            "job-queue": JobCounts(waiting=1),
        }

    async def test_special_characters_in_queue_names(self, backend: Backend) -> None:
        name = "queue-with-special_chars.and@symbols %é"
        await enqueue_one(backend, name)
        await make_job(backend, JobState.RUNNING, queue=name)
        assert await backend.count_jobs_by_queue() == {name: JobCounts(waiting=1, running=1)}

    async def test_counts_follow_transitions(self, backend: Backend) -> None:
        job = await enqueue_one(backend, "q")
        assert await backend.count_jobs_by_queue() == {"q": JobCounts(waiting=1)}
        claimed = await claim_job(backend, job)
        assert await backend.count_jobs_by_queue() == {"q": JobCounts(claimed=1)}
        running = await apply(backend, job.id, start(claimed))
        assert await backend.count_jobs_by_queue() == {"q": JobCounts(running=1)}
        await apply(backend, job.id, complete(running, None))
        assert await backend.count_jobs_by_queue() == {"q": JobCounts(completed=1)}

    async def test_empty_queue_name(self, backend: Backend) -> None:
        await enqueue_one(backend, "")
        await enqueue_one(backend, "other")
        assert await backend.count_jobs_by_queue() == {
            "": JobCounts(waiting=1),
            "other": JobCounts(waiting=1),
        }


def estimating(backend: Backend) -> CountEstimates:
    if not isinstance(backend, CountEstimates):
        pytest.skip("the backend does not declare estimate_job_counts/estimate_job_counts_by_queue")
    return backend


class EstimateTests:
    """Optional ``CountEstimates``: on small tables the estimates are the exact counts."""

    async def test_estimates_of_a_small_table_are_exact(self, backend: Backend) -> None:
        estimator = estimating(backend)
        assert await estimator.estimate_job_counts() == JobCounts()
        for state in JobState:
            await make_job(backend, state, queue="queue-1")
        await make_job(backend, JobState.COMPLETED, queue="queue-2")
        await backend.create_queue(QueueRecord(name="idle"))
        counts = await estimator.estimate_job_counts()
        assert counts == await backend.count_jobs()
        assert counts.estimated == frozenset()
        by_queue = await estimator.estimate_job_counts_by_queue()
        assert by_queue == await backend.count_jobs_by_queue()
        assert by_queue["idle"] == JobCounts() and by_queue["queue-2"] == JobCounts(completed=1)
