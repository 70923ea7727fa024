"""Several worker processes drain one batch of jobs: what the exactly-once tests share."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from typing import Any

from sidequest import Sidequest


async def drain_with_workers(
    sq: Sidequest,
    job_class: type[Any],
    worker_script: str,
    url: str,
    env: dict[str, str],
    *,
    jobs: int,
    workers: int,
) -> tuple[list[int], float]:
    """Run ``workers`` processes of ``python -c worker_script url``, enqueue ``jobs`` jobs (argument
    ``n``) in batches of 1,000 and wait until all completed (90 s at most, or until a worker
    exits); stop them with SIGTERM and close ``sq``.

    Every worker must exit 0 and print its completed count last; returns those counts and
    the seconds from start to done.
    """
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            worker_script,
            url,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(workers)
    ]
    started = time.monotonic()
    try:
        ids: list[int] = []
        for batch in range(0, jobs, 1000):
            records = await sq.build(job_class).enqueue_many([(n,) for n in range(batch, batch + 1000)])
            ids += [r.id for r in records]
        assert len(set(ids)) == jobs
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if (await sq.jobs.count()).completed == jobs:
                break
            if any(p.returncode is not None for p in processes):
                break
            await asyncio.sleep(0.25)
        elapsed = time.monotonic() - started
    finally:
        for process in processes:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
        outputs = await asyncio.gather(*(p.communicate() for p in processes))
        await sq.close()
    errors = [err.decode()[-3000:] for _, err in outputs]
    assert [p.returncode for p in processes] == [0] * workers, errors
    return [int(out.decode().split()[-1]) for out, _ in outputs], elapsed
