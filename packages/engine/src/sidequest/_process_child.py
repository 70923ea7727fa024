"""The code a process-runner worker process runs: receive a job, run it, send the outcome back."""

from __future__ import annotations

import asyncio
import inspect
import queue
import sys
import threading
import traceback
from multiprocessing.connection import Connection
from typing import Any

from . import _payload
from ._abort import AbortSignal
from ._errors import InvalidPayloadError, JobAborted, JobCanceled, JobTimeout, WorkerShutdown
from ._records import JobRecord
from ._resolution import JobResolver
from ._results import Fail, Retry

REASONS: dict[str, type[JobAborted]] = {
    "timeout": JobTimeout,
    "canceled": JobCanceled,
    "shutdown": WorkerShutdown,
}


class RemoteError(Exception):
    """An exception raised by a job in a worker process, carried back as text."""

    def __init__(self, error_type: str, message: str, remote_traceback: str | None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.remote_traceback = remote_traceback

    def __reduce__(self) -> tuple[Any, ...]:
        return (RemoteError, (self.error_type, str(self), self.remote_traceback))


def describe(exc: BaseException) -> RemoteError:
    return RemoteError(type(exc).__qualname__, str(exc), "".join(traceback.format_exception(exc)))


class _Current:
    """The job running in this process, so the reader thread can abort it."""

    def __init__(self) -> None:
        self.signal: AbortSignal | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.task: asyncio.Task[Any] | None = None
        self.lock = threading.Lock()

    def abort(self, reason: JobAborted) -> None:
        with self.lock:
            if self.signal is not None:
                self.signal.abort(reason)
            if self.loop is not None and self.task is not None:
                self.loop.call_soon_threadsafe(self.task.cancel)


def main(conn: Connection, sys_path: list[str], max_payload_bytes: int) -> None:
    """Entry point of a worker process (spawned by ``ProcessPool``)."""
    for entry in reversed(sys_path):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    resolver = JobResolver()
    current = _Current()
    inbox: queue.Queue[Any] = queue.Queue()

    def read() -> None:
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                inbox.put(("stop",))
                return
            if message[0] == "abort":
                current.abort(REASONS.get(message[1], JobCanceled)())
            else:
                inbox.put(message)

    threading.Thread(target=read, name="sidequest-child-reader", daemon=True).start()
    while True:
        message = inbox.get()
        if message[0] != "run":
            return
        record: JobRecord = message[1]
        outcome = _run(resolver, current, record, max_payload_bytes)
        try:
            conn.send(outcome)
        except Exception as exc:  # an outcome that cannot be pickled
            conn.send(("error", describe(exc)))


def _run(resolver: JobResolver, current: _Current, record: JobRecord, limit: int) -> tuple[Any, ...]:
    try:
        job_class = resolver.resolve(record.script, record.job_class)
    except LookupError as exc:
        return ("lookup", str(exc))
    signal = AbortSignal()
    with current.lock:
        current.signal = signal
    try:
        job = job_class(*record.constructor_args)
        job._bind(record, signal)
        if inspect.iscoroutinefunction(job.run):
            value = asyncio.run(_run_async(current, job, record))
        else:
            value = job.run(*record.args, **record.kwargs)
    except BaseException as exc:
        return ("error", describe(exc))
    finally:
        with current.lock:
            current.signal = current.loop = current.task = None
    if isinstance(value, Fail | Retry) and isinstance(value.reason, BaseException):
        value = type(value)(describe(value.reason), *([value.delay] if isinstance(value, Retry) else []))
    if not isinstance(value, Fail | Retry) and type(value).__module__ != "sidequest._results":
        try:
            _payload.validate(value, "result", max_bytes=limit)
        except InvalidPayloadError as exc:
            return ("invalid", str(exc))
    return ("value", value)


async def _run_async(current: _Current, job: Any, record: JobRecord) -> Any:
    task = asyncio.ensure_future(job.run(*record.args, **record.kwargs))
    with current.lock:
        current.loop, current.task = asyncio.get_running_loop(), task
        aborted = current.signal is not None and current.signal.aborted
    if aborted:
        task.cancel()
    return await task
