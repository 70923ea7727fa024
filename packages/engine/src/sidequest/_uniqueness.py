"""Uniqueness keys: alive-job and fixed-window digests (sha256 of a canonical key)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from ._errors import ConfigurationError
from ._payload import dumps

Period = Literal["second", "minute", "hour", "day", "week", "month"]
PERIODS: tuple[str, ...] = ("second", "minute", "hour", "day", "week", "month")


def uniqueness_config(
    enabled: bool | None = True, *, with_args: bool = False, period: str | None = None
) -> dict[str, Any] | None:
    """Build the stored uniqueness config (None when uniqueness is off)."""
    if not enabled:
        return None
    if period is None:
        return {"type": "alive-job", "with_args": bool(with_args)}
    if period not in PERIODS:
        raise ConfigurationError(f"unknown uniqueness period {period!r}; use one of {', '.join(PERIODS)}")
    return {"type": "fixed-window", "period": period, "with_args": bool(with_args)}


def holds_forever(config: Mapping[str, Any] | None) -> bool:
    """True when the digest stays taken after the job finishes (fixed-window)."""
    return bool(config) and config is not None and config.get("type") == "fixed-window"


def digest(
    config: Mapping[str, Any] | None,
    *,
    job_class: str,
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
    constructor_args: Sequence[Any],
    available_at: datetime,
) -> str | None:
    """The digest stored in ``unique_digest``: equal digests are duplicates while held."""
    if not config:
        return None
    key = job_class
    if config.get("type") == "fixed-window":
        key += "::time=" + window_start(available_at, str(config["period"]))
    elif config.get("type") != "alive-job":
        raise ConfigurationError(f"unknown uniqueness strategy {config.get('type')!r}")
    if config.get("with_args"):
        key += "::args=" + dumps(list(args))
        if kwargs:
            key += "::kwargs=" + dumps(dict(kwargs))
        key += "::ctor=" + dumps(list(constructor_args))
    return hashlib.sha256(key.encode()).hexdigest()


def window_start(moment: datetime, period: str) -> str:
    """Start of the UTC window holding ``moment``, as ``2023-01-15T14:00:00.000Z``."""
    from datetime import UTC

    t = moment.astimezone(UTC).replace(microsecond=0)
    if period == "second":
        pass
    elif period == "minute":
        t = t.replace(second=0)
    elif period == "hour":
        t = t.replace(minute=0, second=0)
    elif period == "day":
        t = t.replace(hour=0, minute=0, second=0)
    elif period == "week":  # back to Sunday, as the reference does
        t = t.replace(hour=0, minute=0, second=0) - timedelta(days=(t.weekday() + 1) % 7)
    elif period == "month":
        t = t.replace(day=1, hour=0, minute=0, second=0)
    else:
        raise ConfigurationError(f"unsupported uniqueness period {period!r}")
    return t.strftime("%Y-%m-%dT%H:%M:%S.000Z")
