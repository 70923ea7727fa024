"""Runs one claimed job and records its outcome with a fenced transition."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import logging
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from attrs import define, frozen

from . import _payload
from . import _transitions as transitions
from ._abort import AbortSignal
from ._durations import utcnow
from ._errors import (
    InvalidPayloadError,
    JobAborted,
    JobCanceled,
    JobTimeout,
    WorkerShutdown,
)
from ._job import Job
from ._process_pool import InvalidResultError, UnknownJobClassError
from ._records import ErrorRecord, JobRecord, JobState, Transition
from ._results import Complete, Fail, Retry, Snooze
from ._threads import run_in_thread

if TYPE_CHECKING:
    from ._engine import Sidequest

log = logging.getLogger("sidequest")
_RUNNING = JobState.RUNNING


@define
class Execution:
    """A job this engine process holds (claimed or running)."""

    record: JobRecord
    signal: AbortSignal
    task: asyncio.Task[None] | None = None
    on_ran: Callable[[Execution], None] | None = None
    """Called once ``run()`` is over (the slot frees while the outcome is being written)."""
    on_settled: Callable[[Execution], None] | None = None
    """Called once the outcome is written (or given up): the process no longer holds the job."""
    in_run: bool = False
    """True while ``task`` awaits the job's ``run()``: the only time an abort cancels it."""
    abort_cancels: int = 0
    """Cancellations of ``task`` requested by ``abort`` (told apart from anyone else's)."""
    spawned_at: float = 0.0
    """``time.monotonic()`` when its task was created (its run time is measured from it)."""
    leased_at: float = 0.0
    """``time.monotonic()`` when the claim that took it was sent: its lease runs from no earlier."""

    def ran(self) -> None:
        callback, self.on_ran = self.on_ran, None
        if callback is not None:
            callback(self)

    def settled(self) -> None:
        callback, self.on_settled = self.on_settled, None
        if callback is not None:
            callback(self)

    def abort(self, reason: JobAborted) -> None:
        """Signal the job and stop awaiting it (async jobs are cancelled at their next await).

        Outside ``run()`` (starting, or writing the outcome) nothing is cancelled: the
        signal alone decides what gets written.
        """
        self.signal.abort(reason)
        task = self.task
        if self.in_run and task is not None and not task.done() and self.abort_cancels == 0:
            self.abort_cancels += 1
            task.cancel()


@frozen
class Succeeded:
    """``run()`` returned normally: the job completes with ``result`` (written in a batch
    shared with other jobs where the backend can, else as a ``complete`` transition)."""

    result: Any


_SUCCEEDED_WITHOUT_RESULT = Succeeded(None)
Outcome = Transition | Succeeded | None
"""What a run comes to: a completion, another fenced change, or nothing to write (None)."""


