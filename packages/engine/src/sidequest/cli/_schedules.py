"""``sidequest schedules …``: list, pause, resume and delete the recurring jobs stored in the database."""

from __future__ import annotations

from typing import Any

import click

from .._records import ScheduleRecord
from ._admin import confirm_or_abort, yes_option
from ._app import connection_options, resolve_target, session
from ._output import json_option, print_json, table
from ._run import run_async


def schedule_json(s: ScheduleRecord) -> dict[str, Any]:
    return {
        "name": s.name,
        "cron": s.cron,
        "tz": s.tz,
        "queue": s.queue,
        "job_class": s.job_class,
        "script": s.script,
        "args": list(s.args),
        "kwargs": dict(s.kwargs),
        "catch_up": s.catch_up,
        "no_overlap": s.no_overlap,
        "declared": s.declared,
        "state": s.state.value,
        "next_fire_at": s.next_fire_at.isoformat(),
        "last_fired_at": s.last_fired_at.isoformat() if s.last_fired_at else None,
        "last_job_id": s.last_job_id,
    }


@click.group()
def schedules() -> None:
    """List recurring jobs and pause, resume or delete them."""


@schedules.command("list")
@connection_options
@json_option
@click.pass_context
def list_schedules(ctx: click.Context, url: str | None, app: str | None, as_json: bool) -> None:
    """Every stored schedule with its next and last fire times."""
    target = resolve_target(ctx, url, app)

    async def go() -> None:
        async with session(target) as sq:
            stored = await sq.schedules.list()
        if as_json:
            print_json([schedule_json(s) for s in stored])
            return
        if not stored:
            click.echo("no schedules yet: create one with sq.build(Job).schedule(cron, ...)")
            return
        rows = [
            [
                s.name,
                s.cron,
                s.tz,
                s.job_class,
                s.queue,
                s.state.value,
                s.next_fire_at.isoformat(timespec="seconds"),
                s.last_fired_at.isoformat(timespec="seconds") if s.last_fired_at else "-",
                str(s.last_job_id or "-"),
            ]
            for s in stored
        ]
        headers = ["name", "cron", "tz", "class", "queue", "state", "next fire", "last fire", "last job"]
        click.echo(table(headers, rows))

    run_async(go())


def _act(
    ctx: click.Context,
    name: str,
    url: str | None,
    app: str | None,
    as_json: bool,
    action: str,
    yes: bool = True,
) -> None:
    target = resolve_target(ctx, url, app)

    async def go() -> None:
        async with session(target) as sq:
            if action == "delete":
                await sq.schedules.get(name)  # an unknown name is an error before any question
                confirm_or_abort(f"Delete schedule {name!r}?", yes)
                await sq.schedules.delete(name)
                record = None
            else:
                record = await getattr(sq.schedules, action)(name)
        if as_json:
            print_json(schedule_json(record) if record else {"name": name, "deleted": True})
        elif record is None:
            click.echo(f"schedule {name}: deleted")
        else:
            click.echo(
                f"schedule {record.name}: {record.state.value}, next fire {record.next_fire_at.isoformat()}"
            )

    run_async(go())


@schedules.command()
@click.argument("name")
@connection_options
@json_option
@click.pass_context
def pause(ctx: click.Context, name: str, url: str | None, app: str | None, as_json: bool) -> None:
    """Stop firing NAME (its jobs already enqueued still run)."""
    _act(ctx, name, url, app, as_json, "pause")


@schedules.command()
@click.argument("name")
@connection_options
@json_option
@click.pass_context
def resume(ctx: click.Context, name: str, url: str | None, app: str | None, as_json: bool) -> None:
    """Fire NAME again from its next tick after now."""
    _act(ctx, name, url, app, as_json, "resume")


@schedules.command()
@click.argument("name")
@yes_option
@connection_options
@json_option
@click.pass_context
def delete(ctx: click.Context, name: str, yes: bool, url: str | None, app: str | None, as_json: bool) -> None:
    """Delete NAME (a schedule declared in Sidequest(schedules=...) comes back at the next start)."""
    _act(ctx, name, url, app, as_json, "delete", yes)
