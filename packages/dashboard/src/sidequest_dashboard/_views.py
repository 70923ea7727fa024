"""Template rendering: the Jinja2 environment (autoescape on), filters and page context."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sidequest
from jinja2 import Environment, PackageLoader, StrictUndefined
from sidequest import JobRecord, JobState, Sidequest
from starlette.requests import Request
from starlette.responses import HTMLResponse

from ._security import CSRF_COOKIE, Csrf

STATIC_DIR = Path(__file__).parent / "static"
STATES = tuple(state.value for state in JobState)
ALLOWED_ACTIONS: dict[str, frozenset[str]] = {
    "cancel": frozenset({"waiting", "claimed", "running"}),
    "run": frozenset({"waiting"}),
    "rerun": frozenset({"completed", "failed", "canceled"}),
    "snooze": frozenset({"waiting"}),
}
NOTICES = {
    "cancel": "Job canceled.",
    "run": "Job made available now.",
    "rerun": "Job queued to run again.",
    "snooze": "Job snoozed.",
    "pause": "Queue paused: its jobs are no longer claimed.",
    "resume": "Queue resumed.",
    "update": "Queue settings saved.",
    "schedule-pause": "Schedule paused: it fires no new jobs.",
    "schedule-resume": "Schedule resumed from its next fire time.",
}


@dataclass(frozen=True)
class Context:
    """What every route needs: the engine, the CSRF signer and the read-only flag."""

    sq: Sidequest
    csrf: Csrf
    read_only: bool = False


def _static_versions() -> dict[str, str]:
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()[:10]
        for path in STATIC_DIR.iterdir()
        if path.is_file()
    }


_VERSIONS = _static_versions()


def format_time(value: datetime | None) -> str:
    """``2025-01-02 13:04:05`` in UTC, or an em dash."""
    if value is None:
        return "—"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def short_time(value: datetime | None, now: datetime | None = None) -> str:
    """Compact UTC time for tables: ``14:03:05`` today, ``Nov 29 14:03`` this year, else the date."""
    if value is None:
        return "—"
    moment, today = value.astimezone(UTC), (now or datetime.now(UTC)).astimezone(UTC)
    if moment.date() == today.date():
        return moment.strftime("%H:%M:%S")
    if moment.year == today.year:
        return moment.strftime("%b %d %H:%M")
    return moment.strftime("%Y-%m-%d")


def iso_time(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(UTC).isoformat()


def relative_time(value: datetime | None, now: datetime | None = None) -> str:
    """A short human distance such as ``3 min ago`` or ``in 2 h``."""
    if value is None:
        return ""
    seconds = ((now or datetime.now(UTC)) - value).total_seconds()
    future, seconds = seconds < 0, abs(seconds)
    if seconds < 1:
        return "just now"
    for limit, size, unit in (
        (60, 1, "s"),
        (3600, 60, "min"),
        (86400, 3600, "h"),
        (float("inf"), 86400, "d"),
    ):
        if seconds < limit:
            amount = f"{int(seconds // size)} {unit}"
            break
    return f"in {amount}" if future else f"{amount} ago"


def pretty_json(value: Any) -> str:
    """JSON text, on one line when short, else indented (escaped by the template like any text)."""
    if isinstance(value, Mapping):
        value = dict(value)
    compact = json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)
    if len(compact) <= 72 and "\n" not in compact:
        return compact
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def format_seconds(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:g} s"


def approximate(value: int, digits: int = 3) -> int:
    """``value`` rounded to ``digits`` significant digits (an estimate shows no false precision)."""
    if value == 0:
        return 0
    return int(round(value, digits - len(str(abs(int(value))))))


def blank(value: Any) -> bool:
    """None or an empty list/tuple/dict (``0``, ``false`` and ``""`` are shown)."""
    return value is None or (isinstance(value, list | tuple | dict | Mapping) and len(value) == 0)


def allowed(job: JobRecord, action: str) -> bool:
    """Whether ``action`` is possible from the job's current state."""
    return job.state.value in ALLOWED_ACTIONS.get(action, frozenset())


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("sidequest_dashboard", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        when=format_time,
        short=short_time,
        iso=iso_time,
        ago=relative_time,
        pretty=pretty_json,
        seconds=format_seconds,
        approx=approximate,
    )
    env.globals.update(STATES=STATES, allowed=allowed, blank=blank, version=sidequest.__version__)
    return env


ENV = _environment()


def url(request: Request, path: str = "/") -> str:
    """``path`` under the dashboard's base path (``root_path`` of a mount included)."""
    root = str(request.scope.get("root_path", "")).rstrip("/")
    return root + path


def static_url(request: Request, name: str) -> str:
    return url(request, f"/static/{name}") + f"?v={_VERSIONS.get(name, '0')}"


def render(
    ctx: Context,
    request: Request,
    template: str,
    status_code: int = 200,
    **values: Any,
) -> HTMLResponse:
    """Render ``template`` with the common page context; sets the CSRF cookie when missing."""
    nonce = request.cookies.get(CSRF_COOKIE)
    fresh = not ctx.csrf.valid_nonce(nonce)
    if fresh or nonce is None:
        nonce = ctx.csrf.new_nonce()
    page: Mapping[str, Any] = {
        "request": request,
        "url": lambda path="/": url(request, path),
        "static": lambda name: static_url(request, name),
        "csrf_token": ctx.csrf.token_for(nonce),
        "read_only": ctx.read_only,
        "now": datetime.now(UTC),
        "notice": NOTICES.get(request.query_params.get("done", "")),
        **values,
    }
    response = HTMLResponse(ENV.get_template(template).render(page), status_code=status_code)
    if fresh:
        response.set_cookie(
            CSRF_COOKIE,
            nonce,
            path=url(request, "/"),
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
    return response