class Executor:
    """Turns a claimed record into a run and the run into exactly one state write."""

    def __init__(self, engine: Sidequest) -> None:
        self._engine = engine
        self._async_run: dict[type[Job], bool] = {}
        """Per job class: whether ``run`` is a coroutine function (asked once, not per job)."""

    async def execute(self, execution: Execution) -> bool:
        """Start, run and record the job. Returns True while its completion is still being
        written (in a batch shared with other jobs: ``execution.settled()`` follows), False
        when the outcome is settled."""
        engine = self._engine
        claimed = execution.record
        if claimed.state != _RUNNING:  # claimed by ``claim``: start it
            started = await engine.backend.transition(claimed.id, transitions.start(claimed))
            if started is None:
                engine.stats.stale_writes_rejected += 1
                log.warning("job #%s: lost its claim before starting; not run", claimed.id)
                return False
            execution.record = started
        if execution.signal.aborted:  # shutdown or cancel arrived between claim and start
            return await self._finish(execution, self._aborted_outcome(execution, None))
        outcome = await self._run(execution)
        execution.ran()
        if type(outcome) is Succeeded and self._batched(execution, outcome):
            return True
        return await self._finish(execution, outcome)

    async def _run(self, execution: Execution) -> Outcome:
        record = execution.record
        if record.decode_error:
            return transitions.fail(record, self._error(record, "UndecodablePayload", record.decode_error))
        try:
            job_class = self._engine.resolver.resolve(record.script, record.job_class)
        except LookupError as exc:
            return transitions.fail(record, self._error(record, "UnknownJobClass", str(exc)))
        timer = None
        if record.timeout:
            timer = asyncio.get_running_loop().call_later(
                record.timeout, execution.abort, JobTimeout(record.timeout)
            )
        execution.in_run = True
        in_thread = False
        try:
            if self._engine.runner_for(record.queue) == "process":
                value = await self._engine.process_pool.run(record, execution.signal)
            else:
                job = job_class(*record.constructor_args)
                job._bind(record, execution.signal)
                is_async = self._async_run.get(job_class)
                if is_async is None:
                    is_async = self._async_run[job_class] = inspect.iscoroutinefunction(job.run)
                if is_async:
                    value = await job.run(*record.args, **record.kwargs)
                else:
                    in_thread = True
                    value = await _run_in_thread(job, record)
        except asyncio.CancelledError:
            if not _only_aborted(execution):
                raise  # the task itself is being cancelled (engine shutdown): not an outcome
            return self._aborted_outcome(execution, None)
        except (UnknownJobClassError, InvalidResultError) as exc:
            kind = "UnknownJobClass" if isinstance(exc, UnknownJobClassError) else "InvalidResult"
            return transitions.fail(record, self._error(record, kind, str(exc)))
        except (Exception, SystemExit, KeyboardInterrupt) as exc:
            # ``sys.exit()`` in a job fails that job, not the worker; so does a KeyboardInterrupt
            # raised on a job's thread (no signal lands there). One raised in this thread is a
            # Ctrl-C reaching an event loop that has no handler for it: the worker's to handle.
            if isinstance(exc, KeyboardInterrupt) and not in_thread:
                raise
            if execution.signal.aborted:
                return self._aborted_outcome(execution, exc)
            return transitions.retry(record, self._exception_error(record, exc), None)
        finally:
            execution.in_run = False
            if timer is not None:
                timer.cancel()
        if execution.abort_cancels:  # run() returned although an abort cancelled it: keep its value
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(0)  # an abort's cancellation not delivered yet lands here, not later
            if not _only_aborted(execution):
                raise asyncio.CancelledError
        return self._value_outcome(record, value)

    def _value_outcome(self, record: JobRecord, value: Any) -> Transition | Succeeded:
        if value is None:
            return _SUCCEEDED_WITHOUT_RESULT
        if isinstance(value, Fail):
            return transitions.fail(record, self._reason_error(record, value.reason, "Fail"))
        if isinstance(value, Retry):
            return transitions.retry(record, self._reason_error(record, value.reason, "Retry"), value.delay)
        if isinstance(value, Snooze):
            return transitions.snooze_running(record, value.delay)
        result = value.result if isinstance(value, Complete) else value
        try:
            if result is not None:
                _payload.validate(result, "result", max_bytes=self._engine.max_payload_bytes)
        except InvalidPayloadError as exc:
            return transitions.fail(
                record, self._error(record, "InvalidResult", f"the job's result cannot be stored: {exc}")
            )
        return Succeeded(result)

    def _aborted_outcome(self, execution: Execution, exc: BaseException | None) -> Transition | None:
        record = execution.record
        reason = execution.signal.reason
        if isinstance(reason, JobTimeout):
            return transitions.retry(record, self._exception_error(record, exc or reason), None)
        if isinstance(reason, WorkerShutdown):
            return transitions.release(record)
        return None  # canceled or lease lost: the stored state already says what happened

    async def _finish(self, execution: Execution, change: Outcome) -> bool:
        """Write the outcome: a completion joins the next batch (True: the job's task ends
        while the write is in flight); anything else is written here (False)."""
        engine = self._engine
        record = execution.record
        if isinstance(change, Succeeded):
            if self._batched(execution, change):
                return True
            change = transitions.complete(record, change.result)
        if change is None:
            reason = execution.signal.reason
            if isinstance(reason, JobCanceled):
                log.info("job #%s (%s) canceled while running", record.id, record.job_class)
            else:
                engine.stats.stale_writes_rejected += 1
                log.warning("job #%s: lease lost while running; outcome not recorded", record.id)
            return False
        try:
            outcome = await asyncio.shield(engine.backend.transition(record.id, change))
        except Exception:
            log.exception("job #%s: could not record its outcome; its lease will expire", record.id)
            return False
        if outcome is None:
            engine.stats.stale_writes_rejected += 1
            log.warning(
                "job #%s: outcome %s rejected (the job was canceled or its lease lost)",
                record.id,
                change.to_state,
            )
            return False
        execution.record = outcome
        self._count(change, outcome)
        return False

    def _batched(self, execution: Execution, success: Succeeded) -> bool:
        """Hand a completion to the shared batch, when there is one (True)."""
        batcher = self._engine.completion_batcher
        record = execution.record
        if batcher is None or not record.lease_token:
            return False
        written = functools.partial(self._completion_written, execution)
        batcher.submit(record.id, record.lease_token, success.result, written)
        return True

    def _completion_written(self, execution: Execution, outcome: bool | Exception) -> None:
        """Count (or report) a batched completion once its write is over; the job is settled."""
        job_id = execution.record.id
        stats = self._engine.stats
        if isinstance(outcome, Exception):
            log.error(
                "job #%s: could not record its completion; its lease will expire",
                job_id,
                exc_info=outcome,
            )
        elif outcome:
            stats.completed += 1
        else:
            stats.stale_writes_rejected += 1
            log.warning("job #%s: completion rejected (the job was canceled or its lease lost)", job_id)
        execution.settled()

    def _count(self, change: Transition, written: JobRecord) -> None:
        stats = self._engine.stats
        if written.state == "completed":
            stats.completed += 1
        elif written.state == "failed":
            stats.failed += 1
        elif change.error is not None:
            stats.retried += 1
        elif change.attempt_delta < 0 and change.available_in == 0.0:
            stats.released += 1
        else:
            stats.snoozed += 1

    # errors -----------------------------------------------------------------------------
    def _error(self, record: JobRecord, kind: str, message: str, tb: str | None = None) -> ErrorRecord:
        return ErrorRecord(
            type=kind,
            message=message,
            traceback=tb,
            attempt=record.attempt,
            worker=self._engine.worker_id,
            at=utcnow(),
        )

    def _exception_error(self, record: JobRecord, exc: BaseException | None) -> ErrorRecord:
        if exc is None:
            return self._error(record, "Error", "")
        kind = getattr(exc, "error_type", None) or type(exc).__qualname__
        tb = getattr(exc, "remote_traceback", None) or "".join(traceback.format_exception(exc))
        return self._error(record, kind, str(exc), tb)

    def _reason_error(self, record: JobRecord, reason: str | BaseException, kind: str) -> ErrorRecord:
        if isinstance(reason, BaseException):
            return self._exception_error(record, reason)
        return self._error(record, kind, str(reason))


def _only_aborted(execution: Execution) -> bool:
    """Whether every pending cancellation of the current task came from ``abort`` (then withdrawn)."""
    current = asyncio.current_task()
    requested = execution.abort_cancels
    if current is None or not execution.signal.aborted or current.cancelling() > requested:
        return False
    for _ in range(requested):
        current.uncancel()
    execution.abort_cancels = 0
    return True


async def _run_in_thread(job: Job, record: JobRecord) -> Any:
    """A synchronous ``run()`` on a thread of its own (its result awaited if it returns an awaitable)."""
    result = await run_in_thread(lambda: job.run(*record.args, **record.kwargs), f"sidequest-job-{record.id}")
    if inspect.isawaitable(result):
        return await result
    return result
