"""T1 claim race across processes, T3 poison job, T14 unknown job class."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest
from harness import Worker, check_invariants, executions, wait_until
from rel_jobs import Poison, Work
from sidequest import JobState, Sidequest
from sidequest.backend import WORKER_LOST, NewJob

pytestmark = pytest.mark.slow


async def wait_finished(sq: Sidequest, ids: list[int], timeout: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        counts = await sq.jobs.count()
        if counts.waiting + counts.claimed + counts.running == 0 and counts.total >= len(ids):
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"not finished after {timeout} s: {await sq.jobs.count()}")


async def test_t1_claim_race_each_job_runs_exactly_once(url: str, client: Sidequest, ledger: Path) -> None:
    total = 2000
    ids: list[int] = []
    for start in range(0, total, 500):
        ids += [r.id for r in await client.build(Work).enqueue_many([()] * min(500, total - start))]
    workers = [Worker(url, 16, ledger) for _ in range(4)]
    await wait_finished(client, ids, 90)
    stats = [w.stop() for w in workers]
    stored = await check_invariants(client, ids, ledger)
    runs = executions(ledger)
    assert all(stored[i].state == JobState.COMPLETED for i in ids)
    assert [i for i in ids if runs[i] != 1] == [], "every job executed exactly once"
    assert sum(s["stats"]["completed"] for s in stats) == total


async def test_t3_poison_job_runs_max_attempts_then_fails(url: str, client: Sidequest, ledger: Path) -> None:
    poison = await client.build(Poison).max_attempts(3).enqueue()
    healthy = [r.id for r in await client.build(Work).enqueue_many([(0.01,)] * 100)]
    workers = [Worker(url, 4, ledger, lease=1.5) for _ in range(2)]
    restarts = 0
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while loop.time() < deadline:
        for index, worker in enumerate(workers):
            if worker.process.poll() is not None:  # the supervisor restarts dead workers
                restarts += 1
                workers[index] = Worker(url, 4, ledger, lease=1.5)
        if (await client.jobs.get(poison.id)).finished and (await client.jobs.count()).completed == 100:
            break
        await asyncio.sleep(0.2)
    for worker in workers:
        worker.stop()
    record = await client.jobs.get(poison.id)
    assert record.state == JobState.FAILED
    assert [e.type for e in record.errors] == [WORKER_LOST] * 3
    assert executions(ledger)[poison.id] == 3
    assert restarts == 3
    stored = await check_invariants(client, [poison.id, *healthy], ledger, kills=3)
    assert {stored[i].state for i in healthy} == {JobState.COMPLETED}


async def test_t14_unknown_job_class_fails_without_hurting_the_worker(
    url: str, client: Sidequest, ledger: Path
) -> None:
    ghosts = await client.enqueue_jobs(
        [NewJob(queue="default", script="no.such.module", job_class="Ghost") for _ in range(100)]
    )
    worker = Worker(url, 10, ledger)
    good = await client.build(Work).enqueue()
    wait_until(lambda: worker.process.poll() is None, 1, "worker alive")
    assert (await client.jobs.wait(good.id, timeout=30)).state == JobState.COMPLETED
    for ghost in ghosts:
        record = await client.jobs.wait(ghost.id, timeout=30)
        assert record.state == JobState.FAILED and record.attempt == 1
        assert record.errors[-1].type == "UnknownJobClass"
        assert "no.such.module" in record.errors[-1].message
    assert worker.process.poll() is None
    worker.signal(signal.SIGTERM)
    assert worker.finish()["stats"]["failed"] == 100
