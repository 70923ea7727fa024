"""The abort signal handed to a running job (timeout, cancellation, shutdown)."""

from __future__ import annotations

import asyncio
import threading

from ._errors import JobAborted

_CREATE = threading.Lock()


class AbortSignal:
    """Tells a running job it should stop; usable from async code and from threads."""

    __slots__ = ("_event", "_flag", "_loop", "_reason")

    def __init__(self) -> None:
        self._reason: JobAborted | None = None
        self._flag: threading.Event | None = None
        """For ``wait_sync``; created on first use (most jobs never wait on their signal)."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None

    @property
    def aborted(self) -> bool:
        """True once the job was asked to stop."""
        return self._reason is not None

    @property
    def reason(self) -> JobAborted | None:
        """Why: a ``JobTimeout``, ``JobCanceled`` or ``WorkerShutdown``; None while not aborted."""
        return self._reason

    def raise_if_aborted(self) -> None:
        """Raise the abort reason if the job was asked to stop."""
        if self._reason is not None:
            raise self._reason

    def wait_sync(self, timeout: float | None = None) -> bool:
        """Block the calling thread until aborted (or ``timeout``); return ``aborted``."""
        flag = self._flag
        if flag is None:
            with _CREATE:
                flag = self._flag = self._flag or threading.Event()
        if self._reason is not None:  # aborted before the flag existed: abort() did not set it
            return True
        return flag.wait(timeout)

    async def wait(self) -> JobAborted:
        """Wait until the job is asked to stop and return the reason."""
        if self._reason is None:
            await self._async_event().wait()
        assert self._reason is not None
        return self._reason

    def abort(self, reason: JobAborted) -> None:
        """Ask the job to stop (first reason wins). Safe from any thread."""
        if self._reason is not None:
            return
        self._reason = reason
        flag = self._flag
        if flag is not None:
            flag.set()
        if self._loop is not None and self._event is not None:
            event = self._event
            try:
                self._loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # loop closed
                pass

    def _async_event(self) -> asyncio.Event:
        if self._event is None:
            self._loop = asyncio.get_running_loop()
            self._event = asyncio.Event()
            if self._reason is not None:
                self._event.set()
        return self._event
