"""``sidequest worker APP``: run jobs until SIGTERM/SIGINT (or, with ``--drain``, until none is left)."""

from __future__ import annotations

import asyncio
import logging

import click

from .._engine import RUNNERS, Sidequest
from .._errors import ConfigurationError
from .._logging import LEVELS, configure_logging
from .._prefetch import Prefetch, check_prefetch
from .._records import QueueState
from ._app import connect, load_app
from ._run import run_async

log = logging.getLogger("sidequest.cli")
DRAIN_CHECK_INTERVAL = 0.25


def parse_queues(spec: str) -> dict[str, int | None]:
    """``"emails:2,default"`` → ``{"emails": 2, "default": None}`` (None: the stored concurrency)."""
    queues: dict[str, int | None] = {}
    usage = "use NAME or NAME:CONCURRENCY, comma-separated, e.g. --queues emails:2,default"
    for item in spec.split(","):
        name, sep, limit = item.strip().partition(":")
        name = name.strip()
        if not name:
            raise click.BadParameter(f"empty queue name in {spec!r}; {usage}", param_hint="'--queues'")
        if name in queues:
            raise click.BadParameter(f"queue {name!r} is given twice; {usage}", param_hint="'--queues'")
        if not sep:
            queues[name] = None
            continue
        if not limit.strip().isdigit() or int(limit) < 1:
            raise click.BadParameter(
                f"concurrency {limit!r} of queue {name!r} must be a whole number ≥ 1; {usage}",
                param_hint="'--queues'",
            )
        queues[name] = int(limit)
    return queues


async def pending_jobs(sq: Sidequest, served: frozenset[str] | None) -> int:
    """Jobs the served queues still hold: waiting (in active queues), claimed or running."""
    counts = await sq.jobs.count_by_queue()
    paused = {q.name for q in await sq.queues.list() if q.state == QueueState.PAUSED}
    total = 0
    for name, c in counts.items():
        if served is not None and name not in served:
            continue
        total += c.claimed + c.running + (0 if name in paused else c.waiting)
    return total


async def _drain(sq: Sidequest, served: frozenset[str] | None) -> None:
    while sq.started:
        await asyncio.sleep(DRAIN_CHECK_INTERVAL)
        if not sq.started or sq.running_jobs:
            continue
        if await pending_jobs(sq, served) == 0 and not sq.running_jobs:
            log.info("drained: no job left in the served queues; stopping")
            sq.request_stop()
            return


async def serve(sq: Sidequest, queues: dict[str, int | None] | None, drain: bool, where: str) -> None:
    """Start ``sq`` on ``queues`` and run until a signal (or the drain) stops it."""
    try:
        await connect(sq, where)
        await sq.start(queues=queues, handle_signals=True)
        log.info(
            "serving %s with up to %d jobs at once%s",
            "queues " + ", ".join(queues) if queues else "every queue",
            sq.max_concurrent_jobs,
            " until drained" if drain else "",
        )
        watcher = asyncio.create_task(_drain(sq, sq.only_queues)) if drain else None
        await sq.run_until_stopped(queues=queues)
        if watcher is not None:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
    finally:
        await sq.close()


@click.command()
@click.argument("app", envvar="SIDEQUEST_APP", metavar="APP", required=False)
@click.option(
    "--queues",
    "-q",
    metavar="NAME[:N],…",
    help="Only serve these queues; NAME:N also caps how many of its jobs run here at once "
    "(a bare NAME uses the queue's stored concurrency). Example: emails:2,default.",
)
@click.option(
    "--concurrency",
    "-c",
    type=click.IntRange(min=1),
    metavar="N",
    help="Most jobs this process runs at once (overrides the app's max_concurrent_jobs).",
)
@click.option(
    "--prefetch",
    metavar="auto|N",
    callback=lambda _ctx, _param, value: None if value is None else _prefetch_option(value),
    help="Jobs taken ahead of a free slot: auto (about 0.1 s of work while jobs are short, "
    "the default) or a fixed N (0 turns it off).",
)
@click.option(
    "--runner",
    type=click.Choice(RUNNERS),
    help="Run jobs on the event loop/threads (async) or in a pool of worker processes (process).",
)
@click.option(
    "--processes",
    type=click.IntRange(min=1),
    metavar="N",
    help="Size of the process runner's pool (default: the app's, or the number of CPUs).",
)
@click.option(
    "--drain", is_flag=True, help="Exit 0 once no job is waiting, claimed or running in the served queues."
)
@click.option(
    "--shutdown-timeout",
    type=click.FloatRange(min=0),
    metavar="SECONDS",
    help="On SIGTERM/SIGINT, how long running jobs may finish before they are released "
    "(default: the app's shutdown_timeout, 30 s).",
)
@click.option(
    "--log-level", type=click.Choice(LEVELS, case_sensitive=False), default="info", show_default=True
)
@click.option("--json-logs", is_flag=True, help="Log one JSON object per line (for log collectors).")
def worker(
    app: str | None,
    queues: str | None,
    concurrency: int | None,
    prefetch: Prefetch | None,
    runner: str | None,
    processes: int | None,
    drain: bool,
    shutdown_timeout: float | None,
    log_level: str,
    json_logs: bool,
) -> None:
    """Run the jobs of APP until stopped.

    APP is module:attribute naming your Sidequest instance (or env SIDEQUEST_APP), imported
    with the current directory on sys.path, e.g. `sidequest worker myapp.tasks:sq`.

    SIGTERM or Ctrl-C stops claiming and lets running jobs finish for up to the shutdown
    timeout; then they go back to waiting. A second signal releases them at once.
    """
    if not app:
        raise click.UsageError(
            "missing APP: pass module:attribute naming your Sidequest instance "
            "(e.g. `sidequest worker myapp.tasks:sq`) or set SIDEQUEST_APP"
        )
    selected = parse_queues(queues) if queues is not None else None
    configure_logging(log_level, json_lines=json_logs)
    sq = load_app(app)
    if concurrency is not None:
        sq.max_concurrent_jobs = concurrency
    if prefetch is not None:
        sq.prefetch = prefetch
    if runner is not None:
        sq.runner = runner
    if processes is not None:
        if sq.runner != "process" and all(c.runner != "process" for c in sq.queue_configs.values()):
            raise click.UsageError(
                "--processes sizes the process runner's pool, which nothing here uses: "
                "add --runner process (or give a queue runner='process' in the app)"
            )
        sq.processes = processes
    if shutdown_timeout is not None:
        sq.shutdown_timeout = shutdown_timeout
    run_async(serve(sq, selected, drain, f"the database of {app}"))


def _prefetch_option(value: str) -> Prefetch:
    try:
        return check_prefetch(value if value == "auto" else int(value))
    except (ValueError, ConfigurationError):
        raise click.BadParameter(f"{value!r}: use auto or a whole number ≥ 0") from None
