"""A per-process execution ledger in a shared memory-mapped file.

Every benchmark job calls ``record(i)`` (``i``: the job's number, 0 ≤ i < n). The ledger
counts executions per job number, keeps one float per job (the pickup latency when the job
carried its enqueue time, else the time it started) and a header: executions so far, first
start, last end. Writes are memory stores (no system call), so a job pays well under a
microsecond; the parent process maps the same files to follow progress and, at the end,
checks that every job ran exactly once.

Layout (all doubles, native byte order): header of 8 doubles, then ``n`` execution counts
(one byte each, saturating at 255), padded to 8 bytes, then ``n`` values.
"""

from __future__ import annotations

import mmap
import os
import threading
import time
from pathlib import Path

HEADER = 8  # doubles: count, first_start, last_end, n, (reserved)
COUNT, FIRST, LAST, SIZE = 0, 1, 2, 3


def _layout(n: int) -> tuple[int, int, int]:
    counts_at = HEADER * 8
    values_at = counts_at + ((n + 7) // 8) * 8
    return counts_at, values_at, values_at + 8 * n


class Ledger:
    """Maps one ledger file (``create=True`` makes a zeroed file for ``n`` jobs)."""

    def __init__(self, path: str | Path, n: int | None = None, *, create: bool = False) -> None:
        self.path = Path(path)
        if create:
            assert n is not None
            size = _layout(n)[2]
            with open(self.path, "wb") as f:
                f.truncate(size)
        fd = os.open(self.path, os.O_RDWR)
        try:
            self._mm = mmap.mmap(fd, 0)
        finally:
            os.close(fd)
        view = memoryview(self._mm)
        self.header = view[: HEADER * 8].cast("d")
        if create:
            self.header[SIZE] = float(n)  # type: ignore[arg-type]
        self.n = int(self.header[SIZE])
        counts_at, values_at, end = _layout(self.n)
        self.counts = view[counts_at : counts_at + self.n]
        self.values = view[values_at:end].cast("d")
        self._lock = threading.Lock()

    # writer side (inside jobs) ----------------------------------------------------------------
    def record(self, i: int, sent: float | None = None) -> None:
        """Count one execution of job ``i``; ``sent``: its enqueue time (stores the latency)."""
        now = time.time()
        with self._lock:
            header = self.header
            c = self.counts[i]
            self.counts[i] = c + 1 if c < 255 else 255
            self.values[i] = now - sent if sent is not None else now
            if header[COUNT] == 0:
                header[FIRST] = now
            header[COUNT] += 1
            header[LAST] = time.time()

    # reader side (the parent) -------------------------------------------------------------------
    @property
    def executed(self) -> int:
        return int(self.header[COUNT])

    @property
    def first_start(self) -> float:
        return float(self.header[FIRST])

    @property
    def last_end(self) -> float:
        return float(self.header[LAST])

    def close(self) -> None:
        for view in (self.header, self.counts, self.values):
            view.release()
        self._mm.close()


_ACTIVE: Ledger | None = None


def open_for_jobs(path: str) -> Ledger:
    """Open the ledger this worker process's jobs write to."""
    global _ACTIVE
    _ACTIVE = Ledger(path)
    return _ACTIVE


def record(i: int, sent: float | None = None) -> None:
    """Called by every benchmark job (no-op bodies otherwise)."""
    ledger = _ACTIVE
    if ledger is None:
        raise RuntimeError("no ledger open in this process (BENCH_LEDGER not set?)")
    ledger.record(i, sent)


def check_exactly_once(ledgers: list[Ledger], n: int) -> str | None:
    """None when each of jobs 0..n-1 ran exactly once across ``ledgers``; else what went wrong."""
    missing = duplicated = 0
    first_bad: list[int] = []
    for i in range(n):
        total = sum(ledger.counts[i] for ledger in ledgers)
        if total != 1:
            if total == 0:
                missing += 1
            else:
                duplicated += 1
            if len(first_bad) < 5:
                first_bad.append(i)
    extra = sum(ledger.executed for ledger in ledgers) - n
    if missing or duplicated:
        return f"{missing} job(s) never ran, {duplicated} ran more than once (e.g. #{first_bad})"
    if extra:
        return f"{extra} execution(s) beyond the {n} expected"
    return None
