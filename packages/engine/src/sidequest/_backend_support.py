"""Helpers shared by backend implementations (re-exported by ``sidequest.backend``)."""

from __future__ import annotations

import json
import json.scanner
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ._errors import ConfigurationError
from ._records import (
    ErrorRecord,
    JobRecord,
    JobState,
    NewJob,
    ScheduleRecord,
    ScheduleState,
    check_list_order,
)
from ._uniqueness import holds_forever

WORKER_LOST = "worker_lost"
"""The error type recorded when a running job's lease expired (its worker died or stalled)."""
WORKER_LOST_MESSAGE = "the worker running this job stopped renewing its lease (crashed, killed or stalled)"
QUEUE_ORDER_COLUMNS = frozenset({"name", "priority", "concurrency", "state"})
MAX_LIST_LIMIT = 1000
_SPAN = re.compile(r"^(\d+)([mhd])$")
_UNITS = {"m": ("minute", 60), "h": ("hour", 3600), "d": ("day", 86400)}


def check_concurrency(concurrency: int) -> None:
    """Refuse a queue concurrency below 1."""
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ConfigurationError("Concurrency must be at least 1")


def check_order(order_by: str) -> None:
    """Refuse a queue sort column outside the allow-list."""
    if order_by not in QUEUE_ORDER_COLUMNS:
        allowed = ", ".join(sorted(QUEUE_ORDER_COLUMNS))
        raise ConfigurationError(f"cannot order queues by {order_by!r}; use one of {allowed}")


def id_direction(order: str) -> str:
    """SQL direction of a job list's ``order``: ``"DESC"`` (newest first) or ``"ASC"`` (oldest first).

    Anything but ``"newest"``/``"oldest"`` raises ``ConfigurationError``, so the result is
    always one of the two keywords (safe to put in SQL text).
    """
    return "ASC" if check_list_order(order) == "oldest" else "DESC"


def clamp_limit(limit: int) -> int:
    """A list page holds 1 to 1,000 jobs."""
    return max(1, min(int(limit), MAX_LIST_LIMIT))


def parse_span(span: str) -> tuple[int, str, int]:
    """``"12m"`` → ``(12, "minute", 60)``; anything else raises ``ConfigurationError``."""
    match = _SPAN.match(span or "")
    if not match or int(match.group(1)) < 1:
        raise ConfigurationError(
            f"Invalid time range format {span!r}. Use format like '12m', '12h', or '12d'"
        )
    unit, seconds = _UNITS[match.group(2)]
    return int(match.group(1)), unit, seconds


def truncate_to(moment: datetime, unit: str) -> datetime:
    """Start of the UTC minute/hour/day holding ``moment``."""
    t = moment.astimezone(UTC).replace(second=0, microsecond=0)
    if unit in ("hour", "day"):
        t = t.replace(minute=0)
    if unit == "day":
        t = t.replace(hour=0)
    return t


def bucket_starts(now: datetime, span: str) -> list[datetime]:
    """The bucket starts for ``span``, oldest first, the last one holding ``now``."""
    count, unit, seconds = parse_span(span)
    last = truncate_to(now, unit)
    return [last - timedelta(seconds=seconds * (count - 1 - k)) for k in range(count)]


def is_pattern(value: str) -> bool:
    """Filter values containing ``%`` are LIKE patterns."""
    return "%" in value


def like_pattern(value: str) -> str:
    """Our pattern (only ``%`` is a wildcard) as SQL LIKE text for ``ESCAPE '\\'``."""
    return value.replace("\\", "\\\\").replace("_", "\\_")


def like_matches(pattern: str, value: str) -> bool:
    """Python evaluation of a filter value against ``value`` (exact unless it has ``%``)."""
    if not is_pattern(pattern):
        return pattern == value
    regex = ".*".join(re.escape(part) for part in pattern.split("%"))
    return re.fullmatch(regex, value, flags=re.DOTALL) is not None


def search_text(value: str) -> str:
    """A free-text search term as a case-insensitive LIKE ``%term%`` (escaped)."""
    escaped = value.lower().replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%")
    return f"%{escaped}%"


def latest_timestamp(job: JobRecord) -> datetime:
    """The timestamp that places a job in time for counts and charts."""
    return (
        job.completed_at
        or job.failed_at
        or job.canceled_at
        or job.attempted_at
        or job.claimed_at
        or job.inserted_at
    )


def worker_lost_error(job: JobRecord, at: datetime) -> ErrorRecord:
    """The error appended when ``release_expired`` takes back a running job."""
    return ErrorRecord(
        type=WORKER_LOST,
        message=WORKER_LOST_MESSAGE,
        attempt=job.attempt,
        worker=job.claimed_by,
        at=at,
    )


def released_state(job: JobRecord) -> JobState:
    """Where ``release_expired`` puts a job whose lease expired."""
    if job.state == JobState.RUNNING and job.attempt >= job.max_attempts:
        return JobState.FAILED
    return JobState.WAITING


