"""Four worker processes (``await sq.start()``) drain 5,000 jobs: each runs exactly once."""

from __future__ import annotations

import os
from pathlib import Path

import mysql_jobs
import pytest
from drain_support import drain_with_workers
from mysql_support import execute
from sidequest import QueueConfig, Sidequest

pytestmark = [pytest.mark.mysql_server, pytest.mark.slow]

JOBS = 5_000
WORKERS = 4
HERE = Path(__file__).parent

WORKER_SCRIPT = """
import asyncio, signal, sys
import mysql_jobs
from sidequest import QueueConfig, Sidequest

async def main():
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    sq = Sidequest(
        sys.argv[1],
        max_concurrent_jobs=20,
        queues=[QueueConfig("default", concurrency=20)],
        backend_options={"pool_max": 4},
    )
    await sq.start()
    print("started", flush=True)
    await stop.wait()
    await sq.stop()
    await mysql_jobs.close_ledger()
    print(sq.stats.completed, flush=True)

asyncio.run(main())
"""


@pytest.mark.timeout(120)
async def test_each_job_runs_exactly_once_across_processes(
    mysql_url: str, database: str, database_url: str
) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
        mysql_jobs.LEDGER_URL: mysql_url,
        mysql_jobs.LEDGER_DATABASE: database,
    }
    sq = Sidequest(
        database_url, queues=[QueueConfig("default", concurrency=20)], backend_options={"pool_max": 2}
    )
    await sq.configure()  # migrate before the workers start
    await execute(
        mysql_url,
        "CREATE TABLE ledger (job_id BIGINT PRIMARY KEY, runs INT NOT NULL, pid INT NOT NULL)",
        database=database,
    )
    per_worker, elapsed = await drain_with_workers(
        sq, mysql_jobs.Ledger, WORKER_SCRIPT, database_url, env, jobs=JOBS, workers=WORKERS
    )
    states = dict(
        await execute(
            mysql_url, "SELECT state, COUNT(*) FROM sidequest_jobs GROUP BY state", database=database
        )
    )
    assert states == {"completed": JOBS}, states
    (ledger,) = await execute(
        mysql_url, "SELECT COUNT(*), MIN(runs), MAX(runs) FROM ledger", database=database
    )
    assert tuple(ledger) == (JOBS, 1, 1)
    (missing,) = await execute(
        mysql_url,
        "SELECT COUNT(*) FROM sidequest_jobs j LEFT JOIN ledger l ON l.job_id = j.id WHERE l.job_id IS NULL",
        database=database,
    )
    assert missing == (0,)
    assert sum(per_worker) == JOBS and all(n > 0 for n in per_worker), per_worker
    print(
        f"{JOBS} jobs by {WORKERS} processes in {elapsed:.1f} s ({JOBS / elapsed:.0f} jobs/s): {per_worker}"
    )
