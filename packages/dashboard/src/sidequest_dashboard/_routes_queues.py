"""``/queues``: configuration and per-queue counts; pause, resume and edit."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from sidequest import JobCounts, QueueRecord, Sidequest
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from ._filters import parse_int
from ._security import guarded_form
from ._views import Context, render, url

QUEUE_ACTIONS = ("pause", "resume", "update")
MAX_CONCURRENCY = 100_000


@dataclass(frozen=True)
class QueueRow:
    """A queue's stored configuration (None when only jobs name it) and its job counts."""

    name: str
    record: QueueRecord | None
    counts: JobCounts

    @property
    def active(self) -> int:
        return self.counts.claimed + self.counts.running

    @property
    def path(self) -> str:
        return "/queues/" + quote(self.name, safe="")


async def queue_rows(sq: Sidequest) -> list[QueueRow]:
    """Every queue with a stored row or with jobs, sorted by name."""
    records = {q.name: q for q in await sq.queues.list(order_by="name", descending=False)}
    counts = await sq.jobs.count_by_queue(exact=False)
    return [
        QueueRow(name, records.get(name), counts.get(name, JobCounts()))
        for name in sorted(set(records) | set(counts))
    ]


def queue_routes(ctx: Context) -> list[BaseRoute]:
    """Routes for the queues page and the queue actions."""

    async def queues_page(request: Request) -> Response:
        return render(ctx, request, "queues.html", nav="queues", rows=await queue_rows(ctx.sq))

    async def queue_action(request: Request) -> Response:
        name = str(request.path_params["name"])
        action = str(request.path_params["action"])
        if action not in QUEUE_ACTIONS:
            raise HTTPException(404, f"There is no queue action {action[:40]!r}.")
        form = await guarded_form(request, ctx.csrf, read_only=ctx.read_only)
        await ctx.sq.queues.get(name)
        if action == "pause":
            await ctx.sq.queues.pause(name)
        elif action == "resume":
            await ctx.sq.queues.resume(name)
        else:
            concurrency = parse_int(
                _field(form.get("concurrency")), "concurrency", low=1, high=MAX_CONCURRENCY
            )
            priority = parse_int(_field(form.get("priority")), "priority")
            await ctx.sq.queues.update(name, concurrency=concurrency, priority=priority)
        return RedirectResponse(url(request, f"/queues?done={action}"), status_code=303)

    return [
        Route("/queues", queues_page, methods=["GET"]),
        Route("/queues/{name:path}/{action}", queue_action, methods=["POST"]),
    ]


def _field(value: object) -> str | None:
    return value if isinstance(value, str) else None
