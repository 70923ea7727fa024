"""Optional batched operations (``FastPathBackend``): tested only where a backend declares them."""

from __future__ import annotations

import asyncio

import pytest

from sidequest.backend import Backend, FastPathBackend, JobState

from ._fixtures import LEASE, QUEUE, WORKER, enqueue_one, new_job


def fast(backend: Backend) -> FastPathBackend:
    if not isinstance(backend, FastPathBackend):
        pytest.skip("the backend does not declare claim_and_start/complete_many")
    return backend


class FastPathTests:
    async def test_claim_and_start_moves_ready_jobs_to_running(self, backend: Backend) -> None:
        batched = fast(backend)
        waiting = await backend.enqueue([new_job() for _ in range(3)])
        started = await batched.claim_and_start(QUEUE, 2, WORKER, LEASE)
        assert [job.id for job in started] == [job.id for job in waiting[:2]]
        for job in started:
            assert (job.state, job.attempt, job.claimed_by) == (JobState.RUNNING, 1, WORKER)
            assert job.attempted_at is not None and job.claimed_at is not None
            assert job.lease_token and job.lease_expires_at is not None
            stored = await backend.get_job(job.id)
            assert stored is not None and stored.state == JobState.RUNNING and stored.attempt == 1
        assert (await backend.get_job(waiting[2].id)).state == JobState.WAITING  # type: ignore[union-attr]
        assert await batched.claim_and_start(QUEUE, 0, WORKER, LEASE) == []
        assert await batched.claim_and_start("elsewhere", 5, WORKER, LEASE) == []

    async def test_claim_and_start_never_takes_a_job_twice(self, backend: Backend) -> None:
        batched = fast(backend)
        jobs = await backend.enqueue([new_job() for _ in range(300)])
        taken: list[int] = []

        async def claimer() -> None:
            while batch := await batched.claim_and_start(QUEUE, 7, WORKER, LEASE):
                taken.extend(job.id for job in batch)

        await asyncio.gather(*(claimer() for _ in range(6)))
        assert sorted(taken) == sorted(job.id for job in jobs)

    async def test_complete_many_is_fenced_per_row(self, backend: Backend) -> None:
        batched = fast(backend)
        await backend.enqueue([new_job() for _ in range(3)])
        first, second, third = await batched.claim_and_start(QUEUE, 3, WORKER, LEASE)
        done = await batched.complete_many(
            [
                (first.id, str(first.lease_token), {"n": 1}),
                (second.id, "0" * 32, None),
                (third.id, str(third.lease_token), None),
            ]
        )
        assert done == {first.id, third.id}
        stored = await backend.get_job(first.id)
        assert stored is not None
        assert (stored.state, stored.result, stored.lease_token) == (JobState.COMPLETED, {"n": 1}, None)
        assert stored.completed_at is not None
        assert (await backend.get_job(second.id)).state == JobState.RUNNING  # type: ignore[union-attr]
        assert await batched.complete_many([(first.id, str(first.lease_token), 2)]) == set()
        assert (await backend.get_job(first.id)).result == {"n": 1}  # type: ignore[union-attr]
        assert await batched.complete_many([]) == set()

    async def test_tokens_that_were_never_issued_match_nothing(self, backend: Backend) -> None:
        """Any string may arrive as a token: one that is not a token this backend gave out
        completes or renews nothing, and raises nothing (no cast error, no partial batch)."""
        batched = fast(backend)
        await backend.enqueue([new_job() for _ in range(2)])
        held, other = await batched.claim_and_start(QUEUE, 2, WORKER, LEASE)
        strangers = ["not a token", "", "'; --", "0" * 36, str(held.lease_token) + "0", "{}", "[1]"]
        strangers += ["\x00" * 36, "\ud800" * 36]  # text a database may refuse: NUL, a lone surrogate
        assert await batched.complete_many([(held.id, token, None) for token in strangers]) == set()
        for token in strangers:
            assert await backend.heartbeat(WORKER, {held.id: token}, LEASE) == set()
            assert await backend.heartbeat(WORKER, {held.id: token}, None) == set()
        assert await batched.complete_many(
            [(held.id, "not a token", None), (other.id, str(other.lease_token), None)]
        ) == {other.id}
        assert (await backend.get_job(held.id)).state == JobState.RUNNING  # type: ignore[union-attr]

    async def test_complete_many_leaves_non_running_jobs_alone(self, backend: Backend) -> None:
        batched = fast(backend)
        job = await enqueue_one(backend)
        claimed = await backend.claim(QUEUE, 1, WORKER, LEASE)
        assert await batched.complete_many([(job.id, str(claimed[0].lease_token), None)]) == set()
        assert (await backend.get_job(job.id)).state == JobState.CLAIMED  # type: ignore[union-attr]
