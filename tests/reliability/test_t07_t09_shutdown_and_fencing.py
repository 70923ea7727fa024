"""T7 graceful shutdown (three variants) and T9 late completion from a paused worker."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
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


async def freeze_between_writes(worker: Worker, url: str) -> None:
    """SIGSTOP ``worker`` at a moment it is not inside a write transaction.

    On SQLite, a process frozen inside one (a heartbeat, every 0.3 s here) would keep every
    other process from writing to the file until it resumes: SQLite has one writer at a
    time, and no process can take the lock from another. That is not what T9 is about, so
    the worker is frozen again until the file's write lock is free. PostgreSQL commits
    each statement on the server, whatever its client does, so one try suffices there.
    """
    path = url.removeprefix("sqlite:///").partition("?")[0] if url.startswith("sqlite:///") else None
    for _ in range(100):
        worker.signal(signal.SIGSTOP)
        if path is None or not await asyncio.to_thread(_write_lock_taken, path):
            return
        worker.signal(signal.SIGCONT)
        await asyncio.sleep(0.01)
    raise AssertionError("the worker held the SQLite write lock at each of 100 tries")


def _write_lock_taken(path: str) -> bool:
    connection = sqlite3.connect(path, timeout=0.2, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        connection.close()


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
    await freeze_between_writes(first, url)  # frozen past its lease: another worker takes the job over
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


def test_a_process_frozen_inside_a_write_keeps_the_sqlite_file_locked(tmp_path: Path) -> None:
    """Why T9 freezes its worker between writes (and that the check it uses sees the lock)."""
    path = str(tmp_path / "locked.sqlite3")
    sqlite3.connect(path).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_WRITE_LOCK, path], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        os.kill(holder.pid, signal.SIGSTOP)
        assert _write_lock_taken(path)
        os.kill(holder.pid, signal.SIGCONT)
    finally:
        holder.kill()
        holder.wait()
    assert not _write_lock_taken(path)


HOLD_WRITE_LOCK = """
import sqlite3, sys, time
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
print("held", flush=True)
time.sleep(60)
"""
