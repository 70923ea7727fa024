"""Unique digests: which states hold them, batches with duplicates, and reruns."""

from __future__ import annotations

import pytest

from sidequest import DuplicateJobError
from sidequest._transitions import CANCEL, RERUN, complete, retry
from sidequest.backend import Backend, JobState

from ._fixtures import QUEUE, WORKER, an_error, apply, enqueue_one, make_job, new_job

ALIVE_JOB = {"type": "alive-job", "with_args": False}
FIXED_WINDOW = {"type": "fixed-window", "period": "hour", "with_args": False}
ALIVE = [JobState.WAITING, JobState.CLAIMED, JobState.RUNNING]
FINISHED = [JobState.COMPLETED, JobState.FAILED, JobState.CANCELED]


class UniquenessTests:
    """A held digest is never stored twice; the database decides, even inside one batch."""

    @pytest.mark.parametrize("state", ALIVE)
    async def test_alive_job_digest_is_held_while_alive(self, backend: Backend, state: JobState) -> None:
        holder = await make_job(backend, state, unique_digest="d", uniqueness_config=ALIVE_JOB)
        with pytest.raises(DuplicateJobError) as caught:
            await backend.enqueue([new_job(unique_digest="d", uniqueness_config=ALIVE_JOB)])
        assert caught.value.existing_id == holder.id
        assert (await backend.count_jobs()).total == 1

    @pytest.mark.parametrize("state", FINISHED)
    async def test_alive_job_digest_is_free_once_finished(self, backend: Backend, state: JobState) -> None:
        holder = await make_job(backend, state, unique_digest="d", uniqueness_config=ALIVE_JOB)
        (again,) = await backend.enqueue([new_job(unique_digest="d", uniqueness_config=ALIVE_JOB)])
        assert again.id != holder.id and again.unique_digest == "d"
        assert (await backend.count_jobs()).total == 2

    @pytest.mark.parametrize("state", ALIVE + FINISHED)
    async def test_fixed_window_digest_is_held_forever(self, backend: Backend, state: JobState) -> None:
        holder = await make_job(backend, state, unique_digest="w", uniqueness_config=FIXED_WINDOW)
        with pytest.raises(DuplicateJobError) as caught:
            await backend.enqueue([new_job(unique_digest="w", uniqueness_config=FIXED_WINDOW)])
        assert caught.value.existing_id == holder.id

    async def test_digest_is_global_across_queues_and_classes(self, backend: Backend) -> None:
        await enqueue_one(backend, "queue-a", unique_digest="g", uniqueness_config=ALIVE_JOB)
        with pytest.raises(DuplicateJobError):
            await backend.enqueue([new_job("queue-b", "OtherJob", unique_digest="g")])

    async def test_jobs_without_digest_never_collide(self, backend: Backend) -> None:
        await backend.enqueue([new_job(), new_job()])
        await enqueue_one(backend)
        assert (await backend.count_jobs()).waiting == 3

    async def test_different_digests_coexist(self, backend: Backend) -> None:
        await backend.enqueue([new_job(unique_digest="a"), new_job(unique_digest="b")])
        await enqueue_one(backend, unique_digest="c")
        assert (await backend.count_jobs()).waiting == 3

    async def test_digest_stays_held_through_retry(self, backend: Backend) -> None:
        running = await make_job(backend, JobState.RUNNING, unique_digest="r", uniqueness_config=ALIVE_JOB)
        waiting = await apply(backend, running.id, retry(running, an_error(), 0.0))
        assert waiting.unique_digest == "r"
        with pytest.raises(DuplicateJobError):
            await enqueue_one(backend, unique_digest="r", uniqueness_config=ALIVE_JOB)

    async def test_duplicate_in_a_batch_stores_nothing(self, backend: Backend) -> None:
        stored = await enqueue_one(backend, unique_digest="d1")
        batch = [new_job(unique_digest="d2"), new_job(unique_digest="d1"), new_job()]
        with pytest.raises(DuplicateJobError) as caught:
            await backend.enqueue(batch)
        assert caught.value.existing_id == stored.id
        assert (await backend.count_jobs()).total == 1
        assert [j.unique_digest for j in await backend.enqueue([new_job(unique_digest="d2")])] == ["d2"]

    async def test_duplicates_within_one_batch_store_nothing(self, backend: Backend) -> None:
        batch = [new_job(), new_job(unique_digest="d5"), new_job(unique_digest="d5")]
        with pytest.raises(DuplicateJobError):
            await backend.enqueue(batch)
        assert (await backend.count_jobs()).total == 0

    async def test_skip_duplicates_returns_only_new_jobs(self, backend: Backend) -> None:
        await enqueue_one(backend, unique_digest="d1")
        batch = [
            new_job(args=("dup of stored",), unique_digest="d1"),
            new_job(args=("new b",), unique_digest="d2"),
            new_job(args=("dup in batch",), unique_digest="d2"),
            new_job(args=("no digest",)),
            new_job(args=("new e",), unique_digest="d3"),
        ]
        stored = await backend.enqueue(batch, skip_duplicates=True)
        assert [j.args for j in stored] == [("new b",), ("no digest",), ("new e",)]
        assert (await backend.count_jobs()).total == 4
        for job in stored:
            assert await backend.get_job(job.id) == job

    async def test_skip_duplicates_with_only_duplicates(self, backend: Backend) -> None:
        await enqueue_one(backend, unique_digest="d1")
        assert await backend.enqueue([new_job(unique_digest="d1")], skip_duplicates=True) == []
        assert (await backend.count_jobs()).total == 1

    async def test_rerun_is_refused_while_another_job_holds_the_digest(self, backend: Backend) -> None:
        done = await make_job(backend, JobState.COMPLETED, unique_digest="x", uniqueness_config=ALIVE_JOB)
        holder = await enqueue_one(backend, unique_digest="x", uniqueness_config=ALIVE_JOB)
        with pytest.raises(DuplicateJobError) as caught:
            await backend.transition(done.id, RERUN)
        assert caught.value.existing_id == holder.id
        assert await backend.get_job(done.id) == done
        await apply(backend, holder.id, CANCEL)
        assert (await apply(backend, done.id, RERUN)).state == JobState.WAITING

    async def test_rerun_of_a_fixed_window_job_keeps_its_own_digest(self, backend: Backend) -> None:
        running = await make_job(backend, JobState.RUNNING, unique_digest="w", uniqueness_config=FIXED_WINDOW)
        done = await apply(backend, running.id, complete(running, None))
        rerun = await apply(backend, done.id, RERUN)
        assert (rerun.state, rerun.unique_digest) == (JobState.WAITING, "w")
        (claimed,) = await backend.claim(QUEUE, 1, WORKER, 60)
        assert claimed.id == done.id
