"""Cron expressions: 5 fields (or 6 with seconds first), ``@hourly``-style aliases, time zones.

Wall-clock semantics in the schedule's time zone. On a spring-forward day a fire time
that does not exist fires at the instant the clocks jump; on a fall-back day a fire time
that occurs twice fires once, at its first occurrence.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from attrs import frozen

from ._errors import ConfigurationError

ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_MONTH_NAMES = "jan feb mar apr may jun jul aug sep oct nov dec"
_MONTHS = {m: i + 1 for i, m in enumerate(_MONTH_NAMES.split())}
_DAYS = {d: i for i, d in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}
_SEARCH_LIMIT = timedelta(days=366 * 5)


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``; unknown names raise ``ConfigurationError``."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(
            f"unknown time zone {name!r}; use an IANA name like 'Europe/Berlin'"
        ) from None


@frozen
class Cron:
    """A parsed cron expression; ``next_after`` gives fire times."""

    expression: str
    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    days_restricted: bool
    weekdays_restricted: bool

    @classmethod
    def parse(cls, expression: str) -> Cron:
        text = ALIASES.get(expression.strip().lower(), expression.strip())
        fields = text.split()
        if len(fields) == 5:
            fields = ["0", *fields]
        if len(fields) != 6:
            raise ConfigurationError(
                f"invalid cron expression {expression!r}: expected 5 fields (minute hour day month "
                "weekday), 6 with seconds first, or an alias like @hourly"
            )
        try:
            seconds = _field(fields[0], 0, 59, {})
            minutes = _field(fields[1], 0, 59, {})
            hours = _field(fields[2], 0, 23, {})
            days = _field(fields[3], 1, 31, {})
            months = _field(fields[4], 1, 12, _MONTHS)
            weekdays = frozenset(d % 7 for d in _field(fields[5], 0, 7, _DAYS))
        except ValueError as exc:
            raise ConfigurationError(f"invalid cron expression {expression!r}: {exc}") from None
        return cls(
            expression=expression,
            seconds=seconds,
            minutes=minutes,
            hours=hours,
            days=days,
            months=months,
            weekdays=weekdays,
            days_restricted=fields[3] not in ("*", "?"),
            weekdays_restricted=fields[5] not in ("*", "?"),
        )

    def next_after(self, moment: datetime, tz: ZoneInfo) -> datetime:
        """The first fire time strictly after ``moment``, as an aware UTC datetime."""
        local = moment.astimezone(tz).replace(tzinfo=None, microsecond=0) + timedelta(seconds=1)
        limit = local + _SEARCH_LIMIT
        while local < limit:
            if local.month not in self.months:
                local = _first_of_next_month(local)
            elif not self._day_matches(local):
                local = local.replace(hour=0, minute=0, second=0) + timedelta(days=1)
            elif local.hour not in self.hours:
                local = local.replace(minute=0, second=0) + timedelta(hours=1)
            elif local.minute not in self.minutes:
                local = local.replace(second=0) + timedelta(minutes=1)
            elif local.second not in self.seconds:
                local += timedelta(seconds=1)
            else:
                instant = _to_utc(local, tz)
                if instant > moment:
                    return instant
                local += timedelta(seconds=1)
        raise ConfigurationError(f"cron expression {self.expression!r} never fires")

    def _day_matches(self, local: datetime) -> bool:
        day_ok = local.day in self.days
        weekday_ok = (local.isoweekday() % 7) in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return day_ok or weekday_ok
        return day_ok and weekday_ok


def _field(text: str, low: int, high: int, names: dict[str, int]) -> frozenset[int]:
    values: set[int] = set()
    for part in text.lower().split(","):
        body, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if step < 1:
            raise ValueError(f"step must be ≥ 1 in {part!r}")
        if body in ("*", "?"):
            start, end = low, high
        elif "-" in body:
            first, _, last = body.partition("-")
            start, end = _value(first, names), _value(last, names)
        else:
            start = _value(body, names)
            end = high if step_text else start
        if not (low <= start <= high and low <= end <= high) or start > end:
            raise ValueError(f"{part!r} is outside {low}-{high}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def _value(text: str, names: dict[str, int]) -> int:
    if text in names:
        return names[text]
    if not text.isdigit():
        raise ValueError(f"{text!r} is not a number{' or name' if names else ''}")
    return int(text)


def _first_of_next_month(local: datetime) -> datetime:
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    return local.replace(year=year, month=month, day=1, hour=0, minute=0, second=0)


def _to_utc(local: datetime, tz: ZoneInfo) -> datetime:
    """The instant of a wall-clock time: first occurrence if repeated, the jump if skipped."""
    first = local.replace(tzinfo=tz, fold=0)
    if first.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == local:
        return first.astimezone(UTC)
    # Nonexistent (spring forward): find the instant the clocks jumped over ``local``.
    low = local.replace(tzinfo=tz, fold=1).astimezone(UTC)
    high = first.astimezone(UTC)
    if low > high:
        low, high = high, low
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(tz).replace(tzinfo=None) >= local:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0)
