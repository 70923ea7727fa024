"""Records → bind parameters (the inverse of ``_rows``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sidequest.backend import (
    JobBatch,
    NewJob,
    QueueRecord,
    QueueState,
    ScheduleRecord,
    holds_forever,
    new_job_values,
)
from sidequest.backend import schedule_values as shared_schedule_values

from ._codec import dumps, ms


def insert_values(job: NewJob) -> list[Any]:
    """One job's 15 insert parameters (see ``_sql._INSERT_ONE``)."""
    return new_job_values(job, dumps=dumps, moment=ms, delay=float)


def insert_document(jobs: Sequence[NewJob]) -> str:
    """A batch as one JSON array of rows (see ``_sql._INSERT_SOURCE``), encoded in one call.

    Tuples and dicts go to the encoder as they are (it writes tuples as arrays).
    """
    return dumps(
        [
            [
                job.queue,
                job.script,
                job.job_class,
                job.args,
                job.kwargs if type(job.kwargs) is dict else dict(job.kwargs),
                job.constructor_args,
                job.max_attempts,
                None if job.available_at is None else ms(job.available_at).isoformat(),
                job.available_in or 0.0,
                job.timeout,
                job.unique_digest,
                None if job.uniqueness_config is None else dict(job.uniqueness_config),
                job.uniqueness_config is not None and holds_forever(job.uniqueness_config),
                job.retry_delay,
                job.backoff_strategy,
            ]
            for job in jobs
        ]
    )


_SHARED_POSITIONS = (0, 1, 2, 5, 6, 7, 8, 9, 11, 12, 13, 14)
"""The places in ``insert_values`` of everything but args (3), kwargs (4) and digest (10)."""


def shared_values(jobs: Sequence[NewJob]) -> list[Any] | None:
    """The 12 values every job of ``jobs`` shares (see ``_sql._INSERT_SHARED``), or None when
    any job differs from the first in anything but its payload and digest.

    Shared means the same objects, which is what a builder's ``enqueue_many`` hands over;
    equal values would not do (``1 == True`` and ``(1,) == (True,)`` in Python, not in JSON).
    A ``JobBatch`` (``enqueue_many``) shares its template's by construction, so its jobs are
    not read here: they are built as the parts are sent.
    """
    if isinstance(jobs, JobBatch):
        shared = jobs.template
    elif _all_share_with(jobs[0], jobs):
        shared = jobs[0]
    else:
        return None
    values = insert_values(shared)
    return [values[i] for i in _SHARED_POSITIONS]


def _all_share_with(first: NewJob, jobs: Sequence[NewJob]) -> bool:
    """Whether every job of ``jobs`` holds ``first``'s objects in every field but its payload
    and digest."""
    queue, script, job_class = first.queue, first.script, first.job_class
    constructor_args, max_attempts, timeout = first.constructor_args, first.max_attempts, first.timeout
    available_at, available_in = first.available_at, first.available_in
    config, retry_delay, backoff = first.uniqueness_config, first.retry_delay, first.backoff_strategy
    for job in jobs:
        if (
            job.queue is not queue
            or job.script is not script
            or job.job_class is not job_class
            or job.constructor_args is not constructor_args
            or job.max_attempts is not max_attempts
            or job.available_at is not available_at
            or job.available_in is not available_in
            or job.timeout is not timeout
            or job.uniqueness_config is not config
            or job.retry_delay is not retry_delay
            or job.backoff_strategy is not backoff
        ):
            return False
    return True


def shared_document(jobs: Sequence[NewJob]) -> str:
    """The rows of a shared batch as one JSON array of ``[args, kwargs, digest]``."""
    return dumps(
        [
            [job.args, job.kwargs if type(job.kwargs) is dict else dict(job.kwargs), job.unique_digest]
            for job in jobs
        ]
    )


def queue_values(queue: QueueRecord) -> tuple[str, int, int, str]:
    return queue.name, queue.concurrency, int(queue.priority), QueueState(queue.state).value


def schedule_values(s: ScheduleRecord) -> list[Any]:
    return shared_schedule_values(s, dumps=dumps, moment=ms)
