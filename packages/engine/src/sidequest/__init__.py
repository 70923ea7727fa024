"""sidequest: background jobs kept in the database you already run.

Define ``class MyJob(Job)`` with a ``run`` method, create ``Sidequest(backend=...)``,
enqueue with ``await sq.build(MyJob).enqueue(...)`` and run a worker with
``sidequest worker myapp:sq``.
"""

from ._abort import AbortSignal
from ._backend import Backend
from ._builder import JobBuilder
from ._config import QueueConfig
from ._engine import Sidequest
from ._errors import (
    BackendNotFoundError,
    ConfigurationError,
    DuplicateJobError,
    InvalidPayloadError,
    InvalidStateError,
    JobAborted,
    JobCanceled,
    JobNotFoundError,
    JobTimeout,
    LeaseLostError,
    QueueNotFoundError,
    ScheduleNotFoundError,
    SidequestError,
    WorkerShutdown,
)
from ._functions import FunctionJob, JobContext
from ._job import Job
from ._records import (
    ErrorRecord,
    JobCounts,
    JobRecord,
    JobState,
    QueueRecord,
    QueueState,
    ScheduleRecord,
    ScheduleState,
    TimeBucket,
)
from ._results import Complete, Fail, Retry, Snooze
from ._schedules import Schedule
from ._stats import EngineStats

__version__ = "0.1.0"

__all__ = [
    "AbortSignal",
    "Backend",
    "BackendNotFoundError",
    "Complete",
    "ConfigurationError",
    "DuplicateJobError",
    "EngineStats",
    "ErrorRecord",
    "Fail",
    "FunctionJob",
    "InvalidPayloadError",
    "InvalidStateError",
    "Job",
    "JobAborted",
    "JobBuilder",
    "JobCanceled",
    "JobContext",
    "JobCounts",
    "JobNotFoundError",
    "JobRecord",
    "JobState",
    "JobTimeout",
    "LeaseLostError",
    "QueueConfig",
    "QueueNotFoundError",
    "QueueRecord",
    "QueueState",
    "Retry",
    "Schedule",
    "ScheduleNotFoundError",
    "ScheduleRecord",
    "ScheduleState",
    "Sidequest",
    "SidequestError",
    "Snooze",
    "TimeBucket",
    "WorkerShutdown",
    "__version__",
]