def mask_url(url: str) -> str:
    """The URL with its password replaced by ``***`` (safe to print and log)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def plausible_token(token: object) -> bool:
    """Whether ``token`` could be a lease token a backend issued: non-empty printable ASCII
    text of at most 64 characters (a UUID in any of its spellings, a hex digest). Batches
    of tokens keep anything else out, so that text a database refuses (a NUL, a lone
    surrogate) cannot fail a whole batch; what remains is compared with the stored token
    and matches nothing unless it is that token."""
    return type(token) is str and 0 < len(token) <= 64 and token.isascii() and token.isprintable()


_scan_value: Callable[[str, int], tuple[Any, int]] = json.scanner.make_scanner(  # the C scanner
    json.JSONDecoder()  # type: ignore[arg-type]  # (typeshed types the argument as a scanner)
)


def json_loads(text: str) -> Any:
    """``json.loads`` for stored JSON text: the same values and errors, through the C
    scanner directly (``json.loads`` spends more time in its Python wrapper than in the
    scan of a short payload). Anything else (bytes, surrounding whitespace, trailing data,
    a byte-order mark, no value at all) goes to ``json.loads`` itself, which accepts or
    rejects it with its own message."""
    if type(text) is not str:
        return json.loads(text)
    if text == "[]":  # the commonest stored payloads, answered without a scan
        return []
    if text == "{}":
        return {}
    try:
        value, end = _scan_value(text, 0)
    except StopIteration:
        return json.loads(text)
    if end != len(text):
        return json.loads(text)
    return value


def decode_payload(
    loads: Callable[[Any], Any], args: Any, kwargs: Any, constructor_args: Any
) -> tuple[tuple[Any, ...], dict[str, Any], tuple[Any, ...], str | None]:
    """Decode a stored job's arguments; a corrupt value never raises.

    Returns ``(args, kwargs, constructor_args, error)``: on a corrupt or mis-shaped value
    the arguments are empty and ``error`` says what was wrong (store it as
    ``JobRecord.decode_error``; the engine then fails that job alone).
    """
    try:
        decoded_args, decoded_kwargs, decoded_ctor = loads(args), loads(kwargs), loads(constructor_args)
    except (ValueError, TypeError) as exc:
        return (), {}, (), f"undecodable stored payload: {exc}"
    if not isinstance(decoded_args, list) or not isinstance(decoded_ctor, list):
        return (), {}, (), "undecodable stored payload: args and constructor_args must be JSON arrays"
    if not isinstance(decoded_kwargs, dict):
        return (), {}, (), "undecodable stored payload: kwargs must be a JSON object"
    return tuple(decoded_args), decoded_kwargs, tuple(decoded_ctor), None


def schedule_values(
    s: ScheduleRecord,
    *,
    dumps: Callable[[Any], str],
    moment: Callable[[datetime], Any],
    flag: Callable[[bool], Any] = bool,
) -> list[Any]:
    """A schedule's stored values, in ``ScheduleRecord`` field order (every SQL backend's columns).

    Payloads become JSON text through ``dumps``, times go through ``moment`` and the two
    booleans through ``flag`` (each backend passes its own encoders).
    """
    return [
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
        flag(s.no_overlap),
        flag(s.declared),
        ScheduleState(s.state).value,
        moment(s.next_fire_at),
        None if s.last_fired_at is None else moment(s.last_fired_at),
        s.last_job_id,
    ]


def schedule_from_values(
    values: Sequence[Any], *, loads: Callable[[Any], Any], moment: Callable[[Any], datetime]
) -> ScheduleRecord:
    """The inverse of ``schedule_values``: stored values in field order back to a record."""
    return ScheduleRecord(
        name=values[0],
        cron=values[1],
        tz=values[2],
        queue=values[3],
        script=values[4],
        job_class=values[5],
        args=tuple(loads(values[6])),
        kwargs=loads(values[7]),
        constructor_args=tuple(loads(values[8])),
        max_attempts=values[9],
        timeout=values[10],
        retry_delay=values[11],
        backoff_strategy=values[12],
        catch_up=values[13],
        no_overlap=bool(values[14]),
        declared=bool(values[15]),
        state=ScheduleState(values[16]),
        next_fire_at=moment(values[17]),
        last_fired_at=None if values[18] is None else moment(values[18]),
        last_job_id=values[19],
    )


def new_job_values(
    job: NewJob,
    *,
    dumps: Callable[[Any], str],
    moment: Callable[[datetime], Any],
    delay: Callable[[float], Any],
    flag: Callable[[bool], Any] = bool,
) -> list[Any]:
    """The 15 insert values of a new job, in the order every SQL backend's insert takes them:
    queue, script, class, args, kwargs, constructor args, max attempts, available at,
    available in, timeout, digest, uniqueness config, holds forever, retry delay, backoff.

    Payloads become JSON text through ``dumps``, ``available_at`` goes through ``moment``,
    ``available_in`` through ``delay`` and the boolean through ``flag``.
    """
    config = job.uniqueness_config
    return [
        job.queue,
        job.script,
        job.job_class,
        dumps(list(job.args)) if job.args else "[]",
        dumps(dict(job.kwargs)) if job.kwargs else "{}",
        dumps(list(job.constructor_args)) if job.constructor_args else "[]",
        job.max_attempts,
        None if job.available_at is None else moment(job.available_at),
        delay(job.available_in or 0.0),
        job.timeout,
        job.unique_digest,
        None if config is None else dumps(dict(config)),
        flag(holds_forever(config)),
        job.retry_delay,
        job.backoff_strategy,
    ]
