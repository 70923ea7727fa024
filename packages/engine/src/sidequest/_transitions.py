"""The state machine: each function builds the fenced ``Transition`` for one move."""

from __future__ import annotations

import random

from ._records import (
    FINISHED_STATES,
    HELD_STATES,
    ErrorRecord,
    JobRecord,
    JobState,
    JsonValue,
    Transition,
)

MAX_BACKOFF = 3600.0
DEFAULT_RETRY_DELAY = 1.0

_RUNNING = frozenset({JobState.RUNNING})


def backoff_delay(job: JobRecord, rng: random.Random | None = None) -> float:
    """Delay before the next attempt: ``base·2^(attempt−1)·jitter[0.5,1.5)`` capped at 1 h, or ``base``."""
    base = DEFAULT_RETRY_DELAY if job.retry_delay is None else job.retry_delay
    if job.backoff_strategy == "fixed":
        return base
    jitter = (rng or random).random() + 0.5
    return float(min(base * 2 ** (max(job.attempt, 1) - 1) * jitter, MAX_BACKOFF))


def start(job: JobRecord) -> Transition:
    """claimed → running; the attempt counter goes up by one."""
    return Transition(
        from_states=frozenset({JobState.CLAIMED}),
        to_state=JobState.RUNNING,
        lease_token=job.lease_token,
        attempt_delta=1,
        stamp="attempted_at",
    )


def complete(job: JobRecord, result: JsonValue) -> Transition:
    return Transition(
        from_states=_RUNNING,
        to_state=JobState.COMPLETED,
        lease_token=job.lease_token,
        stamp="completed_at",
        set_result=True,
        result=result,
        clear_lease=True,
    )


def fail(job: JobRecord, error: ErrorRecord) -> Transition:
    return Transition(
        from_states=_RUNNING,
        to_state=JobState.FAILED,
        lease_token=job.lease_token,
        stamp="failed_at",
        error=error,
        clear_lease=True,
    )


def retry(job: JobRecord, error: ErrorRecord, delay: float | None) -> Transition:
    """Back to waiting after ``delay`` (exact) or backoff — or failed when attempts are used up."""
    if job.attempt >= job.max_attempts:
        return fail(job, error)
    return Transition(
        from_states=_RUNNING,
        to_state=JobState.WAITING,
        lease_token=job.lease_token,
        available_in=backoff_delay(job) if delay is None else delay,
        error=error,
        clear_lease=True,
    )


def snooze_running(job: JobRecord, delay: float) -> Transition:
    """The job snoozes itself: back to waiting, and this run does not count as an attempt."""
    return Transition(
        from_states=_RUNNING,
        to_state=JobState.WAITING,
        lease_token=job.lease_token,
        attempt_delta=-1,
        available_in=delay,
        clear_lease=True,
    )


def release(job: JobRecord) -> Transition:
    """Give a claimed or running job back (shutdown): waiting now, attempt not consumed."""
    return Transition(
        from_states=frozenset({job.state}) & HELD_STATES,
        to_state=JobState.WAITING,
        lease_token=job.lease_token,
        attempt_delta=-1 if job.state == JobState.RUNNING else 0,
        available_in=0.0,
        clear_lease=True,
    )


# operations (no lease: these are user actions) -------------------------------------------
CANCEL = Transition(
    from_states=frozenset({JobState.WAITING, JobState.CLAIMED, JobState.RUNNING}),
    to_state=JobState.CANCELED,
    stamp="canceled_at",
    clear_lease=True,
)
RERUN = Transition(
    from_states=FINISHED_STATES,
    to_state=JobState.WAITING,
    available_in=0.0,
    rerun=True,
)
RUN_NOW = Transition(
    from_states=frozenset({JobState.WAITING}),
    to_state=JobState.WAITING,
    available_in=0.0,
)


def snooze_waiting(delay: float) -> Transition:
    return Transition(
        from_states=frozenset({JobState.WAITING}), to_state=JobState.WAITING, available_in=delay
    )
