"""Read-only records exchanged between the engine, the backends and users."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal, TypeVar

from attrs import Attribute, field, fields, frozen

from ._errors import ConfigurationError

JsonValue = Any
"""A value made only of dict (str keys), list, str, int, float, bool and None."""


class JobState(StrEnum):
    """Where a job is in its lifecycle."""

    WAITING = "waiting"
    CLAIMED = "claimed"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"


ALIVE_STATES = frozenset({JobState.WAITING, JobState.CLAIMED, JobState.RUNNING})
FINISHED_STATES = frozenset({JobState.COMPLETED, JobState.FAILED, JobState.CANCELED})
HELD_STATES = frozenset({JobState.CLAIMED, JobState.RUNNING})


class QueueState(StrEnum):
    """Whether a queue's jobs are claimed."""

    ACTIVE = "active"
    PAUSED = "paused"


BackoffStrategy = Literal["exponential", "fixed"]


@frozen
class ErrorRecord:
    """One attempt's error: what was raised or reported, by whom and when."""

    type: str
    message: str
    traceback: str | None = None
    attempt: int | None = None
    worker: str | None = None
    at: datetime | None = None

    def to_json(self) -> dict[str, JsonValue]:
        return {
            "type": self.type,
            "message": self.message,
            "traceback": self.traceback,
            "attempt": self.attempt,
            "worker": self.worker,
            "at": self.at.isoformat() if self.at else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, JsonValue]) -> ErrorRecord:
        at = data.get("at")
        return cls(
            type=str(data.get("type") or "Error"),
            message=str(data.get("message") or ""),
            traceback=data.get("traceback"),
            attempt=data.get("attempt"),
            worker=data.get("worker"),
            at=datetime.fromisoformat(at) if isinstance(at, str) else None,
        )


@frozen(kw_only=True, weakref_slot=False)  # no weakref slot: see ``positional_constructor``
class JobRecord:
    """A stored job, as read from the backend (immutable)."""

    id: int
    queue: str
    state: JobState
    script: str
    job_class: str
    args: tuple[JsonValue, ...] = ()
    kwargs: Mapping[str, JsonValue] = field(factory=dict)
    constructor_args: tuple[JsonValue, ...] = ()
    attempt: int = 0
    max_attempts: int = 5
    inserted_at: datetime
    available_at: datetime
    timeout: float | None = None
    result: JsonValue = None
    errors: tuple[ErrorRecord, ...] = ()
    attempted_at: datetime | None = None
    completed_at: datetime | None = None
    failed_at: datetime | None = None
    canceled_at: datetime | None = None
    claimed_at: datetime | None = None
    claimed_by: str | None = None
    unique_digest: str | None = None
    uniqueness_config: Mapping[str, JsonValue] | None = None
    retry_delay: float | None = None
    backoff_strategy: BackoffStrategy = "exponential"
    lease_token: str | None = None
    lease_expires_at: datetime | None = None
    decode_error: str | None = None
    """Set by the backend when the stored payload could not be decoded (the job fails when run)."""

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STATES

    @property
    def finished_at(self) -> datetime | None:
        return self.completed_at or self.failed_at or self.canceled_at


@frozen(kw_only=True, weakref_slot=False)  # no weakref slot: see ``positional_constructor``
class NewJob:
    """A job to insert. The backend fills id, state ``waiting``, attempt 0 and ``inserted_at``."""

    queue: str
    script: str
    job_class: str
    args: tuple[JsonValue, ...] = ()
    kwargs: Mapping[str, JsonValue] = field(factory=dict)
    constructor_args: tuple[JsonValue, ...] = ()
    max_attempts: int = 5
    available_at: datetime | None = None
    """When None: the database's current time plus ``available_in``."""
    available_in: float = 0.0
    timeout: float | None = None
    unique_digest: str | None = None
    uniqueness_config: Mapping[str, JsonValue] | None = None
    retry_delay: float | None = None
    backoff_strategy: BackoffStrategy = "exponential"

    def inserted(self, job_id: int, inserted_at: datetime, available_at: datetime) -> JobRecord:
        """This job's record as just inserted (a backend reads back only what the database chose)."""
        return make_job_record(
            job_id,
            self.queue,
            JobState.WAITING,
            self.script,
            self.job_class,
            self.args,
            self.kwargs,
            self.constructor_args,
            0,  # attempt
            self.max_attempts,
            inserted_at,
            available_at,
            self.timeout,
            None,  # result
            (),  # errors
            None,  # attempted_at
            None,  # completed_at
            None,  # failed_at
            None,  # canceled_at
            None,  # claimed_at
            None,  # claimed_by
            self.unique_digest,
            self.uniqueness_config,
            self.retry_delay,
            self.backoff_strategy,
            None,  # lease_token
            None,  # lease_expires_at
            None,  # decode_error
        )


