"""Parse and validate the ``/jobs`` query string (filters, time range, page) and form input."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, cast
from urllib.parse import parse_qsl, urlencode

from ._views import STATES

TimeField = Literal["inserted_at", "attempted_at", "available_at", "finished_at"]

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
PAGE_SIZES = (25, 50, 100, 200)
MAX_TEXT = 200
MAX_ID = 2**63 - 1
TIME_FIELDS: dict[str, str] = {
    "inserted_at": "Enqueued",
    "attempted_at": "Attempted",
    "available_at": "Available",
    "finished_at": "Finished",
}
LAST: dict[str, tuple[str, timedelta]] = {
    "15m": ("last 15 minutes", timedelta(minutes=15)),
    "1h": ("last hour", timedelta(hours=1)),
    "6h": ("last 6 hours", timedelta(hours=6)),
    "24h": ("last 24 hours", timedelta(hours=24)),
    "7d": ("last 7 days", timedelta(days=7)),
    "30d": ("last 30 days", timedelta(days=30)),
}
FILTER_KEYS = ("state", "queue", "job_class", "search", "time_field", "last", "since", "until", "limit")


class BadInput(ValueError):
    """Form or query input the dashboard refuses (rendered as a 400 page with this message)."""


def parse_int(value: str | None, name: str, *, low: int = -(2**31), high: int = 2**31 - 1) -> int:
    """A whole number within ``[low, high]``; anything else is ``BadInput``."""
    text = (value or "").strip()
    try:
        number = int(text)
    except ValueError:
        raise BadInput(f"{name} must be a whole number, got {text[:40]!r}") from None
    if not low <= number <= high:
        raise BadInput(f"{name} must be between {low} and {high}")
    return number


def parse_seconds(value: str | None, name: str, *, high: float = 365 * 86400) -> float:
    """A positive, finite number of seconds up to ``high``."""
    text = (value or "").strip()
    try:
        seconds = float(text)
    except ValueError:
        raise BadInput(f"{name} must be a number of seconds, got {text[:40]!r}") from None
    if not math.isfinite(seconds) or not 0 < seconds <= high:
        raise BadInput(f"{name} must be more than 0 and at most {high:g} seconds")
    return seconds


def parse_time(value: str, name: str) -> datetime:
    """``YYYY-MM-DDTHH:MM[:SS]`` (taken as UTC) or ISO 8601 with an offset."""
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T"))
    except ValueError:
        raise BadInput(f"{name} must be a date and time like 2025-01-31T14:00, got {text[:40]!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _text(params: Mapping[str, str], key: str, label: str) -> str | None:
    value = params.get(key, "").strip()
    if len(value) > MAX_TEXT:
        raise BadInput(f"{label} is too long (at most {MAX_TEXT} characters)")
    return value or None


@dataclass(frozen=True)
class JobQuery:
    """A validated ``/jobs`` request."""

    state: str | None = None
    queue: str | None = None
    job_class: str | None = None
    search: str | None = None
    time_field: str = "inserted_at"
    last: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    before: int | None = None
    after: int | None = None
    limit: int = DEFAULT_PAGE_SIZE

    @property
    def filtered(self) -> bool:
        return any((self.state, self.queue, self.job_class, self.search, self.last, self.since, self.until))

    def list_filters(self, now: datetime) -> dict[str, Any]:
        """Keyword arguments for ``sq.jobs.list`` (without the page bounds)."""
        job_class = self.job_class
        if job_class is not None and "%" not in job_class:
            job_class = f"%{job_class}%"
        since = now - LAST[self.last][1] if self.last else self.since
        return {
            "state": self.state,
            "queue": self.queue,
            "job_class": job_class,
            "search": self.search,
            "time_field": cast(TimeField, self.time_field),
            "since": since,
            "until": None if self.last else self.until,
        }

    def params(self) -> dict[str, str]:
        """The filter part of the query string (no page bounds), defaults left out."""
        values: dict[str, str] = {}
        for key in ("state", "queue", "job_class", "search", "last"):
            value = getattr(self, key)
            if value:
                values[key] = value
        if self.since:
            values["since"] = self.since.strftime("%Y-%m-%dT%H:%M")
        if self.until:
            values["until"] = self.until.strftime("%Y-%m-%dT%H:%M")
        if self.time_field != "inserted_at" and (self.last or self.since or self.until):
            values["time_field"] = self.time_field
        if self.limit != DEFAULT_PAGE_SIZE:
            values["limit"] = str(self.limit)
        return values

    def query(self, **bounds: int | None) -> str:
        """``?…`` for this filter plus ``before``/``after`` bounds."""
        values = self.params() | {k: str(v) for k, v in bounds.items() if v is not None}
        return "?" + urlencode(values) if values else "?"


def parse_job_query(params: Mapping[str, str]) -> JobQuery:
    """Validate the ``/jobs`` query parameters; raises ``BadInput`` with a readable message."""
    state = params.get("state", "").strip() or None
    if state is not None and state not in STATES:
        raise BadInput(f"unknown state {state[:40]!r}; use one of {', '.join(STATES)}")
    time_field = params.get("time_field", "").strip() or "inserted_at"
    if time_field not in TIME_FIELDS:
        raise BadInput(f"unknown time field; use one of {', '.join(TIME_FIELDS)}")
    last = params.get("last", "").strip() or None
    if last is not None and last not in LAST:
        raise BadInput(f"unknown time range; use one of {', '.join(LAST)}")
    since = parse_time(params["since"], "since") if params.get("since", "").strip() else None
    until = parse_time(params["until"], "until") if params.get("until", "").strip() else None
    if since and until and since > until:
        raise BadInput("the start of the time range is after its end")
    limit = DEFAULT_PAGE_SIZE
    if params.get("limit", "").strip():
        limit = max(1, min(parse_int(params["limit"], "page size", low=-(2**63), high=2**63), MAX_PAGE_SIZE))
    before = parse_int(params["before"], "before", low=1, high=MAX_ID) if params.get("before") else None
    after = parse_int(params["after"], "after", low=0, high=MAX_ID) if params.get("after") else None
    return JobQuery(
        state=state,
        queue=_text(params, "queue", "queue"),
        job_class=_text(params, "job_class", "class"),
        search=_text(params, "search", "search"),
        time_field=time_field,
        last=last,
        since=since,
        until=until,
        before=before,
        after=None if before is not None else after,
        limit=limit,
    )


def safe_return_query(raw: str | None) -> str:
    """Rebuild a ``/jobs`` query string from a form field, keeping only known filter keys."""
    kept = [(k, v) for k, v in parse_qsl((raw or "").lstrip("?"))[:20] if k in FILTER_KEYS or k == "before"]
    return urlencode(kept)
