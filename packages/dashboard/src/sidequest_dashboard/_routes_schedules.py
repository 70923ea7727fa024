"""``/schedules``: recurring jobs stored in the database; pause and resume."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from sidequest import ScheduleRecord, ScheduleState, Sidequest
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from ._security import guarded_form
from ._views import Context, render, url

SCHEDULE_ACTIONS = ("pause", "resume")


@dataclass(frozen=True)
class ScheduleRow:
    """A stored schedule and the dashboard path of its actions."""

    record: ScheduleRecord

    @property
    def path(self) -> str:
        return "/schedules/" + quote(self.record.name, safe="")

    @property
    def state(self) -> str:
        return ScheduleState(self.record.state).value


async def schedule_rows(sq: Sidequest) -> list[ScheduleRow]:
    """Every stored schedule, sorted by name."""
    return [ScheduleRow(record) for record in sorted(await sq.schedules.list(), key=lambda s: s.name)]


def schedule_routes(ctx: Context) -> list[BaseRoute]:
    """Routes for the schedules page and the schedule actions."""

    async def schedules_page(request: Request) -> Response:
        return render(ctx, request, "schedules.html", nav="schedules", rows=await schedule_rows(ctx.sq))

    async def schedule_action(request: Request) -> Response:
        name = str(request.path_params["name"])
        action = str(request.path_params["action"])
        if action not in SCHEDULE_ACTIONS:
            raise HTTPException(404, f"There is no schedule action {action[:40]!r}.")
        await guarded_form(request, ctx.csrf, read_only=ctx.read_only)
        current = await ctx.sq.schedules.get(name)
        if action == "pause":
            await ctx.sq.schedules.pause(name)
        else:
            if current.state == ScheduleState.DISABLED:
                raise HTTPException(
                    409, "This schedule is disabled: it is no longer declared in the configuration."
                )
            await ctx.sq.schedules.resume(name)
        return RedirectResponse(url(request, f"/schedules?done=schedule-{action}"), status_code=303)

    return [
        Route("/schedules", schedules_page, methods=["GET"]),
        Route("/schedules/{name:path}/{action}", schedule_action, methods=["POST"]),
    ]
