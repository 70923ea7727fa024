"""Calling the async API from synchronous code (Flask, Django, scripts) through a private loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from ._errors import ConfigurationError

T = TypeVar("T")


class Portal:
    """A daemon thread running an event loop; ``call`` runs a coroutine there and waits.

    Safe to use from many threads at once. Refuses to be called from a thread that
    already runs an event loop (async code must ``await`` instead).
    """

    def __init__(self, name: str = "sidequest-sync") -> None:
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._loop.is_closed():
                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def serve() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()

                threading.Thread(target=serve, name=self._name, daemon=True).start()
                ready.wait()
                self._loop = loop
            return self._loop

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            coroutine.close()
            raise ConfigurationError(
                "a *_sync method was called from async code; use the awaitable method instead"
            )
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close(self) -> None:
        with self._lock:
            loop, self._loop = self._loop, None
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(loop.stop)
