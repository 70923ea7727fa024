"""list_jobs: the reference listJobs cases (filters, AND, IN, LIKE, time range, paging)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sidequest._transitions import CANCEL
from sidequest.backend import Backend, JobFilter, JobRecord, JobState

from ._fixtures import MS, apply, enqueue_one, make_job, tick


async def _two_jobs(backend: Backend) -> tuple[JobRecord, JobRecord]:
    """A: running default/TestJob/["test"]; B: canceled (after running) default2/TestJob2/["test2"]."""
    b = await make_job(backend, JobState.RUNNING, queue="default2", job_class="TestJob2", args=("test2",))
    b = await apply(backend, b.id, CANCEL)
    await tick()
    a = await make_job(backend, JobState.RUNNING, queue="default", job_class="TestJob", args=("test",))
    return a, b


async def _ids(backend: Backend, **criteria: Any) -> list[int]:
    return [job.id for job in await backend.list_jobs(JobFilter(**criteria))]


class ListingTests:
    """Every criterion holds (AND); lists hold alternatives (IN); ``%`` makes a LIKE pattern."""

    async def test_list_all_jobs(self, backend: Backend) -> None:
        first = await enqueue_one(backend)
        second = await enqueue_one(backend)
        assert await backend.list_jobs(JobFilter()) == [second, first]

    async def test_list_no_job(self, backend: Backend) -> None:
        a, _ = await _two_jobs(backend)
        assert a.attempted_at is not None
        for criteria in (
            {"queues": ("non_existing",)},
            {"job_classes": ("non_existing",)},
            {"states": ("failed",)},
            {"args": ("non_existing",)},
            {"ids": (10**9,)},
            {"offset": 20},
            {"since": a.attempted_at + MS},
            {"until": datetime(2000, 1, 1, tzinfo=UTC)},
        ):
            assert await _ids(backend, **criteria) == [], criteria

    async def test_criteria_are_combined_with_and(self, backend: Backend) -> None:
        a, b = await _two_jobs(backend)
        assert a.attempted_at is not None and b.attempted_at is not None
        for criteria in (
            {"queues": ("default",), "job_classes": ("non_existing",)},
            {"job_classes": ("TestJob",), "queues": ("non_existing",)},
            {"states": ("running",), "args": ("non_existing",)},
            {"args": ("test",), "states": ("canceled",)},
            {"queues": ("default2",), "states": ("running",)},
            {"offset": 0, "states": ("waiting",)},
            {"since": a.attempted_at, "queues": ("default2",)},
            {"until": b.attempted_at, "job_classes": ("TestJob",)},
        ):
            assert await _ids(backend, **criteria) == [], criteria

    async def test_list_single_job(self, backend: Backend) -> None:
        a, b = await _two_jobs(backend)
        for criteria in (
            {"queues": ("default",)},
            {"job_classes": ("TestJob",)},
            {"states": ("running",)},
            {"args": ("test",)},
            {"ids": (a.id,)},
        ):
            assert await _ids(backend, **criteria) == [a.id], criteria
        (found,) = await backend.list_jobs(JobFilter(queues=("default",)))
        assert found == a
        assert await _ids(backend, offset=0, limit=1) == [a.id]
        assert await _ids(backend, offset=1, limit=1) == [b.id]

    async def test_list_both_jobs_with_alternatives(self, backend: Backend) -> None:
        a, b = await _two_jobs(backend)
        both = [a.id, b.id]
        assert await _ids(backend, queues=("default", "default2")) == both
        assert await _ids(backend, job_classes=("TestJob", "TestJob2")) == both
        assert await _ids(backend, states=("running", "canceled")) == both
        assert await _ids(backend, ids=(b.id, a.id, 10**9)) == both
        assert await _ids(backend, offset=0) == both

    async def test_list_job_within_an_inclusive_time_range(self, backend: Backend) -> None:
        a, _ = await _two_jobs(backend)
        at = a.attempted_at
        assert at is not None
        assert await _ids(backend, since=at, until=at, queues=("default",)) == [a.id]
        assert await _ids(backend, since=at - MS, until=at + MS, queues=("default",)) == [a.id]

    async def test_list_job_outside_the_time_range(self, backend: Backend) -> None:
        a, _ = await _two_jobs(backend)
        at = a.attempted_at
        assert at is not None
        assert await _ids(backend, since=at + MS, until=at + 10 * MS) == []
        assert await _ids(backend, since=at - 10 * MS, until=at - MS, queues=("default",)) == []

    async def test_like_patterns_on_queue(self, backend: Backend) -> None:
        for queue in ("email-queue", "report-queue", "notification"):
            await enqueue_one(backend, queue)
        assert len(await _ids(backend, queues=("%-queue",))) == 2
        assert len(await _ids(backend, queues=("email%",))) == 1
        assert len(await _ids(backend, queues=("%notification%",))) == 1
        assert len(await _ids(backend, queues=("%",))) == 3
        assert await _ids(backend, queues=("email",)) == []

    async def test_like_patterns_on_job_class(self, backend: Backend) -> None:
        for job_class in ("SendEmailJob", "ProcessEmailJob", "DataProcessor"):
            await enqueue_one(backend, job_class=job_class)
        assert len(await _ids(backend, job_classes=("%EmailJob",))) == 2
        assert len(await _ids(backend, job_classes=("Send%",))) == 1
        assert len(await _ids(backend, job_classes=("%taProc%",))) == 1
        assert len(await _ids(backend, job_classes=("send%",))) == 0

    async def test_like_patterns_on_state(self, backend: Backend) -> None:
        await make_job(backend, JobState.RUNNING)
        await make_job(backend, JobState.COMPLETED)
        await enqueue_one(backend)
        assert len(await _ids(backend, states=("wait%",))) == 1
        assert len(await _ids(backend, states=("%ing",))) == 2
        assert len(await _ids(backend, states=("%complet%",))) == 1
