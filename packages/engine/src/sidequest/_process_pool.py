"""The process runner: jobs run in a pool of worker processes that can crash or be killed alone."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import signal as signals
import sys
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from . import _process_child
from ._abort import AbortSignal
from ._errors import JobTimeout, SidequestError, WorkerShutdown
from ._records import JobRecord

log = logging.getLogger("sidequest")
_CONTEXT = multiprocessing.get_context("spawn")


class WorkerProcessDied(SidequestError):
    """The worker process running the job died (crash, os._exit, out of memory, killed)."""

    error_type = "worker_lost"

    def __init__(self, exitcode: int | None) -> None:
        if exitcode is not None and exitcode < 0:
            how = f"killed by {signals.Signals(-exitcode).name}"
        else:
            how = f"exit code {exitcode}"
        super().__init__(f"the worker process running this job died ({how})")
        self.exitcode = exitcode


class UnknownJobClassError(SidequestError):
    """The worker process could not import the job's class."""


class InvalidResultError(SidequestError):
    """The job's result is not exact JSON and cannot be stored."""


class _Worker:
    def __init__(self, max_payload_bytes: int) -> None:
        parent, child = _CONTEXT.Pipe()
        self.conn: Connection = parent
        self.process: BaseProcess = _CONTEXT.Process(
            target=_process_child.main,
            args=(child, list(sys.path), max_payload_bytes),
            name="sidequest-process-worker",
            daemon=True,
        )
        self.process.start()
        child.close()
        self.jobs_run = 0

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self.conn.close()

    def stop(self) -> None:
        try:
            self.conn.send(("stop",))
        except OSError:
            pass
        self.process.join(2)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)
        self.conn.close()


class ProcessPool:
    """Up to ``size`` worker processes, replaced when they die or after ``max_jobs_per_process``."""

    def __init__(
        self,
        size: int,
        *,
        max_jobs_per_process: int | None,
        abort_grace_period: float,
        max_payload_bytes: int,
    ) -> None:
        self.size = size
        self.max_jobs_per_process = max_jobs_per_process
        self.abort_grace_period = abort_grace_period
        self.max_payload_bytes = max_payload_bytes
        self._idle: list[_Worker] = []
        self._slots = asyncio.Semaphore(size)
        self.replaced = 0

    async def run(self, record: JobRecord, signal: AbortSignal) -> Any:
        """Run ``record`` in a worker process and return its value (or raise its error)."""
        async with self._slots:
            worker = (
                self._idle.pop() if self._idle else await asyncio.to_thread(_Worker, self.max_payload_bytes)
            )
            keep = False
            try:
                keep, value = await self._exchange(worker, record, signal)
                return value
            finally:
                worker.jobs_run += 1
                if keep and (
                    self.max_jobs_per_process is None or worker.jobs_run < self.max_jobs_per_process
                ):
                    self._idle.append(worker)
                else:
                    if keep:
                        await asyncio.to_thread(worker.stop)
                    self.replaced += 1

    async def _exchange(self, worker: _Worker, record: JobRecord, signal: AbortSignal) -> tuple[bool, Any]:
        worker.conn.send(("run", record))
        reply = asyncio.ensure_future(asyncio.to_thread(_receive, worker.conn))
        try:
            message = await asyncio.shield(reply)
        except asyncio.CancelledError:
            await asyncio.shield(self._abort(worker, reply, signal))
            raise
        if message is None:
            await asyncio.to_thread(worker.process.join, 5)
            worker.conn.close()
            raise WorkerProcessDied(worker.process.exitcode)
        kind, payload = message[0], message[1]
        if kind == "value":
            return True, payload
        if kind == "error":
            raise payload
        if kind == "invalid":
            raise InvalidResultError(f"the job's result cannot be stored: {payload}")
        raise UnknownJobClassError(payload)

    async def _abort(self, worker: _Worker, reply: asyncio.Future[Any], signal: AbortSignal) -> None:
        reason = signal.reason
        kind = "timeout" if isinstance(reason, JobTimeout) else "canceled"
        if isinstance(reason, WorkerShutdown):
            kind = "shutdown"
        if self.abort_grace_period > 0:
            try:
                worker.conn.send(("abort", kind))
                await asyncio.wait_for(asyncio.shield(reply), self.abort_grace_period)
            except (TimeoutError, OSError, asyncio.CancelledError):
                pass
        await asyncio.to_thread(worker.kill)
        await asyncio.gather(reply, return_exceptions=True)
        log.info("worker process %s stopped (%s)", worker.process.pid, kind)

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for worker in idle:
            await asyncio.to_thread(worker.stop)


def _receive(conn: Connection) -> Any:
    try:
        return conn.recv()
    except (EOFError, OSError):
        return None
