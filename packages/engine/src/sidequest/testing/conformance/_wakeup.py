"""Wake-up callbacks: subscribers learn when new work may be ready."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sidequest._transitions import RUN_NOW
from sidequest.backend import Backend, JobState

from ._fixtures import apply, enqueue_one, make_job, tick

WAIT = 2.0


async def _enqueue_until(backend: Backend, woken: asyncio.Event, attempts: int = 20) -> bool:
    """Enqueue until ``woken`` is set (a listener may need a moment to start)."""
    for _ in range(attempts):
        await enqueue_one(backend, "wake-up")
        try:
            await asyncio.wait_for(woken.wait(), 0.25)
        except TimeoutError:
            continue
        return True
    return False


@asynccontextmanager
async def _listening(backend: Backend) -> AsyncIterator[asyncio.Event]:
    """A subscribed event, once a first wake-up proved the subscription works; cleared for use."""
    woken = asyncio.Event()
    backend.subscribe(woken.set)
    try:
        assert await _enqueue_until(backend, woken), "no wake-up after enqueue"
        await asyncio.sleep(0.05)
        woken.clear()
        yield woken
    finally:
        backend.unsubscribe(woken.set)


class WakeupTests:
    """``subscribe`` callbacks fire after an enqueue or a change that makes a job ready."""

    async def test_subscriber_is_called_after_enqueue(self, backend: Backend) -> None:
        async with _listening(backend) as woken:
            await enqueue_one(backend)
            await asyncio.wait_for(woken.wait(), WAIT)

    async def test_unsubscribed_callback_is_not_called(self, backend: Backend) -> None:
        calls: list[str] = []

        def gone() -> None:
            calls.append("gone")

        backend.subscribe(gone)
        backend.unsubscribe(gone)
        async with _listening(backend) as woken:
            await enqueue_one(backend)
            await asyncio.wait_for(woken.wait(), WAIT)
        assert calls == []

    async def test_subscriber_is_called_when_a_job_becomes_ready(self, backend: Backend) -> None:
        job = await enqueue_one(backend, available_in=3600.0)
        async with _listening(backend) as woken:
            await apply(backend, job.id, RUN_NOW)
            await asyncio.wait_for(woken.wait(), WAIT)

    async def test_subscriber_is_called_when_leases_are_released(self, backend: Backend) -> None:
        await make_job(backend, JobState.CLAIMED, lease=0.0)
        async with _listening(backend) as woken:
            await tick()
            assert len(await backend.release_expired()) == 1
            await asyncio.wait_for(woken.wait(), WAIT)
