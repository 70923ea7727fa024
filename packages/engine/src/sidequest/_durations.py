"""Durations (seconds or timedelta) and aware UTC datetimes."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from ._errors import ConfigurationError

Duration = int | float | timedelta


def to_seconds(value: Duration, name: str = "duration", *, allow_negative: bool = False) -> float:
    """Return ``value`` in seconds; refuse bools, NaN, infinities and (unless allowed) negatives."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigurationError(f"{name} must be seconds (int/float) or a timedelta, got {value!r}")
    else:
        seconds = float(value)
    if math.isnan(seconds) or math.isinf(seconds):
        raise ConfigurationError(f"{name} must be finite, got {value!r}")
    if seconds < 0 and not allow_negative:
        raise ConfigurationError(f"{name} must not be negative, got {value!r}")
    return seconds


def utcnow() -> datetime:
    """The current time as an aware UTC datetime (millisecond precision)."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def as_utc(value: datetime, name: str = "datetime") -> datetime:
    """Return an aware datetime in UTC, truncated to milliseconds; naive values are refused."""
    if not isinstance(value, datetime):
        raise ConfigurationError(f"{name} must be a datetime, got {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ConfigurationError(f"{name} must be timezone-aware (got naive {value.isoformat()})")
    utc = value.astimezone(UTC)
    return utc.replace(microsecond=utc.microsecond // 1000 * 1000)
