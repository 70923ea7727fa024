"""Leases: release_expired (the reference's staleJobs), heartbeat and fencing of lost workers."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sidequest._transitions import CANCEL, complete, fail, retry, start
from sidequest.backend import WORKER_LOST, WORKER_LOST_MESSAGE, Backend, JobState

from ._fixtures import (
    QUEUE,
    WORKER,
    an_error,
    apply,
    assert_times,
    claim_job,
    enqueue_one,
    make_job,
    near,
    tick,
)


class LivenessTests:
    """Expired leases are taken back in one statement; a lost worker's writes are rejected."""

    async def test_nothing_to_release(self, backend: Backend) -> None:
        jobs = [await make_job(backend, state) for state in JobState]
        assert await backend.release_expired() == []
        for job in jobs:
            assert await backend.get_job(job.id) == job

    async def test_expired_claim_goes_back_to_waiting(self, backend: Backend) -> None:
        claimed = await make_job(backend, JobState.CLAIMED, lease=0.0)
        await tick()
        (released,) = await backend.release_expired()
        assert (released.id, released.state, released.attempt) == (claimed.id, JobState.WAITING, 0)
        assert released.lease_token is None and released.lease_expires_at is None
        assert released.errors == ()
        assert await backend.get_job(claimed.id) == released
        assert [c.id for c in await backend.claim(QUEUE, 1, "worker-b", 60)] == [claimed.id]

    async def test_expired_running_job_is_retried_with_worker_lost(self, backend: Backend) -> None:
        running = await make_job(backend, JobState.RUNNING, lease=0.0)
        await tick()
        (released,) = await backend.release_expired()
        now = await backend.now()
        assert (released.state, released.attempt) == (JobState.WAITING, 1)
        assert released.lease_token is None and released.lease_expires_at is None
        assert released.available_at <= now and near(released.available_at, now, 5.0)
        assert released.failed_at is None
        (lost,) = released.errors
        assert (lost.type, lost.attempt, lost.worker) == (WORKER_LOST, 1, WORKER)
        assert lost.message and near(lost.at, now, 5.0)
        assert_times(released)
        assert await backend.get_job(running.id) == released
        assert [c.id for c in await backend.claim(QUEUE, 1, "worker-b", 60)] == [running.id]

    async def test_expired_running_job_at_max_attempts_fails(self, backend: Backend) -> None:
        running = await make_job(backend, JobState.RUNNING, lease=0.0, max_attempts=1)
        await tick()
        (released,) = await backend.release_expired()
        assert (released.state, released.attempt) == (JobState.FAILED, 1)
        assert released.failed_at is not None and near(released.failed_at, await backend.now(), 5.0)
        assert [e.type for e in released.errors] == [WORKER_LOST]
        assert released.lease_token is None
        assert await backend.get_job(running.id) == released
        assert await backend.claim(QUEUE, 1, WORKER, 60) == []

    async def test_errors_are_appended_to_earlier_ones(self, backend: Backend) -> None:
        running = await make_job(backend, JobState.RUNNING)
        await apply(backend, running.id, retry(running, an_error("first"), 0.0))
        (claimed,) = await backend.claim(QUEUE, 1, WORKER, 0.0)
        await apply(backend, claimed.id, start(claimed))
        await tick()
        (released,) = await backend.release_expired()
        assert [(e.message, e.type) for e in released.errors] == [
            ("first", "ValueError"),
            (WORKER_LOST_MESSAGE, WORKER_LOST),
        ]
        assert released.attempt == 2

    async def test_every_expired_job_is_released_in_one_call(self, backend: Backend) -> None:
        expired = [await make_job(backend, JobState.CLAIMED, lease=0.0) for _ in range(2)]
        expired += [await make_job(backend, JobState.RUNNING, lease=0.0) for _ in range(2)]
        kept = await make_job(backend, JobState.RUNNING, lease=60.0)
        await tick()
        released = await backend.release_expired()
        assert sorted(j.id for j in released) == sorted(j.id for j in expired)
        assert await backend.release_expired() == []
        assert await backend.get_job(kept.id) == kept

    async def test_each_job_has_its_own_lease(self, backend: Backend) -> None:
        short = await make_job(backend, JobState.CLAIMED, lease=0.0)
        long = await make_job(backend, JobState.CLAIMED, lease=60.0)
        await tick()
        assert [j.id for j in await backend.release_expired()] == [short.id]
        assert await backend.get_job(long.id) == long

    async def test_lease_is_not_released_before_it_expires(self, backend: Backend) -> None:
        claimed = await make_job(backend, JobState.CLAIMED, lease=0.3)
        assert await backend.release_expired() == []
        assert await backend.get_job(claimed.id) == claimed
        await asyncio.sleep(0.35)
        assert [j.id for j in await backend.release_expired()] == [claimed.id]

    async def test_very_short_leases(self, backend: Backend) -> None:
        zero = await make_job(backend, JobState.CLAIMED, lease=0.0)
        ten_ms = await make_job(backend, JobState.RUNNING, lease=0.01)
        await make_job(backend, JobState.RUNNING, lease=30.0)
        await asyncio.sleep(0.05)
        released = await backend.release_expired()
        assert sorted(j.id for j in released) == sorted([zero.id, ten_ms.id])

    async def test_leases_of_different_time_scales(self, backend: Backend) -> None:
        leases = (0.05, 300.0, 7200.0)
        jobs = [await make_job(backend, JobState.CLAIMED, lease=lease) for lease in leases]
        expiries = [j.lease_expires_at for j in jobs if j.lease_expires_at is not None]
        assert len(expiries) == 3 and sorted(expiries) == expiries
        await asyncio.sleep(0.1)
        assert [j.id for j in await backend.release_expired()] == [jobs[0].id]

    async def test_finished_jobs_are_not_released(self, backend: Backend) -> None:
        done = await make_job(backend, JobState.COMPLETED, lease=0.0)
        failed = await make_job(backend, JobState.FAILED, lease=0.0)
        running = await make_job(backend, JobState.RUNNING, lease=0.0, queue="other")
        canceled = await apply(backend, running.id, CANCEL)
        await tick()
        assert await backend.release_expired() == []
        for job in (done, failed, canceled):
            assert await backend.get_job(job.id) == job

    async def test_heartbeat_returns_held_jobs(self, backend: Backend) -> None:
        claimed = await make_job(backend, JobState.CLAIMED)
        running = await make_job(backend, JobState.RUNNING)
        leases = {claimed.id: str(claimed.lease_token), running.id: str(running.lease_token)}
        assert await backend.heartbeat(WORKER, leases, None) == {claimed.id, running.id}
        assert await backend.heartbeat(WORKER, {}, 60.0) == set()

    async def test_heartbeat_extends_the_lease(self, backend: Backend) -> None:
        claimed = await make_job(backend, JobState.CLAIMED, lease=0.2)
        assert await backend.heartbeat(WORKER, {claimed.id: str(claimed.lease_token)}, 60.0) == {claimed.id}
        renewed = await backend.get_job(claimed.id)
        assert renewed is not None and renewed.lease_expires_at is not None
        assert near(renewed.lease_expires_at, await backend.now() + timedelta(seconds=60), 1.0)
        await asyncio.sleep(0.25)
        assert await backend.release_expired() == []

    async def test_heartbeat_without_lease_does_not_extend(self, backend: Backend) -> None:
        claimed = await make_job(backend, JobState.CLAIMED, lease=30.0)
        await tick()
        assert await backend.heartbeat(WORKER, {claimed.id: str(claimed.lease_token)}, None) == {claimed.id}
        assert await backend.get_job(claimed.id) == claimed

    async def test_heartbeat_ignores_wrong_tokens_and_unknown_ids(self, backend: Backend) -> None:
        claimed = await make_job(backend, JobState.CLAIMED, lease=30.0)
        assert await backend.heartbeat(WORKER, {claimed.id: "wrong", 10**9: "x"}, 600.0) == set()
        assert await backend.get_job(claimed.id) == claimed

    async def test_heartbeat_ignores_finished_and_released_jobs(self, backend: Backend) -> None:
        running = await make_job(backend, JobState.RUNNING)
        await apply(backend, running.id, complete(running, 1))
        lost = await make_job(backend, JobState.RUNNING, lease=0.0)
        await tick()
        await backend.release_expired()
        leases = {running.id: str(running.lease_token), lost.id: str(lost.lease_token)}
        assert await backend.heartbeat(WORKER, leases, 60.0) == set()

    async def test_lost_worker_is_fenced_out(self, backend: Backend) -> None:
        job = await enqueue_one(backend)
        old = await claim_job(backend, job, worker="worker-a", lease=0.0)
        await tick()
        assert [j.id for j in await backend.release_expired()] == [job.id]
        new = await claim_job(backend, job, worker="worker-b", lease=60.0)
        assert await backend.transition(job.id, start(old)) is None
        running = await apply(backend, job.id, start(new))
        assert await backend.transition(job.id, complete(old, "from a")) is None
        assert await backend.heartbeat("worker-a", {job.id: str(old.lease_token)}, 60.0) == set()
        assert await backend.heartbeat("worker-b", {job.id: str(new.lease_token)}, 60.0) == {job.id}
        done = await apply(backend, job.id, complete(running, "from b"))
        assert (done.state, done.result, done.claimed_by) == (JobState.COMPLETED, "from b", "worker-b")

    async def test_lost_running_worker_is_fenced_out(self, backend: Backend) -> None:
        old = await make_job(backend, JobState.RUNNING, lease=0.0)
        await tick()
        await backend.release_expired()
        assert await backend.transition(old.id, complete(old, "late")) is None
        (new,) = await backend.claim(QUEUE, 1, "worker-b", 60.0)
        running = await apply(backend, new.id, start(new))
        assert await backend.transition(old.id, fail(old, an_error())) is None
        done = await apply(backend, old.id, complete(running, "ok"))
        assert (done.attempt, done.result) == (2, "ok")
        assert [e.type for e in done.errors] == [WORKER_LOST]
