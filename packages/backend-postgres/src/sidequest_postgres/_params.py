"""Records → bind parameters (the inverse of ``_rows``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sidequest.backend import NewJob, QueueRecord, QueueState, ScheduleRecord, holds_forever, new_job_values
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


def queue_values(queue: QueueRecord) -> tuple[str, int, int, str]:
    return queue.name, queue.concurrency, int(queue.priority), QueueState(queue.state).value


def schedule_values(s: ScheduleRecord) -> list[Any]:
    return shared_schedule_values(s, dumps=dumps, moment=ms)
