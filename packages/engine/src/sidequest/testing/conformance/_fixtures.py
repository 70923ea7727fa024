"""Helpers of the conformance suite: job fixtures built through real transitions, and checks."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import attrs

from sidequest._transitions import CANCEL, complete, fail, start
from sidequest.backend import Backend, ErrorRecord, JobRecord, JobState, NewJob, Transition

QUEUE = "default"
WORKER = "worker-a"
LEASE = 60.0
MS = timedelta(milliseconds=1)
TIME_FIELDS = (
    "inserted_at",
    "available_at",
    "attempted_at",
    "completed_at",
    "failed_at",
    "canceled_at",
    "claimed_at",
    "lease_expires_at",
)
JOB_FIELDS = tuple(f.name for f in attrs.fields(JobRecord))


def new_job(queue: str = QUEUE, job_class: str = "TestJob", **fields: Any) -> NewJob:
    """A job to enqueue; ``fields`` override any other ``NewJob`` attribute."""
    return NewJob(queue=queue, script="tests.jobs", job_class=job_class, **fields)


def an_error(message: str = "boom", *, attempt: int | None = 1, at: datetime | None = None) -> ErrorRecord:
    return ErrorRecord(type="ValueError", message=message, attempt=attempt, worker=WORKER, at=at)


async def enqueue_one(backend: Backend, queue: str = QUEUE, **fields: Any) -> JobRecord:
    (job,) = await backend.enqueue([new_job(queue, **fields)])
    return job


async def apply(backend: Backend, job_id: int, change: Transition) -> JobRecord:
    """Apply a transition that must succeed."""
    record = await backend.transition(job_id, change)
    assert record is not None, f"transition to {change.to_state} of job #{job_id} was refused"
    return record


async def claim_job(
    backend: Backend, job: JobRecord, *, worker: str = WORKER, lease: float = LEASE
) -> JobRecord:
    """Claim ``job``, which must be the oldest ready job of its queue."""
    claimed = await backend.claim(job.queue, 1, worker, lease)
    assert [c.id for c in claimed] == [job.id], f"expected to claim job #{job.id}, got {claimed}"
    return claimed[0]


async def make_job(
    backend: Backend,
    state: JobState,
    *,
    queue: str = QUEUE,
    result: Any = None,
    error: ErrorRecord | None = None,
    worker: str = WORKER,
    lease: float = LEASE,
    **fields: Any,
) -> JobRecord:
    """Enqueue a job and drive it to ``state`` with the transitions the engine sends.

    Jobs that must be claimed are made available a day ago, so that they are the oldest
    ready job of their queue.
    """
    needs_claim = state not in (JobState.WAITING, JobState.CANCELED)
    if needs_claim and "available_at" not in fields and "available_in" not in fields:
        fields["available_at"] = await backend.now() - timedelta(days=1)
    job = await enqueue_one(backend, queue, **fields)
    if state == JobState.WAITING:
        return job
    if state == JobState.CANCELED:
        return await apply(backend, job.id, CANCEL)
    job = await claim_job(backend, job, worker=worker, lease=lease)
    if state == JobState.CLAIMED:
        return job
    job = await apply(backend, job.id, start(job))
    if state == JobState.RUNNING:
        return job
    if state == JobState.COMPLETED:
        return await apply(backend, job.id, complete(job, result))
    return await apply(backend, job.id, fail(job, error or an_error()))


async def tick() -> None:
    """Let the database clock move on by a few milliseconds."""
    await asyncio.sleep(0.005)


def assert_utc_ms(moment: datetime | None, name: str = "datetime") -> None:
    """``moment`` is None or an aware UTC datetime with millisecond precision."""
    if moment is None:
        return
    assert moment.tzinfo is not None, f"{name} is naive: {moment!r}"
    assert moment.utcoffset() == timedelta(0), f"{name} is not UTC: {moment!r}"
    assert moment.microsecond % 1000 == 0, f"{name} is finer than milliseconds: {moment!r}"


def assert_times(job: JobRecord) -> None:
    """Every timestamp of ``job`` is aware UTC with millisecond precision."""
    for name in TIME_FIELDS:
        assert_utc_ms(getattr(job, name), name)


def assert_changed_only(before: JobRecord, after: JobRecord, *names: str) -> None:
    """Every field of ``after`` except ``names`` equals the one of ``before``."""
    unknown = set(names) - set(JOB_FIELDS)
    assert not unknown, f"not JobRecord fields: {unknown}"
    for name in JOB_FIELDS:
        if name not in names:
            assert getattr(after, name) == getattr(before, name), f"{name} changed"


def near(moment: datetime | None, expected: datetime, tolerance: float = 0.05) -> bool:
    """``moment`` is within ``tolerance`` seconds of ``expected``."""
    return moment is not None and abs((moment - expected).total_seconds()) <= tolerance


def typed(value: Any) -> Any:
    """``value`` with every scalar tagged by its type, so that ``1``, ``1.0`` and ``True`` differ."""
    if isinstance(value, dict):
        return ("dict", {key: typed(item) for key, item in value.items()})
    if isinstance(value, list | tuple):
        return ("list", [typed(item) for item in value])
    return (type(value).__name__, value)
