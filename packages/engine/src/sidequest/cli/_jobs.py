"""``sidequest jobs …``: list, show, cancel, rerun, run and snooze jobs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import click

from .._engine import Sidequest
from .._errors import InvalidStateError, JobNotFoundError
from .._records import JobRecord, JobState, ListOrder
from ._admin import confirm_or_abort, yes_option
from ._app import Target, connection_options, resolve_target, session
from ._output import (
    compact_json,
    duration,
    error_line,
    job_detail,
    job_json,
    job_line,
    json_option,
    parse_duration,
    print_json,
    short_when,
    state_text,
    table,
)
from ._run import USAGE, run_async

PAGE_MAX = 1000
STATES = [state.value for state in JobState]


def _ids(ctx: click.Context, param: click.Parameter, value: int | tuple[int, ...]) -> int | tuple[int, ...]:
    for job_id in value if isinstance(value, tuple) else (value,):
        if job_id < 1:
            raise click.BadParameter(f"job ids are positive whole numbers, got {job_id}", ctx, param)
    return value


@click.group()
def jobs() -> None:
    """List, inspect and act on jobs."""


def _when(job: JobRecord, now: datetime) -> str:
    if job.state == JobState.WAITING:
        return short_when(job.available_at, now) if job.available_at > now else "ready"
    if job.state == JobState.CLAIMED:
        return short_when(job.claimed_at, now)
    if job.state == JobState.RUNNING:
        return short_when(job.attempted_at, now)
    return short_when(job.finished_at, now)


def _args_text(job: JobRecord) -> str:
    value: object = list(job.args) if not job.kwargs else [*job.args, dict(job.kwargs)]
    return compact_json(value)


@jobs.command("list")
@click.option(
    "--state",
    "states",
    multiple=True,
    type=click.Choice(STATES),
    help="Only jobs in this state (repeatable).",
)
@click.option(
    "--queue", "queues", multiple=True, metavar="NAME", help="Only jobs of this queue (repeatable)."
)
@click.option(
    "--class",
    "classes",
    multiple=True,
    metavar="NAME",
    help="Only jobs of this class name (repeatable; % is a wildcard).",
)
@click.option(
    "--limit", type=click.IntRange(1, PAGE_MAX), default=20, show_default=True, help="Jobs per page."
)
@click.option(
    "--before", type=click.IntRange(min=1), metavar="ID", help="Continue a page: jobs with an id below ID."
)
@click.option("--after", type=click.IntRange(min=0), metavar="ID", help="Only jobs with an id above ID.")
@click.option(
    "--order",
    type=click.Choice(["newest", "oldest"]),
    default="newest",
    show_default=True,
    help="newest first (next page: --before) or oldest first (next page: --after).",
)
@connection_options
@json_option
@click.pass_context
def list_jobs(
    ctx: click.Context,
    states: tuple[str, ...],
    queues: tuple[str, ...],
    classes: tuple[str, ...],
    limit: int,
    before: int | None,
    after: int | None,
    order: ListOrder,
    url: str | None,
    app: str | None,
    as_json: bool,
) -> None:
    """Jobs, newest first (or oldest), with their state, queue, class, attempt and arguments."""
    target = resolve_target(ctx, url, app)

    async def go() -> None:
        async with session(target) as sq:
            page = await sq.jobs.list(
                state=states or None,
                queue=queues or None,
                job_class=classes or None,
                before_id=before,
                after_id=after,
                order=order,
                limit=min(limit + 1, PAGE_MAX),
            )
        more = len(page) > limit or len(page) == PAGE_MAX
        page = page[:limit]
        next_id = page[-1].id if more and page else None
        next_option = "--after" if order == "oldest" else "--before"
        if as_json:
            print_json(
                {
                    "jobs": [job_json(j) for j in page],
                    "next_before": next_id if order == "newest" else None,
                    "next_after": next_id if order == "oldest" else None,
                }
            )
            return
        if not page:
            click.echo("no jobs match")
            return
        now = datetime.now(UTC)
        rows = [
            [
                str(j.id),
                state_text(j.state.value),
                j.queue,
                j.job_class,
                f"{j.attempt}/{j.max_attempts}",
                _when(j, now),
                _args_text(j),
            ]
            for j in page
        ]
        click.echo(table(["id", "state", "queue", "class", "attempt", "when", "args"], rows))
        if next_id is not None:
            click.echo(f"next page: {next_option} {next_id}")

    run_async(go())


@jobs.command()
@click.argument("job_id", metavar="ID", type=int, callback=_ids)
@connection_options
@json_option
@click.pass_context
def show(ctx: click.Context, job_id: int, url: str | None, app: str | None, as_json: bool) -> None:
    """Everything about job ID: arguments, result, every error with its traceback, times, lease."""
    target = resolve_target(ctx, url, app)

    async def go() -> None:
        async with session(target) as sq:
            job = await sq.jobs.get(job_id)
        if as_json:
            print_json(job_json(job))
        else:
            click.echo(job_detail(job))

    run_async(go())


async def _act(sq: Sidequest, action: str, job_id: int, delay: float | None) -> JobRecord:
    if action == "cancel":
        return await sq.jobs.cancel(job_id)
    if action == "rerun":
        return await sq.jobs.rerun(job_id)
    if action == "run":
        return await sq.jobs.run(job_id)
    assert delay is not None
    return await sq.jobs.snooze(job_id, delay)


async def _select(sq: Sidequest, state: JobState, queue: str | None) -> list[int]:
    """Ids of every job in ``state`` (and ``queue``), paging through the whole table."""
    ids: list[int] = []
    before: int | None = None
    while True:
        page = await sq.jobs.list(state=state.value, queue=queue, before_id=before, limit=PAGE_MAX)
        ids.extend(j.id for j in page)
        if len(page) < PAGE_MAX:
            return ids
        before = page[-1].id


DONE = {"cancel": "canceled", "rerun": "rerun", "run": "ready now", "snooze": "snoozed"}


def _run_action(
    ctx: click.Context,
    action: str,
    ids: Sequence[int],
    url: str | None,
    app: str | None,
    as_json: bool,
    *,
    bulk: JobState | None = None,
    queue: str | None = None,
    yes: bool = False,
    delay: float | None = None,
) -> int:
    if bulk is not None and ids:
        raise click.UsageError(f"give job ids or --all-{bulk.value}, not both")
    if bulk is None and not ids:
        hint = (
            f" (or --all-{'failed' if action == 'rerun' else 'waiting'})"
            if action in ("rerun", "cancel")
            else ""
        )
        raise click.UsageError(f"give at least one job ID{hint}")
    if bulk is None and queue is not None:
        raise click.UsageError("--queue only goes with a bulk option")
    target: Target = resolve_target(ctx, url, app)

    async def go() -> int:
        done: list[JobRecord] = []
        failures: list[str] = []
        skipped = 0
        async with session(target) as sq:
            selected = list(dict.fromkeys(ids))  # each job once, in the order given
            if bulk is not None:
                selected = await _select(sq, bulk, queue)
                where = f" in queue {queue}" if queue else ""
                if not selected:
                    click.echo(f"no {bulk.value} jobs{where}: nothing to {action}")
                    return 0
                confirm_or_abort(f"{action.capitalize()} {len(selected)} {bulk.value} job(s){where}?", yes)
            for job_id in selected:
                try:
                    done.append(await _act(sq, action, job_id, delay))
                except (InvalidStateError, JobNotFoundError) as exc:
                    if bulk is not None:
                        skipped += 1  # it changed state (or was deleted) since it was selected
                    elif isinstance(exc, InvalidStateError):
                        failures.append(f"{exc} (see it with `sidequest jobs show {job_id}`)")
                    else:
                        failures.append(f"{exc} (list jobs with `sidequest jobs list`)")
        if as_json:
            print_json([job_json(j) for j in done])
        else:
            if bulk is not None:
                note = f" ({skipped} skipped: their state changed meanwhile)" if skipped else ""
                click.echo(f"{DONE[action]} {len(done)} job(s){note}")
            extra = f" for {duration(delay)}" if delay is not None else ""
            for job in done if bulk is None else ():
                click.echo(f"{DONE[action]}{extra}: {job_line(job)}")
        for failure in failures:
            error_line(failure)
        return USAGE if failures else 0

    return run_async(go())


@jobs.command()
@click.argument("ids", metavar="ID…", nargs=-1, type=int, callback=_ids)
@click.option("--all-waiting", is_flag=True, help="Cancel every waiting job (asks first).")
@click.option("--queue", metavar="NAME", help="With --all-waiting: only this queue.")
@yes_option
@connection_options
@json_option
@click.pass_context
def cancel(
    ctx: click.Context,
    ids: tuple[int, ...],
    all_waiting: bool,
    queue: str | None,
    yes: bool,
    url: str | None,
    app: str | None,
    as_json: bool,
) -> int:
    """Cancel waiting, claimed or running jobs (a running job is asked to stop)."""
    bulk = JobState.WAITING if all_waiting else None
    return _run_action(ctx, "cancel", ids, url, app, as_json, bulk=bulk, queue=queue, yes=yes)


@jobs.command()
@click.argument("ids", metavar="ID…", nargs=-1, type=int, callback=_ids)
@click.option("--all-failed", is_flag=True, help="Rerun every failed job (asks first).")
@click.option("--queue", metavar="NAME", help="With --all-failed: only this queue.")
@yes_option
@connection_options
@json_option
@click.pass_context
def rerun(
    ctx: click.Context,
    ids: tuple[int, ...],
    all_failed: bool,
    queue: str | None,
    yes: bool,
    url: str | None,
    app: str | None,
    as_json: bool,
) -> int:
    """Run completed, failed or canceled jobs again (one more attempt if they were exhausted)."""
    bulk = JobState.FAILED if all_failed else None
    return _run_action(ctx, "rerun", ids, url, app, as_json, bulk=bulk, queue=queue, yes=yes)


@jobs.command()
@click.argument("ids", metavar="ID…", nargs=-1, type=int, callback=_ids)
@connection_options
@json_option
@click.pass_context
def run(ctx: click.Context, ids: tuple[int, ...], url: str | None, app: str | None, as_json: bool) -> int:
    """Make waiting jobs available now (skipping their delay or backoff)."""
    return _run_action(ctx, "run", ids, url, app, as_json)


def _duration(ctx: click.Context, param: click.Parameter, value: str) -> float:
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx, param) from exc


@jobs.command()
@click.argument("ids", metavar="ID…", nargs=-1, type=int, callback=_ids)
@click.option("--delay", required=True, callback=_duration, help="How long from now: 30, 90s, 5m, 2h, 1d.")
@connection_options
@json_option
@click.pass_context
def snooze(
    ctx: click.Context, ids: tuple[int, ...], delay: float, url: str | None, app: str | None, as_json: bool
) -> int:
    """Postpone waiting jobs by --delay from now."""
    return _run_action(ctx, "snooze", ids, url, app, as_json, delay=delay)
