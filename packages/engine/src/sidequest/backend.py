"""Everything a backend author needs, in one public module.

A backend package exposes a pluggy hook implementation::

    from sidequest.backend import hookimpl

    @hookimpl
    def sidequest_register_backends(registry):
        registry.register("mydb", "my_package.backend:MyBackend")

and declares it under the ``sidequest`` entry-point group. Prove it with the conformance
suite in ``sidequest.testing``.
"""

from ._backend import Backend, CountEstimates, FastPathBackend, Subscribers, WakeupCallback
from ._backend_support import (
    MAX_LIST_LIMIT,
    QUEUE_ORDER_COLUMNS,
    WORKER_LOST,
    WORKER_LOST_MESSAGE,
    bucket_starts,
    check_concurrency,
    check_order,
    clamp_limit,
    decode_payload,
    id_direction,
    is_pattern,
    json_loads,
    latest_timestamp,
    like_matches,
    like_pattern,
    mask_url,
    new_job_values,
    parse_span,
    plausible_token,
    released_state,
    schedule_from_values,
    schedule_values,
    search_text,
    truncate_to,
    worker_lost_error,
)
from ._batches import JobBatch
from ._memory import MemoryBackend
from ._payload import dumps as json_dumps
from ._plugins import BackendRegistry, create_backend, hookimpl, hookspec, registry
from ._records import (
    ALIVE_STATES,
    FINISHED_STATES,
    HELD_STATES,
    ErrorRecord,
    JobCounts,
    JobFilter,
    JobRecord,
    JobState,
    NewJob,
    QueueRecord,
    QueueState,
    ScheduleRecord,
    ScheduleState,
    TimeBucket,
    Transition,
    make_job_record,
)
from ._uniqueness import holds_forever

__all__ = [
    "ALIVE_STATES",
    "FINISHED_STATES",
    "HELD_STATES",
    "MAX_LIST_LIMIT",
    "QUEUE_ORDER_COLUMNS",
    "WORKER_LOST",
    "WORKER_LOST_MESSAGE",
    "Backend",
    "BackendRegistry",
    "CountEstimates",
    "ErrorRecord",
    "FastPathBackend",
    "JobBatch",
    "JobCounts",
    "JobFilter",
    "JobRecord",
    "JobState",
    "MemoryBackend",
    "NewJob",
    "QueueRecord",
    "QueueState",
    "ScheduleRecord",
    "ScheduleState",
    "Subscribers",
    "TimeBucket",
    "Transition",
    "WakeupCallback",
    "bucket_starts",
    "check_concurrency",
    "check_order",
    "clamp_limit",
    "create_backend",
    "decode_payload",
    "holds_forever",
    "hookimpl",
    "hookspec",
    "id_direction",
    "is_pattern",
    "json_dumps",
    "json_loads",
    "latest_timestamp",
    "like_matches",
    "like_pattern",
    "make_job_record",
    "mask_url",
    "new_job_values",
    "parse_span",
    "plausible_token",
    "registry",
    "released_state",
    "schedule_from_values",
    "schedule_values",
    "search_text",
    "truncate_to",
    "worker_lost_error",
]
