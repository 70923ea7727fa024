"""T7 graceful shutdown (three variants) and T9 late completion from a paused worker."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import pytest
from harness import Worker, check_invariants, executions
from rel_jobs import SyncWork, Work
from sidequest import JobState, Sidequest

pytestmark = pytest.mark.slow


async def running(sq: Sidequest, n: int, timeout: float = 30) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (await sq.jobs.count()).running < n:
        assert loop.time() < deadline, "jobs did not start"
        await asyncio.sleep(0.05)


async def test_t7_in_flight_jobs_finish_within_the_grace(url: str, client: Sidequest, ledger: Path) -> None:
    ids = [r.id for r in await client.build(Work).enqueue_many([(2.0,)] * 20)]
    await client.queues.update("default", concurrency=20)
    worker = Worker(url, 20, ledger, shutdown_timeout=10)
    await running(client, 20)
    started = time.monotonic()
    worker.signal(signal.SIGTERM)
    stats = worker.finish()
    assert time.monotonic() - started <= 11
    assert worker.process.returncode == 0
    assert stats["stats"]["completed"] == 20
    await check_invariants(client, ids, ledger)


async def test_t7_long_jobs_are_released_after_the_grace(url: str, client: Sidequest, ledger: Path) -> None:
    ids = [r.id for r in await client.build(Work).enqueue_many([(30.0,)] * 5)]
    worker = Worker(url, 5, ledger, shutdown_timeout=1)
    await running(client, 5)
    started = time.monotonic()
    worker.signal(signal.SIGTERM)
    worker.finish()
    assert time.monotonic() - started <= 1 + 2
    stored = await check_invariants(client, ids, ledger)
    assert {stored[i].state for i in ids} == {JobState.WAITING}
    assert {stored[i].attempt for i in ids} == {0}


async def test_t7_second_signal_releases_at_once(url: str, client: Sidequest, ledger: Path) -> None:
    ids = [r.id for r in await client.build(SyncWork).enqueue_many([(30.0,)] * 3)]
    worker = Worker(url, 3, ledger, shutdown_timeout=60)
    await running(client, 3)
    worker.signal(signal.SIGTERM)
    await asyncio.sleep(0.5)
    started = time.monotonic()
    worker.signal(signal.SIGTERM)
    worker.finish()
    assert time.monotonic() - started <= 5
    stored = await check_invariants(client, ids, ledger)
    assert {stored[i].state for i in ids} == {JobState.WAITING}


async def test_t9_a_paused_workers_late_completion_is_rejected(
    url: str, client: Sidequest, ledger: Path
) -> None:
    job = await client.build(SyncWork).enqueue(2.0)
    first = Worker(url, 1, ledger, lease=1.0, heartbeat_interval=0.3)
    await running(client, 1)
    first.signal(signal.SIGSTOP)  # frozen past its lease: another worker takes the job over
    second = Worker(url, 1, ledger, lease=3.0, release_expired_interval=0.2)
    try:
        record = await client.jobs.wait(job.id, timeout=30)
    finally:
        first.signal(signal.SIGCONT)
    await asyncio.sleep(3)  # the first worker wakes up and tries to record its outcome
    first_stats = first.stop()
    second.stop()
    assert record.state == JobState.COMPLETED
    assert record.attempt == 2
    assert first_stats["stats"]["completed"] == 0
    assert first_stats["stats"]["stale_writes_rejected"] >= 1
    final = await client.jobs.get(job.id)
    assert (final.state, final.attempt, final.completed_at) == (record.state, 2, record.completed_at)
    assert executions(ledger)[job.id] == 2
