"""``/``: counts by state (live), jobs over time and queues at a glance, plus their htmx partials."""

from __future__ import annotations

from typing import Any

from sidequest import Sidequest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ._filters import BadInput
from ._routes_queues import queue_rows
from ._views import Context, render

RANGES: dict[str, tuple[str, str, str]] = {
    "hour": ("60m", "Last hour", "minute"),
    "day": ("24h", "Last 24 hours", "hour"),
    "week": ("7d", "Last 7 days", "day"),
}
SERIES = ("completed", "failed", "canceled", "running", "waiting")


def _range(request: Request) -> str:
    key = request.query_params.get("range", "hour")
    if key not in RANGES:
        raise BadInput(f"unknown range; use one of {', '.join(RANGES)}")
    return key


async def chart_data(sq: Sidequest, key: str) -> dict[str, Any]:
    """The chart's JSON: UTC bucket starts and one count list per series."""
    span, _, unit = RANGES[key]
    buckets = await sq.jobs.count_over_time(span)
    series: dict[str, list[int]] = {name: [] for name in SERIES}
    for bucket in buckets:
        counts = bucket.counts
        series["completed"].append(counts.completed)
        series["failed"].append(counts.failed)
        series["canceled"].append(counts.canceled)
        series["running"].append(counts.claimed + counts.running)
        series["waiting"].append(counts.waiting)
    return {"unit": unit, "at": [b.at.isoformat() for b in buckets], "series": series}


def overview_routes(ctx: Context) -> list[BaseRoute]:
    """Routes for the overview page and its live partials."""
    sq = ctx.sq

    async def chart_values(request: Request) -> dict[str, Any]:
        key = _range(request)
        return {"range": key, "ranges": RANGES, "chart": await chart_data(sq, key)}

    async def overview(request: Request) -> Response:
        values = await chart_values(request)
        return render(
            ctx,
            request,
            "overview.html",
            nav="overview",
            counts=await sq.jobs.count(exact=False),
            rows=await queue_rows(sq),
            **values,
        )

    async def counts_partial(request: Request) -> Response:
        return render(ctx, request, "_counts.html", counts=await sq.jobs.count(exact=False))

    async def chart_partial(request: Request) -> Response:
        return render(ctx, request, "_chart.html", **await chart_values(request))

    async def queues_partial(request: Request) -> Response:
        return render(ctx, request, "_queues_glance.html", rows=await queue_rows(sq))

    return [
        Route("/", overview, methods=["GET"]),
        Route("/partials/counts", counts_partial, methods=["GET"]),
        Route("/partials/chart", chart_partial, methods=["GET"]),
        Route("/partials/queues", queues_partial, methods=["GET"]),
    ]
