"""Function jobs defined at module level (importable by workers)."""

from __future__ import annotations

from typing import Any

from sidequest import JobContext, Sidequest

sq = Sidequest("memory://", poll_interval=0.02)


@sq.job(queue="emails", max_attempts=3)
async def send_email(ctx: JobContext, to: str) -> Any:
    if ctx.attempt == 1:
        return ctx.retry("first attempt throttled", delay=0.05)
    return {"sent": to, "attempt": ctx.attempt}


@sq.job()
def add(a: int, b: int) -> int:
    return a + b


@sq.job(max_attempts=1)
def refuses(ctx: JobContext) -> Any:
    return ctx.fail("no")
