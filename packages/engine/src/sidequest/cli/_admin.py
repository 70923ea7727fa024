"""Schema and queue administration: ``migrate``, ``rollback``, ``backends``, ``queues …``."""

from __future__ import annotations

import sys

import click

from .._plugins import registry
from .._records import JobCounts
from ._app import Target, connection_options, resolve_target, session
from ._output import json_option, print_json, queue_json, state_text, table
from ._run import run_async


def confirm_or_abort(question: str, yes: bool) -> None:
    """Ask ``question`` unless ``--yes``; refuse to guess when nobody can answer."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise click.UsageError(f"{question.rstrip('?')}: confirmation needed; pass --yes to go ahead")
    click.confirm(question, abort=True)


yes_option = click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")


@click.command()
@connection_options
@click.pass_context
def migrate(ctx: click.Context, url: str | None, app: str | None) -> None:
    """Create or upgrade the database schema (safe to run again)."""
    target = resolve_target(ctx, url, app)

    async def go() -> None:
        async with session(target, create=True) as sq:
            await sq.backend.migrate()
            click.echo(f"schema of {sq.backend.url} is up to date")

    run_async(go())


@click.command()
@connection_options
@yes_option
@click.pass_context
def rollback(ctx: click.Context, url: str | None, app: str | None, yes: bool) -> None:
    """Undo the most recent schema migration (what it created is dropped)."""
    target = resolve_target(ctx, url, app)
    confirm_or_abort(f"Undo the latest schema migration of {target.describe()}?", yes)

    async def go() -> None:
        async with session(target) as sq:
            await sq.backend.rollback_migration()
            click.echo(f"rolled back the latest migration of {sq.backend.url}")

    run_async(go())


@click.command()
@json_option
def backends(as_json: bool) -> None:
    """List the installed backends: URL scheme, distribution and version."""
    entries = registry().entries()
    if as_json:
        print_json(
            [{"scheme": e.scheme, "distribution": e.distribution, "version": e.version} for e in entries]
        )
        return
    click.echo(
        table(["scheme", "distribution", "version"], [[e.scheme, e.distribution, e.version] for e in entries])
    )


@click.group()
def queues() -> None:
    """List queues and change their state, concurrency and priority."""


@queues.command("list")
@connection_options
@json_option
@click.pass_context
def list_queues(ctx: click.Context, url: str | None, app: str | None, as_json: bool) -> None:
    """Every queue with its settings and job counts (highest priority first)."""
    target = resolve_target(ctx, url, app)

    async def go() -> None:
        async with session(target) as sq:
            stored = await sq.queues.list()
            counts = await sq.jobs.count_by_queue()
        if as_json:
            print_json([queue_json(q) | {"jobs": counts.get(q.name, JobCounts()).as_dict()} for q in stored])
            return
        rows = []
        for q in stored:
            c = counts.get(q.name)
            rows.append(
                [
                    q.name,
                    state_text(q.state.value) if q.state.value == "paused" else q.state.value,
                    str(q.priority),
                    str(q.concurrency),
                    *(
                        str(getattr(c, s, 0))
                        for s in ("waiting", "running", "completed", "failed", "canceled")
                    ),
                ]
            )
        if not rows:
            click.echo("no queues yet: a queue is created when its first job is enqueued")
            return
        headers = [
            "queue",
            "state",
            "priority",
            "concurrency",
            "waiting",
            "running",
            "completed",
            "failed",
            "canceled",
        ]
        click.echo(table(headers, rows))

    run_async(go())


@queues.command()
@click.argument("name")
@connection_options
@json_option
@click.pass_context
def pause(ctx: click.Context, name: str, url: str | None, app: str | None, as_json: bool) -> None:
    """Stop claiming NAME's jobs (running ones finish)."""
    _change_queue(ctx, name, url, app, as_json, "pause")


@queues.command()
@click.argument("name")
@connection_options
@json_option
@click.pass_context
def resume(ctx: click.Context, name: str, url: str | None, app: str | None, as_json: bool) -> None:
    """Claim NAME's jobs again."""
    _change_queue(ctx, name, url, app, as_json, "resume")


@queues.command("set")
@click.argument("name")
@click.option("--concurrency", type=click.IntRange(min=1), help="Jobs of this queue one worker runs at once.")
@click.option("--priority", type=int, help="Higher-priority queues are served first.")
@connection_options
@json_option
@click.pass_context
def set_queue(
    ctx: click.Context,
    name: str,
    concurrency: int | None,
    priority: int | None,
    url: str | None,
    app: str | None,
    as_json: bool,
) -> None:
    """Change NAME's concurrency and/or priority."""
    if concurrency is None and priority is None:
        raise click.UsageError("nothing to change: give --concurrency N and/or --priority P")
    _change_queue(ctx, name, url, app, as_json, "set", concurrency=concurrency, priority=priority)


def _change_queue(
    ctx: click.Context,
    name: str,
    url: str | None,
    app: str | None,
    as_json: bool,
    action: str,
    concurrency: int | None = None,
    priority: int | None = None,
) -> None:
    target: Target = resolve_target(ctx, url, app)

    async def go() -> None:
        async with session(target) as sq:
            if action == "pause":
                queue = await sq.queues.pause(name)
            elif action == "resume":
                queue = await sq.queues.resume(name)
            else:
                queue = await sq.queues.update(name, concurrency=concurrency, priority=priority)
        if as_json:
            print_json(queue_json(queue))
        else:
            click.echo(
                f"queue {queue.name}: {queue.state.value}, priority {queue.priority}, "
                f"concurrency {queue.concurrency}"
            )

    run_async(go())
