"""``/jobs`` (filtered, paginated list and bulk actions) and ``/jobs/{id}`` (detail and actions)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from sidequest import InvalidStateError, JobNotFoundError, JobRecord
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from ._filters import (
    LAST,
    MAX_ID,
    MAX_PAGE_SIZE,
    PAGE_SIZES,
    TIME_FIELDS,
    BadInput,
    JobQuery,
    parse_int,
    parse_job_query,
    parse_seconds,
    safe_return_query,
)
from ._pagination import Page, load_page
from ._security import guarded_form
from ._views import ALLOWED_ACTIONS, Context, render, url

BULK_ACTIONS = {"cancel": "canceled", "rerun": "queued to run again"}
SNOOZE_CHOICES = (
    (60, "1 minute"),
    (300, "5 minutes"),
    (900, "15 minutes"),
    (3600, "1 hour"),
    (86400, "1 day"),
)


def _bulk_notice(request: Request) -> str | None:
    """The message after a bulk action, rebuilt from allow-listed values (never echoed text)."""
    params = request.query_params
    action = params.get("bulk", "")
    if action not in BULK_ACTIONS:
        return None
    try:
        done = parse_int(params.get("ok"), "ok", low=0, high=MAX_PAGE_SIZE)
        skipped = parse_int(params.get("skipped"), "skipped", low=0, high=MAX_PAGE_SIZE)
    except BadInput:
        return None
    text = f"{done} job{'s' if done != 1 else ''} {BULK_ACTIONS[action]}."
    if skipped:
        text += f" {skipped} skipped: their state did not allow it."
    return text


def fingerprint(job: JobRecord) -> str:
    """Changes whenever what the detail page shows about a live job changes."""
    parts = (job.state, job.attempt, len(job.errors), job.available_at, job.claimed_by, job.lease_expires_at)
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def job_routes(ctx: Context) -> list[BaseRoute]:
    """Routes for the job list, the job detail page and the job actions."""
    sq = ctx.sq

    async def list_page(request: Request) -> Response:
        queues = sorted(queue.name for queue in await sq.queues.list())
        common: dict[str, Any] = {
            "nav": "jobs",
            "queues": queues,
            "time_fields": TIME_FIELDS,
            "lasts": {key: label for key, (label, _) in LAST.items()},
            "page_sizes": PAGE_SIZES,
            "bulk_notice": _bulk_notice(request),
        }
        try:
            query = parse_job_query(request.query_params)
        except BadInput as exc:
            return render(
                ctx, request, "jobs.html", 400, query=JobQuery(), page=Page([]), error=str(exc), **common
            )
        filters = query.list_filters(datetime.now(UTC))
        page = await load_page(sq, filters, before=query.before, after=query.after, limit=query.limit)
        return render(ctx, request, "jobs.html", query=query, page=page, error=None, **common)

    async def bulk_action(request: Request) -> Response:
        form = await guarded_form(request, ctx.csrf, read_only=ctx.read_only)
        action = form.get("action")
        if action not in BULK_ACTIONS:
            raise BadInput("choose an action: cancel or rerun")
        ids = sorted(
            {parse_int(str(value), "job id", low=1, high=MAX_ID) for value in form.getlist("ids")},
            reverse=True,
        )
        if not ids:
            raise BadInput("select at least one job first")
        if len(ids) > MAX_PAGE_SIZE:
            raise BadInput(f"select at most {MAX_PAGE_SIZE} jobs at once")
        done = skipped = 0
        for job_id in ids:
            try:
                await (sq.jobs.cancel(job_id) if action == "cancel" else sq.jobs.rerun(job_id))
                done += 1
            except (InvalidStateError, JobNotFoundError):
                skipped += 1
        back = safe_return_query(_text(form.get("back")))
        notice = urlencode({"bulk": str(action), "ok": done, "skipped": skipped})
        target = url(request, "/jobs") + "?" + (f"{back}&{notice}" if back else notice)
        return RedirectResponse(target, status_code=303)

    async def detail_page(request: Request) -> Response:
        job = await _job(request)
        return render(
            ctx,
            request,
            "job.html",
            nav="jobs",
            job=job,
            snooze_choices=SNOOZE_CHOICES,
            fingerprint=fingerprint(job),
        )

    async def poll(request: Request) -> Response:
        """Empty while the job is unchanged; tells htmx to reload the page once it changed."""
        job = await _job(request)
        if request.query_params.get("v") == fingerprint(job):
            return Response(status_code=200)
        return Response(status_code=200, headers={"HX-Refresh": "true"})

    async def job_action(request: Request) -> Response:
        action = str(request.path_params["action"])
        if action not in ALLOWED_ACTIONS:
            raise HTTPException(404, f"There is no job action {action[:40]!r}.")
        form = await guarded_form(request, ctx.csrf, read_only=ctx.read_only)
        job = await _job(request)
        if action == "cancel":
            await sq.jobs.cancel(job.id)
        elif action == "run":
            await sq.jobs.run(job.id)
        elif action == "rerun":
            await sq.jobs.rerun(job.id)
        else:
            await sq.jobs.snooze(job.id, parse_seconds(_text(form.get("delay")), "snooze delay"))
        return RedirectResponse(url(request, f"/jobs/{job.id}?done={action}"), status_code=303)

    async def _job(request: Request) -> JobRecord:
        job_id = int(request.path_params["job_id"])
        if not 0 < job_id <= MAX_ID:
            raise JobNotFoundError(job_id)
        return await sq.jobs.get(job_id)

    return [
        Route("/jobs", list_page, methods=["GET"]),
        Route("/jobs", bulk_action, methods=["POST"]),
        Route("/jobs/{job_id:int}", detail_page, methods=["GET"]),
        Route("/jobs/{job_id:int}/poll", poll, methods=["GET"]),
        Route("/jobs/{job_id:int}/{action}", job_action, methods=["POST"]),
    ]


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
