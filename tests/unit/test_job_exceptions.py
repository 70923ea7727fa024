"""Whatever a job raises fails that job, never the worker running it."""

from __future__ import annotations

import pytest
import sample_jobs as jobs
from sidequest import Job, JobState, Sidequest
from sidequest.backend import MemoryBackend


@pytest.fixture
async def sq() -> Sidequest:
    engine = Sidequest(MemoryBackend(), poll_interval=0.02)
    await engine.start()
    yield engine  # type: ignore[misc]
    await engine.stop()


@pytest.mark.parametrize(
    ("job_class", "args", "error_type"),
    [
        (jobs.CallsSysExit, (3,), "SystemExit"),
        (jobs.CallsSysExitSync, (4,), "SystemExit"),
        (jobs.RaisesKeyboardInterruptSync, (), "KeyboardInterrupt"),
    ],
)
async def test_a_job_raising_a_base_exception_fails_and_the_worker_goes_on(
    sq: Sidequest, job_class: type[Job], args: tuple[int, ...], error_type: str
) -> None:
    job = await sq.build(job_class).max_attempts(2).retry_delay(0).backoff("fixed").enqueue(*args)
    done = await sq.jobs.wait(job.id, timeout=5)
    assert done.state == JobState.FAILED
    assert [error.type for error in done.errors] == [error_type, error_type]
    assert all(error.traceback for error in done.errors)
    after = await sq.build(jobs.Echo).enqueue("still running")
    assert (await sq.jobs.wait(after.id, timeout=5)).state == JobState.COMPLETED
    assert sq.started


async def test_the_exit_code_is_in_the_error_message(sq: Sidequest) -> None:
    job = await sq.build(jobs.CallsSysExit).max_attempts(1).enqueue(7)
    done = await sq.jobs.wait(job.id, timeout=5)
    assert (done.errors[-1].type, done.errors[-1].message) == ("SystemExit", "7")
