"""Shared helpers: databases, statistics, worker processes, timing."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PG_SERVER = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
ADMIN_DB = os.environ.get("BENCH_PG_ADMIN_DB", "test")
DB_PREFIX = "sq_bench_"


class BenchError(Exception):
    """A run that cannot report a figure (failed check, timeout, crashed worker)."""


def run_on_loop(main: Any) -> Any:
    """``asyncio.run(main)``, or ``uvloop.run(main)`` when ``BENCH_LOOP=uvloop`` (``run.py
    --loop uvloop``; worker processes inherit the variable)."""
    if os.environ.get("BENCH_LOOP") == "uvloop":
        import uvloop

        return uvloop.run(main)
    return asyncio.run(main)


def pg_url(database: str) -> str:
    return f"{PG_SERVER}/{database}"


async def recreate_database(name: str) -> str:
    """Drop and create ``sq_bench_<name>``; returns its URL."""
    database = DB_PREFIX + name
    assert database.replace("_", "").isalnum()
    conn = await asyncpg.connect(pg_url(ADMIN_DB))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{database}"')
    finally:
        await conn.close()
    return pg_url(database)


async def drop_database(name: str) -> None:
    database = DB_PREFIX + name
    conn = await asyncpg.connect(pg_url(ADMIN_DB))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    finally:
        await conn.close()


async def pg_version() -> str:
    conn = await asyncpg.connect(pg_url(ADMIN_DB))
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


# statistics ---------------------------------------------------------------------------------
def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return ordered[rank - 1]


@dataclass
class Figure:
    """Repeated measurements of one quantity (None: that repetition failed its check)."""

    unit: str
    higher_is_better: bool = True
    values: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    note: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.values) and not self.failures

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def low(self) -> float:
        return min(self.values)

    @property
    def high(self) -> float:
        return max(self.values)

    def to_json(self) -> dict[str, Any]:
        return {
            "unit": self.unit,
            "higher_is_better": self.higher_is_better,
            "values": self.values,
            "failures": self.failures,
            "note": self.note,
        }


# worker processes ------------------------------------------------------------------------------
class WorkerProcess:
    """One ``bench/worker.py`` subprocess running a library's worker."""

    def __init__(self, lib: str, config: dict[str, Any], log_path: Path) -> None:
        self.lib = lib
        self.log_path = log_path
        self._log = open(log_path, "wb")
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen(
            [sys.executable, str(BENCH / "worker.py"), lib, json.dumps(config)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    async def expect(self, word: str, timeout: float = 60) -> None:
        """Wait for the worker to print ``word`` (LOADED: imports done; READY: worker started)."""
        assert self.process.stdout is not None
        loop = asyncio.get_running_loop()
        line = await asyncio.wait_for(loop.run_in_executor(None, self.process.stdout.readline), timeout)
        if line.strip() != word.encode():
            raise BenchError(f"{self.lib} worker did not print {word}: {line!r}; {self.tail()}")

    def go(self) -> None:
        """Let a LOADED worker start its library's worker."""
        assert self.process.stdin is not None
        self.process.stdin.write(b"GO\n")
        self.process.stdin.flush()

    def alive(self) -> bool:
        return self.process.poll() is None

    def rss_kib(self) -> tuple[int, int]:
        """(VmRSS, VmHWM) in KiB, read from /proc."""
        found = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                found[key] = int(value.split()[0])
        return found["VmRSS"], found["VmHWM"]

    async def stop(self, timeout: float = 30) -> int:
        """SIGTERM, wait (SIGKILL after ``timeout``); returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        if self.process.stdin is not None:
            self.process.stdin.close()
        deadline = time.monotonic() + timeout
        while self.process.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._log.close()
        return self.process.returncode

    def tail(self, chars: int = 1500) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


async def stop_all(workers: Sequence[WorkerProcess], timeout: float = 30) -> list[int]:
    return list(await asyncio.gather(*(w.stop(timeout) for w in workers)))


async def sleep_until(moment: float) -> None:
    """Sleep until ``time.perf_counter() >= moment`` (coarse sleep, then a short spin)."""
    remaining = moment - time.perf_counter()
    if remaining > 0.002:
        await asyncio.sleep(remaining - 0.0015)
    while time.perf_counter() < moment:
        await asyncio.sleep(0)
