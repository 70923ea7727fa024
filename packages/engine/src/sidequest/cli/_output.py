"""Terminal output: one-line errors, tables, JSON, and human-friendly times and durations."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import attrs
import click

from .._records import ErrorRecord, JobRecord, QueueRecord

_SECRETS: set[str] = set()
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
STATE_COLORS = {
    "waiting": "cyan",
    "claimed": "blue",
    "running": "yellow",
    "completed": "green",
    "failed": "red",
    "canceled": "magenta",
}


class CliError(click.ClickException):
    """A user-facing failure: printed as one line on stderr, exit code 2."""

    exit_code = 2


def remember_secret(url: str) -> None:
    """Never print this URL's password, whatever message it ends up in."""
    try:
        password = urlsplit(url).password
    except ValueError:
        return
    if password:
        _SECRETS.add(password)


def one_line(text: str) -> str:
    """``text`` on a single line, with every remembered password masked."""
    for secret in _SECRETS:
        text = text.replace(secret, "***")
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


def error_line(message: str) -> None:
    click.echo(f"sidequest: {one_line(message)}", err=True)


def parse_duration(text: str) -> float:
    """``"30"``, ``"1.5s"``, ``"500ms"``, ``"5m"``, ``"2h"``, ``"1d"`` → seconds."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a duration; use seconds like 30, or 500ms, 5m, 2h, 1d")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2) or "s"]


def duration(seconds: float | None) -> str:
    """Seconds in a compact human form (``"1.5s"``, ``"3m20s"``, ``"2h"``)."""
    if seconds is None:
        return "-"
    if seconds < 9.95:
        return f"{seconds:.1f}".rstrip("0").rstrip(".") + "s"
    if seconds < 59.5:
        return f"{round(seconds)}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s" if secs else f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if minutes else f"{hours}h"


def when(moment: datetime | None, now: datetime | None = None) -> str:
    """A timestamp as ``2024-05-01 12:00:03 (5m ago)`` in UTC."""
    if moment is None:
        return "-"
    now = now or datetime.now(UTC)
    delta = (moment - now).total_seconds()
    relative = f"in {duration(delta)}" if delta > 0.5 else f"{duration(abs(delta))} ago"
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC ({relative})"


def short_when(moment: datetime | None, now: datetime | None = None) -> str:
    """Relative form only: ``5m ago``, ``in 30s``."""
    if moment is None:
        return "-"
    delta = (moment - (now or datetime.now(UTC))).total_seconds()
    return f"in {duration(delta)}" if delta > 0.5 else f"{duration(abs(delta))} ago"


def compact_json(value: Any, width: int = 40) -> str:
    """JSON text of ``value`` cut to ``width`` characters."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= width else text[: width - 1] + "…"


def state_text(state: str) -> str:
    return click.style(state, fg=STATE_COLORS.get(state))


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """Rows aligned in columns under upper-case headers (ANSI colours do not count as width)."""
    body = [list(row) for row in rows]
    widths = [len(h) for h in headers]
    for row in body:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(click.unstyle(cell)))

    def line(cells: Sequence[str]) -> str:
        padded = [c + " " * (w - len(click.unstyle(c))) for c, w in zip(cells, widths, strict=True)]
        return "  ".join(padded).rstrip()

    return "\n".join([line([click.style(h.upper(), bold=True) for h in headers]), *map(line, body)])


def print_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False, default=_default))


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if attrs.has(type(value)):
        return attrs.asdict(value, recurse=False)
    if isinstance(value, tuple | frozenset | set):
        return list(value)
    return str(value)


def job_json(job: JobRecord) -> dict[str, Any]:
    """A job record as JSON-ready data (the lease token is left out)."""
    data = attrs.asdict(job, recurse=False)
    data.pop("lease_token", None)
    data["state"] = job.state.value
    data["args"] = list(job.args)
    data["kwargs"] = dict(job.kwargs)
    data["constructor_args"] = list(job.constructor_args)
    data["errors"] = [error.to_json() for error in job.errors]
    for key, value in data.items():
        if isinstance(value, datetime):
            data[key] = value.isoformat()
    return data


def queue_json(queue: QueueRecord) -> dict[str, Any]:
    return {
        "name": queue.name,
        "state": queue.state.value,
        "priority": queue.priority,
        "concurrency": queue.concurrency,
    }


def job_line(job: JobRecord) -> str:
    """``#12 SendEmail (queue emails): completed``."""
    return f"#{job.id} {job.job_class} (queue {job.queue}): {state_text(job.state.value)}"


def job_detail(job: JobRecord) -> str:
    """Everything about one job, for ``sidequest jobs show``."""
    now = datetime.now(UTC)
    fields = [
        ("id", str(job.id)),
        ("class", f"{job.script}.{job.job_class}"),
        ("queue", job.queue),
        ("state", state_text(job.state.value)),
        ("attempt", f"{job.attempt} of {job.max_attempts}"),
        ("timeout", duration(job.timeout) if job.timeout else "none"),
        ("retry", f"{job.backoff_strategy} backoff from {duration(job.retry_delay)}"),
        ("unique", job.unique_digest or "no"),
        ("inserted", when(job.inserted_at, now)),
        ("available", when(job.available_at, now)),
        ("claimed", when(job.claimed_at, now)),
        ("attempted", when(job.attempted_at, now)),
        ("completed", when(job.completed_at, now)),
        ("failed", when(job.failed_at, now)),
        ("canceled", when(job.canceled_at, now)),
        ("claimed by", job.claimed_by or "-"),
        ("lease expires", when(job.lease_expires_at, now)),
    ]
    width = len("constructor args") + 1
    lines = [f"{name + ':':<{width}} {value}" for name, value in fields]
    for title, value in (
        ("args", list(job.args)),
        ("kwargs", dict(job.kwargs)),
        ("constructor args", list(job.constructor_args)),
        ("result", job.result),
    ):
        text = json.dumps(value, indent=2, ensure_ascii=False)
        lines.append(f"{title + ':':<{width}} " + text.replace("\n", "\n" + " " * (width + 1)))
    lines.append(f"{'errors:':<{width}} {len(job.errors) or 'none'}")
    for number, error in enumerate(job.errors, 1):
        lines.extend(_error_lines(number, error))
    return "\n".join(lines)


def _error_lines(number: int, error: ErrorRecord) -> list[str]:
    where = f" on {error.worker}" if error.worker else ""
    at = f" at {error.at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC" if error.at else ""
    head = f"  {number}. attempt {error.attempt if error.attempt is not None else '?'}{at}{where}"
    lines = [head, "     " + click.style(f"{error.type}: {error.message}", fg="red")]
    if error.traceback:
        lines.extend("     | " + line for line in error.traceback.rstrip().splitlines())
    return lines


json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print JSON (for scripts) instead of a table."
)
