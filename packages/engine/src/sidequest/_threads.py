"""Run a plain function on its own daemon thread and await it (never blocks interpreter exit)."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def run_in_thread(fn: Callable[[], T], name: str) -> asyncio.Future[T]:
    """Start ``fn`` on a daemon thread; the returned future resolves on the calling loop.

    Cancelling the future does not stop the thread (Python cannot kill threads): the
    function keeps running until it returns, and its result is discarded.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()
    context = contextvars.copy_context()

    def settle(outcome: Callable[[], None]) -> None:
        if not future.done():
            outcome()

    def target() -> None:
        try:
            value = context.run(fn)
        except BaseException as exc:  # delivered to the awaiting coroutine
            error = exc
            _post(loop, lambda: settle(lambda: future.set_exception(error)))
        else:
            _post(loop, lambda: settle(lambda: future.set_result(value)))

    threading.Thread(target=target, name=name, daemon=True).start()
    return future


def _post(loop: asyncio.AbstractEventLoop, callback: Callable[[], Any]) -> None:
    try:
        loop.call_soon_threadsafe(callback)
    except RuntimeError:  # the loop is closed: nobody waits any more
        pass
