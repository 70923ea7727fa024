"""The process runner: crash isolation, hard kill on timeout/cancel, parallel CPU work, recycling."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sample_jobs as jobs
from sidequest import JobState, QueueConfig, Sidequest
from sidequest.backend import WORKER_LOST

pytestmark = pytest.mark.slow


@pytest.fixture
async def sq() -> AsyncIterator[Sidequest]:
    engine = Sidequest("memory://", runner="process", processes=2, poll_interval=0.02, shutdown_timeout=5)
    await engine.start()
    try:
        yield engine
    finally:
        await engine.close()


async def test_crashing_jobs_kill_only_their_process(sq: Sidequest) -> None:
    exits = await sq.build(jobs.ExitsProcess).max_attempts(2).retry_delay(0.01).enqueue()
    segfault = await sq.build(jobs.Segfaults).max_attempts(1).enqueue()
    healthy = await sq.build(jobs.Echo).enqueue("still fine")
    record = await sq.jobs.wait(exits.id, timeout=30)
    assert (record.state, record.attempt) == (JobState.FAILED, 2)
    assert [e.type for e in record.errors] == [WORKER_LOST, WORKER_LOST]
    assert "exit code 3" in record.errors[0].message
    record = await sq.jobs.wait(segfault.id, timeout=30)
    assert record.state == JobState.FAILED
    assert "SIGSEGV" in record.errors[-1].message
    assert (await sq.jobs.wait(healthy.id, timeout=30)).result["args"] == ["still fine"]


async def test_timeout_kills_a_job_that_ignores_it(sq: Sidequest) -> None:
    job = await sq.build(jobs.SleepsSync).timeout(0.5).max_attempts(1).enqueue(60)
    started = time.monotonic()
    record = await sq.jobs.wait(job.id, timeout=30)
    assert record.state == JobState.FAILED
    assert record.errors[-1].type == "JobTimeout"
    assert time.monotonic() - started < 20


async def test_cancel_kills_the_process(sq: Sidequest) -> None:
    job = await sq.build(jobs.SleepsSync).enqueue(60)
    for _ in range(500):
        if (await sq.jobs.get(job.id)).state == JobState.RUNNING:
            break
        await asyncio.sleep(0.02)
    await sq.jobs.cancel(job.id)
    after = await sq.build(jobs.Pid).enqueue()
    assert (await sq.jobs.wait(after.id, timeout=30)).state == JobState.COMPLETED
    assert (await sq.jobs.get(job.id)).state == JobState.CANCELED


async def test_cpu_bound_jobs_run_in_parallel(sq: Sidequest) -> None:
    first, second = await sq.build(jobs.CpuBound).enqueue_many([(1.0,), (1.0,)])
    a = (await sq.jobs.wait(first.id, timeout=60)).result
    b = (await sq.jobs.wait(second.id, timeout=60)).result
    assert a["pid"] != b["pid"]
    assert max(a["start"], b["start"]) < min(a["end"], b["end"]), "the two runs overlapped in time"


async def test_abort_signal_is_delivered_inside_the_process_during_grace(tmp_path: Path) -> None:
    engine = Sidequest("memory://", runner="process", processes=1, abort_grace_period=1.0, poll_interval=0.02)
    await engine.start()
    try:
        marker = tmp_path / "reason.txt"
        job = await engine.build(jobs.ReportsAbortInProcess).timeout(1.0).max_attempts(1).enqueue(str(marker))
        record = await engine.jobs.wait(job.id, timeout=30)
        assert record.state == JobState.FAILED
        assert marker.read_text() == "JobTimeout"
    finally:
        await engine.close()


async def test_recycling_and_per_queue_runner() -> None:
    engine = Sidequest(
        "memory://",
        processes=1,
        max_jobs_per_process=2,
        poll_interval=0.02,
        queues=[QueueConfig("isolated", runner="process")],
    )
    await engine.start()
    try:
        records = await engine.build(jobs.Pid).queue("isolated").enqueue_many([()] * 4)
        pids = [(await engine.jobs.wait(r.id, timeout=30)).result for r in records]
        assert len(set(pids)) == 2, "a process is replaced after two jobs"
        local = await engine.build(jobs.Pid).enqueue()
        import os

        assert (await engine.jobs.wait(local.id, timeout=30)).result == os.getpid()
    finally:
        await engine.close()
