"""``sidequest demo``: an engine, a realistic mix of jobs and a live view, in one process."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

from .._backend_support import mask_url
from .._config import QueueConfig
from .._engine import Sidequest
from .._errors import ConfigurationError
from .._logging import LEVELS, configure_logging
from .._records import JobRecord
from . import _demo_jobs as demo_jobs
from ._app import connect
from ._output import remember_secret
from ._progress import LiveView, Tracker
from ._run import run_async

DEFAULT_URL = "sqlite:///sidequest-demo.sqlite3"
WAVES = 4
WAVE_INTERVAL = 2.0
REFRESH = 0.25
QUEUES = (
    QueueConfig("payments", concurrency=2, priority=20),
    QueueConfig("emails", concurrency=4, priority=10),
    QueueConfig("images", concurrency=3, priority=5),
    QueueConfig("default", concurrency=4, priority=0),
    QueueConfig("reports", concurrency=1, priority=0),
)


async def enqueue_wave(sq: Sidequest, wave: int) -> list[JobRecord]:
    """Thirteen jobs covering every outcome: complete, retry, fail, snooze, slow."""
    n = wave * 100
    b = sq.build
    jobs = [
        *await b(demo_jobs.SendWelcomeEmail)
        .queue("emails")
        .enqueue_many([(f"user{n + i}@example.com", 0.2 + 0.2 * i) for i in range(4)]),
        *await b(demo_jobs.ResizeImage)
        .queue("images")
        .enqueue_many([(f"photo-{n + i}.png", 320, 0.4 + 0.3 * i) for i in range(2)]),
        *await b(demo_jobs.ChargeCard)
        .queue("payments")
        .retry_delay(0.5)
        .enqueue_many([(1000 + n + i, 19.99 + i, 1 + i) for i in range(2)]),
        await b(demo_jobs.CallPartnerApi).enqueue("/v1/shipments", 3, 1.0),
        await b(demo_jobs.ImportContacts).enqueue(
            "contacts-broken.csv" if wave % 2 else f"contacts-{wave}.csv"
        ),
        await b(demo_jobs.SyncInventory)
        .max_attempts(3)
        .retry_delay(0.5)
        .backoff("fixed")
        .enqueue(f"SKU-{n}"),
        await b(demo_jobs.WaitForWarehouse).enqueue(2000 + n, time.time() + 3),
        await b(demo_jobs.GenerateReport).queue("reports").enqueue(f"monthly-{wave + 1}", 4.0 + wave),
    ]
    return jobs


def _where(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme == "sqlite" and parts.path not in ("", "/"):
        path = parts.path[1:] if parts.path.startswith("/") else parts.path
        return f"{mask_url(url)} (file {Path(path).resolve()})"
    if parts.scheme == "memory":
        return "memory:// (this process only: gone when the demo stops)"
    return mask_url(url)


class Demo:
    """Runs the engine, feeds it waves of jobs and redraws the live view until stopped."""

    def __init__(self, url: str, duration: float | None, view: LiveView, dashboard_port: int | None) -> None:
        self.url = url
        self.dashboard_port = dashboard_port
        self.dashboard: Any = None
        self.duration = duration
        self.view = view
        self.sq = Sidequest(url, queues=QUEUES, max_concurrent_jobs=12, shutdown_timeout=5)
        self.tracker = Tracker()
        self.ids: list[int] = []
        self.stopping: asyncio.Task[None] | None = None
        self.started_at = time.monotonic()

    def on_signal(self) -> None:
        if self.stopping is None:
            self.stopping = asyncio.ensure_future(self.sq.stop())
        else:
            self.sq.release_now()

    async def start_dashboard(self, port: int) -> None:
        """Serve the dashboard on ``port`` (any free port when it is taken), if it is installed."""
        try:
            from sidequest_dashboard import Dashboard
        except ImportError:
            click.echo("dashboard: not installed (pip install 'sidequest[dashboard]')")
            return
        for candidate in dict.fromkeys((port, 0)):
            dashboard = Dashboard(self.sq, port=candidate)
            try:
                await dashboard.start()
            except ConfigurationError:
                if candidate == 0:
                    raise
                continue
            self.dashboard = dashboard
            click.echo(f"dashboard: {dashboard.url}")
            return

    async def feed(self) -> None:
        for wave in range(WAVES):
            if self.stopping is not None:
                return
            self.ids.extend(job.id for job in await enqueue_wave(self.sq, wave))
            await asyncio.sleep(WAVE_INTERVAL)

    async def refresh(self) -> None:
        if not self.ids:
            return
        wanted = set(self.ids)
        page = await self.sq.jobs.list(queue=[q.name for q in QUEUES], limit=min(len(wanted) + 50, 1000))
        events = self.tracker.update(job for job in page if job.id in wanted)
        running = len(self.sq.running_jobs)
        if self.stopping is not None:
            footer = f"stopping: {running} job(s) may finish for up to 5 s (Ctrl-C again to release them now)"
        else:
            footer = "Ctrl-C to stop (running jobs finish or go back to waiting)"
        title = f"sidequest demo on {mask_url(self.url)}"
        self.view.draw(self.tracker, events, title, footer, time.monotonic() - self.started_at)

    async def run(self) -> None:
        await connect(self.sq, f"the demo database at {mask_url(self.url)}")
        await self.sq.start()
        click.echo(f"database: {_where(self.url)}")
        if self.dashboard_port is not None:
            await self.start_dashboard(self.dashboard_port)
        click.echo(
            f"enqueuing {WAVES} waves of 13 jobs on {len(QUEUES)} queues"
            + ("" if self.duration is None else f", stopping after {self.duration:g} s")
            + "; Ctrl-C stops gracefully"
        )
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self.on_signal)
        feeder = asyncio.create_task(self.feed())
        try:
            while self.sq.started:
                elapsed = time.monotonic() - self.started_at
                if self.duration is not None and self.stopping is None and elapsed >= self.duration:
                    self.on_signal()
                await self.refresh()
                await asyncio.sleep(REFRESH)
            await self.refresh()
        finally:  # the handlers stay until the end: a further Ctrl-C only hurries the stop along
            feeder.cancel()
            await asyncio.gather(feeder, return_exceptions=True)
            if self.stopping is not None:
                await asyncio.gather(self.stopping, return_exceptions=True)
            if self.dashboard is not None:
                await self.dashboard.stop()
            await self.sq.close()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)

    def summary(self) -> list[str]:
        counts = self.tracker.counts
        lines = ["", "summary: " + ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))]
        if urlsplit(self.url).scheme != "memory":
            failed = [j.id for j in self.tracker.jobs.values() if j.state.value == "failed"]
            url = mask_url(self.url)
            lines += [
                "look around:",
                f"  sidequest jobs list --url {url}",
                f"  sidequest jobs list --state failed --url {url}",
                f"  sidequest jobs show {failed[0] if failed else 'ID'} --url {url}",
                f"  sidequest queues list --url {url}",
                f"  sidequest dashboard --url {url}",
            ]
        return lines


@click.command()
@click.option(
    "--url",
    default=DEFAULT_URL,
    show_default=True,
    envvar="SIDEQUEST_DEMO_URL",
    help="Database to use (an SQLite file in the current directory by default).",
)
@click.option(
    "--duration",
    type=click.FloatRange(min=0),
    metavar="SECONDS",
    help="Stop gracefully after this many seconds (default: run until Ctrl-C).",
)
@click.option(
    "--dashboard-port",
    type=click.IntRange(0, 65535),
    default=8678,
    show_default=True,
    metavar="PORT",
    help="Port of the dashboard on 127.0.0.1 (another free port is used when it is taken).",
)
@click.option("--no-dashboard", is_flag=True, help="Do not start the dashboard.")
@click.option(
    "--log-level",
    type=click.Choice(LEVELS, case_sensitive=False),
    default="error",
    show_default=True,
    help="Least severe log records shown (on stderr).",
)
def demo(url: str, duration: float | None, dashboard_port: int, no_dashboard: bool, log_level: str) -> None:
    """Run a worker and a realistic mix of example jobs, with live progress.

    Jobs complete, retry then succeed, fail, snooze and take a while, on five queues.
    Ctrl-C stops gracefully. The jobs stay in the database: inspect them afterwards
    with `sidequest jobs list --url URL`.
    """
    remember_secret(url)
    configure_logging(log_level)
    port = None if no_dashboard else dashboard_port
    session = Demo(url, duration, LiveView(sys.stdout.isatty()), port)
    run_async(session.run())
    for line in session.summary():
        click.echo(line)