Record = TypeVar("Record")


def positional_constructor(cls: type[Record]) -> Callable[..., Record]:
    """A constructor of the frozen, slotted attrs class ``cls`` that takes every field
    positionally, in declaration order, with no defaults, converters or validators.

    For hot paths that build many records (claims, batch inserts). A frozen class refuses
    plain attribute stores, so attrs (and a call of each slot's setter) pay a function call
    per field: 2–3 µs for a 28-field record. Here the fields are stored on an instance of a
    mutable twin with the same slots (a specialised store each), which then becomes a
    ``cls``: Python allows ``__class__`` assignment between classes of the same layout.
    The twin and ``cls`` must add exactly the same slots to ``object``, so ``cls`` is
    declared without a weakref slot (CPython's layout check does not count one). The
    layout is checked here, once: a class that does not fit fails at import.
    """
    names = [attribute.name for attribute in fields(cls)]  # type: ignore[arg-type]
    twin = type(f"_Mutable{cls.__name__}", (), {"__slots__": tuple(names)})
    scope: dict[str, Any] = {
        "_new": object.__new__,
        "_twin": twin,
        "_retype": object.__setattr__,
        "_cls": cls,
    }
    stores = "".join(f"    record.{name} = {name}\n" for name in names)
    source = (
        f"def make({', '.join(names)}):\n    record = _new(_twin)\n{stores}"
        "    _retype(record, '__class__', _cls)\n    return record\n"
    )
    exec(source, scope)  # generated from the class's own field names
    make: Callable[..., Record] = scope["make"]
    make.__qualname__ = make.__name__ = f"make_{cls.__name__}"
    try:
        make(*names)
    except TypeError as exc:
        raise TypeError(f"{cls.__qualname__} cannot have a positional constructor: {exc}") from None
    return make


make_job_record: Callable[..., JobRecord] = positional_constructor(JobRecord)
"""``JobRecord`` from all 28 fields in declaration order (``id, queue, state, … decode_error``)."""
make_new_job: Callable[..., NewJob] = positional_constructor(NewJob)
"""``NewJob`` from all 14 fields in declaration order (``queue, script, … backoff_strategy``)."""


@frozen(kw_only=True)
class QueueRecord:
    """A stored queue's configuration."""

    name: str
    concurrency: int = 10
    priority: int = 0
    state: QueueState = QueueState.ACTIVE


@frozen(kw_only=True)
class JobCounts:
    """Number of jobs per state."""

    waiting: int = 0
    claimed: int = 0
    running: int = 0
    completed: int = 0
    failed: int = 0
    canceled: int = 0
    estimated: frozenset[str] = frozenset()
    """States whose figure is an estimate from table statistics (see ``sq.jobs.count(exact=False)``)."""

    @property
    def total(self) -> int:
        return self.waiting + self.claimed + self.running + self.completed + self.failed + self.canceled

    def as_dict(self) -> dict[str, int]:
        return {state.value: getattr(self, state.value) for state in JobState} | {"total": self.total}

    @classmethod
    def from_pairs(cls, pairs: Mapping[str, int], estimated: Iterable[str] = ()) -> JobCounts:
        """Build counts from ``{state: n}``, ignoring unknown keys; ``estimated`` names estimates."""
        known = {state.value for state in JobState}
        return cls(
            **{k: int(v) for k, v in pairs.items() if k in known},
            estimated=frozenset(known.intersection(estimated)),
        )


@frozen(kw_only=True)
class TimeBucket:
    """Job counts for one bucket of time (``at`` is the bucket start, UTC)."""

    at: datetime
    counts: JobCounts


