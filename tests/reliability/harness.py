"""Fault-test harness: real worker processes, a client-side ledger and the invariant checker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rel_jobs import LEDGER_ENV
from sidequest import JobRecord, JobState, Sidequest

HERE = Path(__file__).parent
FAST = {
    "poll_interval": 0.05,
    "lease": 3,
    "heartbeat_interval": 0.5,
    "release_expired_interval": 0.5,
    "shutdown_timeout": 10,
}


STARTED: list[Worker] = []
"""Every worker process started by a test, so a failing test never leaves one running."""


def kill_leftovers() -> None:
    while STARTED:
        worker = STARTED.pop()
        if worker.process.poll() is None:
            worker.process.kill()
            worker.process.wait(10)


class Worker:
    """One worker process running ``worker_main.py``."""

    def __init__(self, url: str, concurrency: int, ledger: Path, **options: Any) -> None:
        env = dict(os.environ, **{LEDGER_ENV: str(ledger), "PYTHONPATH": str(HERE)})
        self.process = subprocess.Popen(
            [sys.executable, str(HERE / "worker_main.py"), url, str(concurrency), json.dumps(FAST | options)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        STARTED.append(self)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line.strip() == "ready", (
            f"worker did not start: {line!r} {self.process.stderr and self.process.stderr.read()}"
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def signal(self, signum: int) -> None:
        os.kill(self.process.pid, signum)

    def finish(self, timeout: float = 30) -> dict[str, Any]:
        """Wait for exit; return the stats a clean exit printed (empty when killed)."""
        out, err = self.process.communicate(timeout=timeout)
        for line in out.splitlines():
            if line.startswith("{"):
                return dict(json.loads(line))
        return {"returncode": self.process.returncode, "stderr": err[-2000:]}

    def stop(self, timeout: float = 30) -> dict[str, Any]:
        if self.process.poll() is None:
            self.signal(signal.SIGTERM)
        return self.finish(timeout)


def executions(ledger: Path) -> Counter[int]:
    """Executions per job id, read from every worker's ledger file."""
    counts: Counter[int] = Counter()
    for path in ledger.glob("exec-*.log"):
        for line in path.read_text().splitlines():
            counts[int(line.split()[0])] += 1
    return counts


async def all_jobs(sq: Sidequest) -> dict[int, JobRecord]:
    found: dict[int, JobRecord] = {}
    before: int | None = None
    while True:
        page = await sq.jobs.list(before_id=before, limit=1000)
        if not page:
            return found
        found.update((job.id, job) for job in page)
        before = page[-1].id


async def check_invariants(
    sq: Sidequest,
    ledger_ids: Iterable[int],
    ledger: Path,
    *,
    clean_stop: bool = True,
    kills: int = 0,
) -> dict[int, JobRecord]:
    """I1 no loss, I3 bounded executions, I4 no zombies after a clean stop, completed ⇒ ran."""
    stored = await all_jobs(sq)
    ids = list(ledger_ids)
    missing = [i for i in ids if i not in stored]
    assert not missing, f"I1: jobs lost from the table: {missing[:20]}"
    runs = executions(ledger)
    for job_id in ids:
        job = stored[job_id]
        assert runs[job_id] <= job.max_attempts + kills, f"I3: job #{job_id} ran {runs[job_id]} times"
        if job.state == JobState.COMPLETED:
            assert runs[job_id] >= 1, f"job #{job_id} completed without running"
    if clean_stop:
        zombies = [j.id for j in stored.values() if j.state in (JobState.CLAIMED, JobState.RUNNING)]
        assert not zombies, f"I4: claimed/running after a clean stop: {zombies[:20]}"
    return stored


def wait_until(predicate: Any, timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(message)
