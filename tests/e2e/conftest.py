"""A dashboard served by uvicorn on a free loopback port (background thread) and a Chromium browser."""

from __future__ import annotations

import asyncio
import os
import random
import threading
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from dashboard.dashboard_seed import ResizeImage, SendEmail, error, finish, seed
from sidequest import JobRecord, JobState, Sidequest
from sidequest.backend import MemoryBackend
from sidequest_dashboard import Dashboard

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
T = TypeVar("T")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.path.exists(CHROMIUM) or os.environ.get("CI"):
        return
    skip = pytest.mark.skip(reason=f"{CHROMIUM} is not installed (these tests always run when CI is set)")
    for item in items:
        if Path(str(item.fspath)).parent == Path(__file__).parent:
            item.add_marker(skip)


class Clock:
    """A clock the seeding can move back in time (then it follows real time again)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        now = datetime.now(UTC) - self.offset
        return now.replace(microsecond=now.microsecond // 1000 * 1000)


class Server:
    """The engine and dashboard running in their own event loop thread."""

    def __init__(self) -> None:
        self.clock = Clock()
        self.sq = Sidequest(MemoryBackend(clock=self.clock))
        self.dashboard = Dashboard(self.sq, port=0)
        self.jobs: dict[str, JobRecord] = {}
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="dashboard-e2e", daemon=True)

    @property
    def url(self) -> str:
        return self.dashboard.url.rstrip("/")

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(30) or self._error:
            raise RuntimeError("the e2e dashboard did not start") from self._error

    def call(self, work: Callable[[Sidequest], Awaitable[T]]) -> T:
        """Run ``work(sq)`` in the server's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(_call(work, self.sq), self.loop).result(30)

    def stop(self) -> None:
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._main())

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        try:
            await self.sq.configure()
            await self._seed()
            await self.dashboard.start()
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            raise
        self._ready.set()
        await self._stop.wait()
        await self.dashboard.stop()
        await self.sq.close()

    async def _seed(self) -> None:
        """History spread over the last day, then one job per state (now)."""
        rng = random.Random(7)
        sq = self.sq
        for minutes in sorted((rng.uniform(1, 24 * 60) for _ in range(70)), reverse=True):
            self.clock.offset = timedelta(minutes=minutes)
            queue = rng.choice(["emails", "images", "reports"])
            job_class = SendEmail if queue != "images" else ResizeImage
            job = await sq.build(job_class).queue(queue).enqueue(f"user{int(minutes)}@example.com")
            if rng.random() < 0.18:
                await finish(sq, job, JobState.FAILED, err=error(f"timeout talking to {queue}"))
            else:
                await finish(sq, job, JobState.COMPLETED, result={"ok": True, "took_ms": rng.randint(5, 900)})
        for minutes in sorted((rng.uniform(0, 55) for _ in range(40)), reverse=True):
            self.clock.offset = timedelta(minutes=minutes)
            job = (
                await sq.build(SendEmail)
                .queue("newsletters")
                .enqueue(f"reader{int(minutes * 10)}@example.com")
            )
            await finish(sq, job, JobState.COMPLETED if rng.random() < 0.9 else JobState.FAILED, err=error())
        self.clock.offset = timedelta(0)
        for i in range(6):
            await sq.build(SendEmail).queue("digest").enqueue(f"pending{i}@example.com", subject="Weekly")
        self.jobs = await seed(sq)
        await sq.queues.update("reports", priority=5)
        await sq.queues.update("images", concurrency=4)


async def _call(work: Callable[[Sidequest], Awaitable[T]], sq: Sidequest) -> T:
    return await work(sq)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    running = Server()
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page that accepts confirm() dialogs and records console errors (CSP included)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    tab = context.new_page()
    tab.console_errors = []
    tab.on("console", lambda msg: tab.console_errors.append(msg.text) if msg.type == "error" else None)
    tab.on("pageerror", lambda exc: tab.console_errors.append(str(exc)))
    tab.on("dialog", lambda dialog: dialog.accept())
    try:
        yield tab
    finally:
        context.close()


def screenshot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