Stamp = Literal["attempted_at", "completed_at", "failed_at", "canceled_at"]


@frozen(kw_only=True)
class Transition:
    """One fenced state change, applied by the backend as a single atomic statement.

    The write applies only when the job's state is in ``from_states`` and, when
    ``lease_token`` is given, the stored lease token equals it. The backend returns
    ``None`` when nothing matched (fencing), and never writes partially.
    """

    from_states: frozenset[JobState]
    to_state: JobState
    lease_token: str | None = None
    attempt_delta: int = 0
    stamp: Stamp | None = None
    """The timestamp column set to the database's ``now``."""
    available_in: float | None = None
    """When set, ``available_at = now + available_in`` seconds."""
    set_result: bool = False
    result: JsonValue = None
    error: ErrorRecord | None = None
    """Appended to ``errors``."""
    clear_lease: bool = False
    """Set ``lease_token`` and ``lease_expires_at`` to NULL (the job leaves claimed/running)."""
    rerun: bool = False
    """Clear result and finished timestamps; raise ``max_attempts`` to ``attempt + 1`` if exhausted."""


TimeField = Literal["inserted_at", "attempted_at", "available_at", "finished_at"]
ListOrder = Literal["newest", "oldest"]
LIST_ORDERS: tuple[ListOrder, ...] = ("newest", "oldest")


def check_list_order(order: object) -> ListOrder:
    """``order`` if it is ``"newest"`` or ``"oldest"``; anything else raises ``ConfigurationError``."""
    for known in LIST_ORDERS:
        if order == known:
            return known
    raise ConfigurationError(f"cannot order jobs by {order!r}; use 'newest' (id descending) or 'oldest'")


def _valid_order(_instance: object, _attribute: Attribute[str], value: object) -> None:
    check_list_order(value)


@frozen(kw_only=True)
class JobFilter:
    """Which jobs to list: every given criterion must hold (AND).

    Text values containing ``%`` are SQL ``LIKE`` patterns (``%`` matches any run of
    characters; ``_`` is literal); other values match exactly. Results are ordered by
    id, newest first (``order="oldest"``: ascending). Keyset pagination: ``before_id``
    keeps ids below it, ``after_id`` ids above it; together they make an id window.
    """

    states: tuple[str, ...] = ()
    queues: tuple[str, ...] = ()
    job_classes: tuple[str, ...] = ()
    ids: tuple[int, ...] = ()
    args: tuple[JsonValue, ...] | None = None
    """Exact match of the positional arguments."""
    search: str | None = None
    """Case-insensitive substring of the JSON text of args and kwargs."""
    time_field: TimeField = "attempted_at"
    since: datetime | None = None
    until: datetime | None = None
    before_id: int | None = None
    """Only jobs with an id strictly below this one."""
    after_id: int | None = None
    """Only jobs with an id strictly above this one."""
    order: ListOrder = field(default="newest", validator=_valid_order)
    """``"newest"`` (id descending) or ``"oldest"`` (id ascending); applied before offset and limit."""
    offset: int = 0
    limit: int = 50


CatchUp = Literal["latest", "all", "none"]


class ScheduleState(StrEnum):
    """Whether a schedule fires: ``disabled`` marks a declared schedule removed from the config."""

    ACTIVE = "active"
    PAUSED = "paused"
    DISABLED = "disabled"


@frozen(kw_only=True)
class ScheduleRecord:
    """A recurring job stored in the database: what to enqueue, when, and what happened last."""

    name: str
    cron: str
    tz: str = "UTC"
    queue: str = "default"
    script: str
    job_class: str
    args: tuple[JsonValue, ...] = ()
    kwargs: Mapping[str, JsonValue] = field(factory=dict)
    constructor_args: tuple[JsonValue, ...] = ()
    max_attempts: int = 5
    timeout: float | None = None
    retry_delay: float | None = 1.0
    backoff_strategy: BackoffStrategy = "exponential"
    catch_up: CatchUp = "latest"
    no_overlap: bool = False
    declared: bool = False
    """True for schedules from ``Sidequest(schedules=[...])`` (reconciled at start)."""
    state: ScheduleState = ScheduleState.ACTIVE
    next_fire_at: datetime
    last_fired_at: datetime | None = None
    last_job_id: int | None = None
