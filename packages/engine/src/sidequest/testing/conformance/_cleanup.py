"""delete_finished: only finished jobs, finished strictly before the cutoff."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sidequest._transitions import RERUN
from sidequest.backend import Backend, JobFilter, JobState

from ._fixtures import MS, apply, make_job, tick

FINISHED = [JobState.COMPLETED, JobState.FAILED, JobState.CANCELED]


class CleanupTests:
    """Reference deleteFinishedJobs cases, plus the returned count and the cutoff boundary."""

    async def test_deletes_finished_jobs_only(self, backend: Backend) -> None:
        jobs = {state: await make_job(backend, state) for state in JobState}
        await tick()
        assert await backend.delete_finished(await backend.now()) == 3
        remaining = await backend.list_jobs(JobFilter())
        assert sorted(j.id for j in remaining) == sorted(jobs[s].id for s in jobs if s not in FINISHED)
        for state in (JobState.WAITING, JobState.CLAIMED, JobState.RUNNING):
            assert await backend.get_job(jobs[state].id) == jobs[state]

    async def test_keeps_jobs_finished_after_the_cutoff(self, backend: Backend) -> None:
        for state in JobState:
            await make_job(backend, state)
        assert await backend.delete_finished(datetime(1970, 1, 1, tzinfo=UTC)) == 0
        assert len(await backend.list_jobs(JobFilter())) == 6

    async def test_nothing_to_delete(self, backend: Backend) -> None:
        assert await backend.delete_finished(datetime(1970, 1, 1, tzinfo=UTC)) == 0
        assert await backend.delete_finished(await backend.now() + timedelta(days=1)) == 0

    @pytest.mark.parametrize("state", FINISHED)
    async def test_cutoff_is_exclusive(self, backend: Backend, state: JobState) -> None:
        job = await make_job(backend, state)
        finished_at = job.finished_at
        assert finished_at is not None
        assert await backend.delete_finished(finished_at) == 0
        assert await backend.get_job(job.id) == job
        assert await backend.delete_finished(finished_at + MS) == 1
        assert await backend.get_job(job.id) is None

    async def test_deletes_only_old_enough_jobs(self, backend: Backend) -> None:
        old = await make_job(backend, JobState.COMPLETED)
        await tick()
        new = await make_job(backend, JobState.FAILED)
        assert new.failed_at is not None
        assert await backend.delete_finished(new.failed_at) == 1
        assert await backend.get_job(old.id) is None
        assert await backend.get_job(new.id) == new

    async def test_a_rerun_job_is_never_deleted(self, backend: Backend) -> None:
        done = await make_job(backend, JobState.COMPLETED)
        rerun = await apply(backend, done.id, RERUN)
        await tick()
        assert await backend.delete_finished(await backend.now() + timedelta(days=365)) == 0
        assert await backend.get_job(done.id) == rerun
