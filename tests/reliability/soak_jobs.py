"""Jobs for the soak tests: each execution appends events to a per-process ledger file.

A ledger line is ``EVENT JOB_ID ATTEMPT PID REAL_TIME TOKEN`` where EVENT is ``start``,
``end`` (``run()`` returned) or ``abort`` (the engine cancelled the run). REAL_TIME is the
host's real-time clock read with ``clock_gettime``, which the clock-skew tests leave alone
(they patch ``time.time``), so it can be compared with the database clock on this host.
Each line is written with one ``write(2)`` on an ``O_APPEND`` descriptor: a SIGKILL never
leaves half a line, and a line is on disk as soon as the event happened.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

from sidequest import Job

LEDGER_ENV = "SIDEQUEST_LEDGER_DIR"


def real_time() -> float:
    """Seconds since the epoch from the real-time clock (immune to ``time.time`` patches)."""
    return time.clock_gettime(time.CLOCK_REALTIME)


def record(job: Job, event: str) -> str:
    """Append one ledger line for ``job``; returns the lease token of this execution."""
    held = job.record
    token = (held.lease_token if held is not None else None) or "-"
    line = f"{event} {job.id} {job.attempt} {os.getpid()} {real_time():.3f} {token}\n"
    path = Path(os.environ[LEDGER_ENV]) / f"soak-{os.getpid()}.log"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)
    return token


class Sleep(Job):
    """Sleeps (asynchronously: an abort cancels it) and returns its lease token and pid.

    The returned token lets the test prove fencing: the completion stored for a job must
    carry the token that was current when the completion was written.
    """

    async def run(self, seconds: float = 0.0) -> dict[str, Any]:
        token = record(self, "start")
        try:
            if seconds:
                await asyncio.sleep(seconds)
        except asyncio.CancelledError:
            record(self, "abort")
            raise
        record(self, "end")
        return {"token": token, "pid": os.getpid()}


class BlockingSleep(Job):
    """Sleeps in a thread: an abort cannot stop it, so it tries to record its outcome late."""

    def run(self, seconds: float = 0.0) -> dict[str, Any]:
        token = record(self, "start")
        time.sleep(seconds)
        record(self, "end")
        return {"token": token, "pid": os.getpid()}


class Tick(Job):
    """The job of a recurring schedule: records that it ran."""

    async def run(self) -> dict[str, Any]:
        token = record(self, "start")
        return {"token": token, "pid": os.getpid()}
