"""Aborts reach a running job by cancelling its task only while run() is awaited."""

from __future__ import annotations

import asyncio
import logging

import pytest
import sample_jobs as jobs
from sidequest import JobState, Sidequest
from sidequest.backend import MemoryBackend


@pytest.fixture
async def sq() -> Sidequest:
    engine = Sidequest(MemoryBackend(), poll_interval=0.02)
    await engine.start()
    jobs.ENGINES["self"] = engine
    yield engine  # type: ignore[misc]
    await engine.stop()
    jobs.ENGINES.pop("self", None)


async def test_a_timed_out_job_is_retried_with_the_timeout_error(sq: Sidequest) -> None:
    job = await sq.build(jobs.Sleeps).timeout(0.05).max_attempts(1).enqueue(5)
    done = await sq.jobs.wait(job.id, timeout=5)
    assert done.state == JobState.FAILED
    assert done.errors[-1].type == "JobTimeout"


async def test_a_job_that_swallows_its_timeout_and_returns_keeps_its_result(sq: Sidequest) -> None:
    job = await sq.build(jobs.IgnoresAbort).timeout(0.05).enqueue(0.3)
    done = await sq.jobs.wait(job.id, timeout=5)
    assert (done.state, done.result) == (JobState.COMPLETED, "ignored")


async def test_a_job_canceling_itself_leaves_the_engine_working(
    sq: Sidequest, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sidequest")
    job = await sq.build(jobs.CancelsItself).enqueue()
    done = await sq.jobs.wait(job.id, timeout=5)
    assert done.state == JobState.CANCELED and done.result is None
    after = await sq.jobs.wait((await sq.build(jobs.Echo).enqueue(1)).id, timeout=5)
    assert after.state == JobState.COMPLETED
    assert "unexpected engine error" not in caplog.text


async def test_an_abort_still_pending_when_run_returns_does_not_hit_the_outcome_write(
    sq: Sidequest, caplog: pytest.LogCaptureFixture
) -> None:
    job = await sq.build(jobs.AbortedWithoutAwaiting).enqueue()
    done = await sq.jobs.wait(job.id, timeout=5)
    assert (done.state, done.result) == (JobState.COMPLETED, "finished anyway")
    await asyncio.sleep(0.05)
    assert sq.stats.completed == 1  # the engine saw its own write through, not a stray cancellation
    assert "unexpected engine error" not in caplog.text
