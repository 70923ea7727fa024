"""Job classes used by the engine tests (importable, so workers can resolve them)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from sidequest import Job

RUNS: dict[str, int] = {}
"""Executions per key, for tests that count runs in-process."""
GATE = threading.Event()


def count(key: str) -> int:
    RUNS[key] = RUNS.get(key, 0) + 1
    return RUNS[key]


class Echo(Job):
    async def run(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return {"args": list(args), "kwargs": kwargs, "attempt": self.attempt}


class SyncDouble(Job):
    def run(self, value: int) -> int:
        return value * 2


class FailsUntil(Job):
    """Raises until attempt ``n``, then returns the attempt."""

    async def run(self, n: int) -> int:
        if self.attempt < n:
            raise RuntimeError(f"attempt {self.attempt} fails")
        return self.attempt


class AlwaysFails(Job):
    async def run(self) -> None:
        raise ValueError("always")


class GivesUp(Job):
    async def run(self) -> Any:
        return self.fail("invalid address")


class RetriesExactly(Job):
    async def run(self, delay: float) -> Any:
        if self.attempt == 1:
            return self.retry("429", delay=delay)
        return "done"


class SnoozesOnce(Job):
    async def run(self, key: str, delay: float) -> Any:
        if count(key) == 1:
            return self.snooze(delay)
        return {"attempt": self.attempt}


class Sleeps(Job):
    async def run(self, seconds: float) -> str:
        await asyncio.sleep(seconds)
        return "slept"


class SyncSleepsCooperatively(Job):
    def run(self, seconds: float) -> str:
        if self.abort_signal.wait_sync(seconds):
            self.abort_signal.raise_if_aborted()
        return "slept"


class IgnoresAbort(Job):
    async def run(self, seconds: float) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                await asyncio.sleep(0.01)
            except asyncio.CancelledError:
                continue
        return "ignored"


class RaisesOnAbort(Job):
    async def run(self) -> None:
        reason = await self.abort_signal.wait()
        raise RuntimeError(f"stopping because {reason}")


class BadResult(Job):
    async def run(self) -> Any:
        return {1, 2}


class WithCtor(Job):
    def __init__(self, greeting: str) -> None:
        self.greeting = greeting

    async def run(self, name: str) -> str:
        return f"{self.greeting}, {name}"


class Chains(Job):
    """Enqueues a child job through the engine handed over in ``ENGINES``."""

    async def run(self, key: str) -> int:
        child = await ENGINES[key].build(Echo).enqueue("child")
        return child.id


class Metadata(Job):
    async def run(self, x: int) -> dict[str, Any]:
        self.logger.info("metadata for %s", x)
        return {
            "id": self.id,
            "attempt": self.attempt,
            "max_attempts": self.max_attempts,
            "queue": self.queue,
            "state": str(self.state),
            "args": list(self.args),
            "has_inserted_at": self.inserted_at is not None,
        }


ENGINES: dict[str, Any] = {}


class CpuBound(Job):
    """Burns CPU for ``seconds`` and reports when it ran (for overlap checks)."""

    def run(self, seconds: float) -> dict[str, float]:
        import os

        start = time.time()
        total = 0
        while time.time() - start < seconds:
            total += sum(range(1000))
        return {"start": start, "end": time.time(), "pid": os.getpid()}


class ExitsProcess(Job):
    def run(self) -> None:
        import os

        os._exit(3)


class CallsSysExit(Job):
    """Calls ``sys.exit`` (as a command-line tool's code reused in a job might)."""

    async def run(self, code: int) -> None:
        import sys

        sys.exit(code)


class CallsSysExitSync(Job):
    def run(self, code: int) -> None:
        import sys

        sys.exit(code)


class RaisesKeyboardInterruptSync(Job):
    def run(self) -> None:
        raise KeyboardInterrupt


class Segfaults(Job):
    def run(self) -> None:
        import ctypes

        ctypes.string_at(0)


class SleepsSync(Job):
    def run(self, seconds: float) -> str:
        time.sleep(seconds)
        return "woke"


class ReportsAbortInProcess(Job):
    """Waits for the abort signal inside the worker process, then returns what it saw."""

    def run(self, path: str) -> None:
        reason = self.abort_signal.wait_sync(30) and self.abort_signal.reason
        with open(path, "w") as handle:
            handle.write(type(reason).__name__)
        time.sleep(30)


class Pid(Job):
    def run(self) -> int:
        import os

        return os.getpid()


class CancelsItself(Job):
    async def run(self) -> str:
        assert self.id is not None
        await ENGINES["self"].jobs.cancel(self.id)
        return "returned after canceling itself"


class AbortedWithoutAwaiting(Job):
    """The abort's cancellation of this task is still pending when run() returns."""

    async def run(self) -> str:
        assert self.id is not None
        ENGINES["self"].abort_local(self.id)  # what a cancel does in this process, synchronously
        return "finished anyway"


class Tracked(Job):
    """Runs for ``seconds``; records the most runs seen at once (``peak``), the ids started
    and the ids whose run finished."""

    now = 0
    peak = 0
    started: list[int] = []
    ran: list[int] = []

    async def run(self, seconds: float = 0.0) -> None:
        assert self.record is not None
        Tracked.started.append(self.record.id)
        Tracked.now += 1
        Tracked.peak = max(Tracked.peak, Tracked.now)
        try:
            if seconds:
                await asyncio.sleep(seconds)
            else:
                await asyncio.sleep(0)
        finally:
            Tracked.now -= 1
        Tracked.ran.append(self.record.id)

    @classmethod
    def reset(cls) -> None:
        cls.now = cls.peak = 0
        cls.started = []
        cls.ran = []
