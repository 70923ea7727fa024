"""User operations sent as transitions: cancel, rerun, run now and snooze a waiting job."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sidequest._transitions import CANCEL, RERUN, RUN_NOW, complete, fail, retry, snooze_waiting, start
from sidequest.backend import Backend, JobState

from ._fixtures import (
    QUEUE,
    WORKER,
    an_error,
    apply,
    assert_changed_only,
    enqueue_one,
    make_job,
    near,
)

ALIVE = [JobState.WAITING, JobState.CLAIMED, JobState.RUNNING]
FINISHED = [JobState.COMPLETED, JobState.FAILED, JobState.CANCELED]


class OperationTests:
    """Cancel from any alive state, rerun only finished jobs, run now and snooze waiting jobs."""

    @pytest.mark.parametrize("state", ALIVE)
    async def test_cancel_an_alive_job(self, backend: Backend, state: JobState) -> None:
        job = await make_job(backend, state)
        before = await backend.now()
        canceled = await apply(backend, job.id, CANCEL)
        assert canceled.state == JobState.CANCELED
        assert canceled.canceled_at is not None and canceled.canceled_at >= before
        assert canceled.lease_token is None and canceled.lease_expires_at is None
        assert_changed_only(job, canceled, "state", "canceled_at", "lease_token", "lease_expires_at")
        assert await backend.get_job(job.id) == canceled

    @pytest.mark.parametrize("state", FINISHED)
    async def test_cancel_a_finished_job_is_refused(self, backend: Backend, state: JobState) -> None:
        job = await make_job(backend, state)
        assert await backend.transition(job.id, CANCEL) is None
        assert await backend.get_job(job.id) == job

    async def test_worker_cannot_complete_a_canceled_job(self, backend: Backend) -> None:
        running = await make_job(backend, JobState.RUNNING)
        canceled = await apply(backend, running.id, CANCEL)
        assert await backend.transition(running.id, complete(running, "late")) is None
        assert await backend.transition(running.id, fail(running, an_error())) is None
        assert await backend.get_job(running.id) == canceled

    async def test_canceled_waiting_job_is_not_claimed(self, backend: Backend) -> None:
        job = await enqueue_one(backend)
        await apply(backend, job.id, CANCEL)
        assert await backend.claim(QUEUE, 10, WORKER, 60) == []

    @pytest.mark.parametrize("state", ALIVE)
    async def test_rerun_an_alive_job_is_refused(self, backend: Backend, state: JobState) -> None:
        job = await make_job(backend, state)
        assert await backend.transition(job.id, RERUN) is None
        assert await backend.get_job(job.id) == job

    @pytest.mark.parametrize("state", FINISHED)
    async def test_rerun_a_finished_job(self, backend: Backend, state: JobState) -> None:
        job = await make_job(backend, state, result={"answer": 42}, error=an_error("kept"))
        rerun = await apply(backend, job.id, RERUN)
        assert rerun.state == JobState.WAITING
        assert rerun.result is None
        assert (rerun.completed_at, rerun.failed_at, rerun.canceled_at) == (None, None, None)
        assert rerun.errors == job.errors and rerun.attempt == job.attempt
        assert rerun.available_at <= await backend.now()
        changed = ("state", "result", "completed_at", "failed_at", "canceled_at", "available_at")
        assert_changed_only(job, rerun, *changed)
        assert [c.id for c in await backend.claim(QUEUE, 1, WORKER, 60)] == [job.id]

    async def test_rerun_keeps_the_error_history(self, backend: Backend) -> None:
        failed = await make_job(backend, JobState.FAILED, error=an_error("first"))
        await apply(backend, failed.id, RERUN)
        (claimed,) = await backend.claim(QUEUE, 1, WORKER, 60)
        running = await apply(backend, claimed.id, start(claimed))
        done = await apply(backend, running.id, complete(running, "second run"))
        assert (done.attempt, done.result, done.errors) == (2, "second run", (an_error("first"),))

    async def test_rerun_raises_exhausted_max_attempts(self, backend: Backend) -> None:
        failed = await make_job(backend, JobState.FAILED, max_attempts=1)
        assert failed.attempt == 1
        rerun = await apply(backend, failed.id, RERUN)
        assert (rerun.attempt, rerun.max_attempts) == (1, 2)

    async def test_rerun_keeps_max_attempts_when_attempts_are_left(self, backend: Backend) -> None:
        completed = await make_job(backend, JobState.COMPLETED, max_attempts=3)
        rerun = await apply(backend, completed.id, RERUN)
        assert (rerun.attempt, rerun.max_attempts) == (1, 3)

    async def test_rerun_of_a_retried_job_after_exhaustion(self, backend: Backend) -> None:
        running = await make_job(backend, JobState.RUNNING, max_attempts=1)
        failed = await apply(backend, running.id, retry(running, an_error(), 0.0))
        assert failed.state == JobState.FAILED
        rerun = await apply(backend, failed.id, RERUN)
        assert rerun.max_attempts == 2 and rerun.errors == (an_error(),)

    async def test_run_now_makes_a_delayed_job_ready(self, backend: Backend) -> None:
        job = await enqueue_one(backend, available_in=3600.0)
        ready = await apply(backend, job.id, RUN_NOW)
        now = await backend.now()
        assert ready.state == JobState.WAITING and ready.available_at <= now
        assert_changed_only(job, ready, "available_at")
        assert [c.id for c in await backend.claim(QUEUE, 1, WORKER, 60)] == [job.id]

    @pytest.mark.parametrize("state", [JobState.CLAIMED, JobState.RUNNING, *FINISHED])
    async def test_run_now_only_for_waiting_jobs(self, backend: Backend, state: JobState) -> None:
        job = await make_job(backend, state)
        assert await backend.transition(job.id, RUN_NOW) is None
        assert await backend.get_job(job.id) == job

    async def test_snooze_a_waiting_job(self, backend: Backend) -> None:
        job = await enqueue_one(backend)
        before = await backend.now()
        snoozed = await apply(backend, job.id, snooze_waiting(120.0))
        assert snoozed.state == JobState.WAITING
        assert snoozed.available_at >= before + timedelta(seconds=119.999)
        assert near(snoozed.available_at, before + timedelta(seconds=120), 0.5)
        assert_changed_only(job, snoozed, "available_at")
        assert await backend.claim(QUEUE, 10, WORKER, 60) == []

    @pytest.mark.parametrize("state", [JobState.CLAIMED, JobState.RUNNING, JobState.COMPLETED])
    async def test_snooze_waiting_refused_for_other_states(self, backend: Backend, state: JobState) -> None:
        job = await make_job(backend, state)
        assert await backend.transition(job.id, snooze_waiting(5.0)) is None
        assert await backend.get_job(job.id) == job
