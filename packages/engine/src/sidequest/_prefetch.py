"""Prefetch: jobs a worker has taken ahead of a free slot, started as soon as one frees.

With short jobs a worker at full speed would otherwise sit idle while each claim travels
to the database and back: its slots free within a millisecond, then it waits for the next
batch. Jobs taken ahead keep work at hand while the next claim is in flight.

A prefetched job is already taken in the database (running, attempt counted, its lease
renewed like any held job). The default, ``"auto"``, holds about ``PREFETCH_WORK`` seconds
of each queue's work at the pace of its recent jobs, so a prefetched job waits about that
long at most; a job that still has no slot after ``HOLD_LIMIT`` seconds is given back
(waiting again, attempt not consumed) and prefetching for its queue stops until its jobs
are short again. The prefetched jobs of a paused queue and every prefetched job of a
stopping worker are given back too. An explicit ``prefetch=N`` holds up to N jobs until a
slot frees, however long that takes (as Celery's prefetch does).
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable
from typing import Literal

from ._errors import ConfigurationError, WorkerShutdown
from ._executor import Execution

Prefetch = int | Literal["auto"]
PREFETCH_WORK = 0.1
"""``"auto"``: hold about this many seconds of a queue's work (at its recent pace)."""
MIN_AHEAD = 50
"""``"auto"``: at most ``max(concurrency, MIN_AHEAD)`` jobs ahead per queue, so that a queue
of few slots still claims in batches worth a round trip (at concurrency 10, about 30 jobs
a claim instead of 10)."""
IN_PROCESS_CLAIM = 100
"""``"auto"`` with a database inside the worker's process (SQLite): a claim (free slots plus
the jobs taken ahead) stays below this many jobs. Its statements run on threads that need
the GIL to build their rows, so they gain from fewer, larger claims but not from running
beside the jobs: measured, prefetch made SQLite faster at concurrency 10 and slower at 100."""
HOLD_LIMIT = 1.0
"""A prefetched job not started within this many seconds is given back."""
_WEIGHT = 0.2
"""Weight of the newest duration in a queue's moving average."""


class GivenBack(WorkerShutdown):
    """A prefetched job given back before it started (stop, paused queue, or no slot in time)."""


def check_prefetch(value: object) -> Prefetch:
    """``value`` if it is ``"auto"`` or an int ≥ 0; anything else raises ``ConfigurationError``."""
    if value == "auto":
        return "auto"
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise ConfigurationError(f"prefetch must be 'auto' or an int ≥ 0, got {value!r}")


class PrefetchBuffer:
    """The prefetched jobs of one dispatcher, oldest first, and when to take more."""

    def __init__(self, setting: Prefetch, *, in_process: bool = False) -> None:
        self.setting = setting
        self._in_process = in_process
        self.waiting: deque[tuple[float, Execution]] = deque()
        """``(taken at, execution)``, oldest first (callers only read it)."""
        self._per_queue: Counter[str] = Counter()
        self._typical_run: dict[str, float] = {}
        """Per queue: moving average of run() durations (s); absent until a job has run."""

    def room(self, queue: str, limit: int, total: int) -> int:
        """How many more jobs of ``queue`` (run ``limit`` at a time, by a worker running
        ``total`` jobs at once) may wait here now.

        ``"auto"``: as many as the queue's slots get through in ``PREFETCH_WORK`` seconds at
        the pace of its recent jobs, at most ``max(limit, MIN_AHEAD)`` (none before a job of
        the queue has run; in-process databases: see ``IN_PROCESS_CLAIM``); with an int N: N.
        """
        if self.setting == "auto":
            typical = self._typical_run.get(queue)
            if typical is None:
                return 0
            cap = max(total, MIN_AHEAD)
            ahead = min(max(limit, MIN_AHEAD), int(limit * PREFETCH_WORK / max(typical, 1e-6)))
            if self._in_process:
                ahead = min(ahead, IN_PROCESS_CLAIM - limit)
        else:
            ahead = cap = self.setting
        return max(0, min(ahead - self._per_queue[queue], cap - len(self.waiting)))

    def ran(self, queue: str, seconds: float) -> None:
        """Note how long a job of ``queue`` ran."""
        typical = self._typical_run.get(queue)
        self._typical_run[queue] = seconds if typical is None else typical + _WEIGHT * (seconds - typical)

    def add(self, execution: Execution, now: float) -> None:
        self.waiting.append((now, execution))
        self._per_queue[execution.record.queue] += 1

    def take(self, can_start: Callable[[str], bool]) -> Execution | None:
        """The oldest prefetched job whose queue has a free slot now (removed), or None."""
        for index, (_, execution) in enumerate(self.waiting):
            if can_start(execution.record.queue):
                del self.waiting[index]
                self._per_queue[execution.record.queue] -= 1
                return execution
        return None

    def give_back(self, now: float, keep: Callable[[str], bool]) -> list[Execution]:
        """Remove and return, aborted with ``GivenBack``, the jobs whose queue ``keep``
        rejects (all of them with ``keep=lambda _: False``) and, with ``"auto"``, those held
        for ``HOLD_LIMIT`` seconds (an explicit N holds its jobs until a slot frees)."""
        expiry = self.next_expiry()
        if (expiry is None or now < expiry) and all(keep(q) for q, n in self._per_queue.items() if n):
            return []  # the common case, checked per queue rather than per job
        kept: deque[tuple[float, Execution]] = deque()
        given: list[Execution] = []
        for since, execution in self.waiting:
            queue = execution.record.queue
            overdue = self.setting == "auto" and now - since >= HOLD_LIMIT
            if not overdue and keep(queue):
                kept.append((since, execution))
                continue
            if overdue:  # its slots are taken by long runs: no more prefetch until jobs are short again
                self._typical_run[queue] = max(self._typical_run.get(queue, 0.0), HOLD_LIMIT)
            self._per_queue[queue] -= 1
            execution.abort(GivenBack())
            given.append(execution)
        self.waiting = kept
        return given

    def next_expiry(self) -> float | None:
        """When the oldest prefetched job is due to be given back (``time.monotonic()``), if any."""
        if self.setting != "auto" or not self.waiting:
            return None
        return self.waiting[0][0] + HOLD_LIMIT
