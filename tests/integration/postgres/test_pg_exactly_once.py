"""Four worker processes (20 concurrent jobs each) drain 10,000 jobs: each runs exactly once."""

from __future__ import annotations

import os
from pathlib import Path

import asyncpg
import pg_jobs
import pytest
from drain_support import drain_with_workers
from sidequest import QueueConfig, Sidequest

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

JOBS = 10_000
WORKERS = 4
HERE = Path(__file__).parent

WORKER_SCRIPT = """
import asyncio, sys
import pg_jobs
from sidequest import QueueConfig, Sidequest

async def main():
    sq = Sidequest(
        sys.argv[1],
        max_concurrent_jobs=20,
        queues=[QueueConfig("default", concurrency=20)],
        backend_options={"pool_max": 4},
    )
    try:
        await sq.run_until_stopped()
    finally:
        await pg_jobs.close_ledger()
    print(sq.stats.completed, flush=True)

asyncio.run(main())
"""


@pytest.mark.timeout(120)
async def test_each_job_runs_exactly_once_across_processes(
    postgres_url: str, schema_url: str, schema: str, conn: asyncpg.Connection
) -> None:
    table = f'"{schema}".ledger'
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
        pg_jobs.LEDGER_URL: postgres_url,
        pg_jobs.LEDGER_TABLE: table,
    }
    sq = Sidequest(
        schema_url, queues=[QueueConfig("default", concurrency=20)], backend_options={"pool_max": 2}
    )
    await sq.configure()  # migrate before the workers race to do it
    await conn.execute(f"CREATE TABLE {table} (job_id bigint PRIMARY KEY, runs integer NOT NULL)")
    per_worker, elapsed = await drain_with_workers(
        sq, pg_jobs.Ledger, WORKER_SCRIPT, schema_url, env, jobs=JOBS, workers=WORKERS
    )
    states = dict(await conn.fetch(f'SELECT state, count(*) FROM "{schema}".sidequest_jobs GROUP BY state'))
    assert states == {"completed": JOBS}, states
    ledger = await conn.fetchrow(f"SELECT count(*), min(runs), max(runs) FROM {table}")
    assert tuple(ledger) == (JOBS, 1, 1)
    missing = await conn.fetchval(
        f'SELECT count(*) FROM "{schema}".sidequest_jobs j LEFT JOIN {table} l ON l.job_id = j.id'
        " WHERE l.job_id IS NULL"
    )
    assert missing == 0
    assert sum(per_worker) == JOBS and all(n > 0 for n in per_worker), per_worker
    print(
        f"{JOBS} jobs by {WORKERS} processes in {elapsed:.1f} s ({JOBS / elapsed:.0f} jobs/s): {per_worker}"
    )
