"""Records → bind parameters (the inverse of ``_rows``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sidequest.backend import NewJob, QueueRecord, QueueState, ScheduleRecord, ScheduleState, holds_forever

from ._codec import dumps, ms, ms_or_none


def insert_columns(jobs: Sequence[NewJob]) -> list[Any]:
    """The 15 parallel arrays ``unnest`` turns back into rows (see ``_sql._INSERT_SOURCE``)."""
    columns: list[list[Any]] = [[] for _ in range(15)]
    (queue, script, job_class, args, kwargs, ctor, attempts, at, delay, timeout, digest, config, forever,
     retry_delay, backoff) = columns  # fmt: skip
    for job in jobs:
        queue.append(job.queue)
        script.append(job.script)
        job_class.append(job.job_class)
        args.append(dumps(list(job.args)) if job.args else "[]")
        kwargs.append(dumps(dict(job.kwargs)) if job.kwargs else "{}")
        ctor.append(dumps(list(job.constructor_args)) if job.constructor_args else "[]")
        attempts.append(job.max_attempts)
        at.append(None if job.available_at is None else ms(job.available_at))
        delay.append(float(job.available_in or 0.0))
        timeout.append(job.timeout)
        digest.append(job.unique_digest)
        config.append(None if job.uniqueness_config is None else dumps(dict(job.uniqueness_config)))
        forever.append(holds_forever(job.uniqueness_config))
        retry_delay.append(job.retry_delay)
        backoff.append(job.backoff_strategy)
    return list(columns)


def queue_values(queue: QueueRecord) -> tuple[str, int, int, str]:
    return queue.name, queue.concurrency, int(queue.priority), QueueState(queue.state).value


def schedule_values(s: ScheduleRecord) -> tuple[Any, ...]:
    return (
        s.name,
        s.cron,
        s.tz,
        s.queue,
        s.script,
        s.job_class,
        dumps(list(s.args)),
        dumps(dict(s.kwargs)),
        dumps(list(s.constructor_args)),
        s.max_attempts,
        s.timeout,
        s.retry_delay,
        s.backoff_strategy,
        s.catch_up,
        s.no_overlap,
        s.declared,
        ScheduleState(s.state).value,
        ms(s.next_fire_at),
        ms_or_none(s.last_fired_at),
        s.last_job_id,
    )
