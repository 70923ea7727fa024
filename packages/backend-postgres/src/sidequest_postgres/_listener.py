"""A dedicated LISTEN connection that wakes subscribers on NOTIFY and never gives up.

Notifications are an optimisation: polling stays the correctness path. The listener
reconnects with backoff when its connection drops (asyncpg termination listener), proves
every ``probe_interval`` seconds that a NOTIFY still reaches it (a half-open TCP connection
stays silent otherwise), and wakes subscribers after each (re)connect in case something
was missed while it was not listening.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger("sidequest.postgres")

Opener = Callable[[], Awaitable[Any]]
Closer = Callable[[Any, bool], Awaitable[None]]
"""``close(connection, broken)``: release a listener connection (``broken``: do not reuse it)."""

MAX_BACKOFF = 5.0
PROBE_PREFIX = "sidequest-probe:"


class Listener:
    """LISTENs on ``channel`` and calls ``on_notify()`` for every notification (not probes)."""

    def __init__(
        self,
        *,
        channel: str,
        open_connection: Opener,
        close_connection: Closer,
        on_notify: Callable[[], None],
        probe_interval: float = 15.0,
        probe_timeout: float = 5.0,
    ) -> None:
        self._channel = channel
        self._open = open_connection
        self._close = close_connection
        self._on_notify = on_notify
        self._probe_interval = probe_interval
        self._probe_timeout = probe_timeout
        self._task: asyncio.Task[None] | None = None
        self._connection: Any = None
        self._ready = asyncio.Event()
        self._probe_token: str | None = None
        self._probe_seen = asyncio.Event()
        self.reconnects = 0
        """How many times the connection was re-established after a loss."""

    @property
    def pid(self) -> int | None:
        """The PostgreSQL backend pid of the LISTEN connection (None while disconnected)."""
        conn = self._connection
        if conn is None or conn.is_closed():
            return None
        pid: int = conn.get_server_pid()
        return pid

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="sidequest-pg-listener")

    async def wait_ready(self, timeout: float | None = None) -> bool:
        """Wait until the connection is LISTENing; False on timeout."""
        try:
            await asyncio.wait_for(self._ready.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # the connection loop ------------------------------------------------------------------------
    async def _run(self) -> None:
        delay = 0.1
        connected_before = False
        while True:
            try:
                conn = await self._open()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("LISTEN connection failed (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF)
                continue
            broken = True
            try:
                lost = asyncio.Event()
                conn.add_termination_listener(_setter(lost))
                await conn.add_listener(self._channel, self._notification)
                self._connection = conn
                self._ready.set()
                delay = 0.1
                if connected_before:
                    self.reconnects += 1
                    log.info("LISTEN connection re-established on channel %s", self._channel)
                connected_before = True
                self._wake()  # notifications sent while we were not listening are lost
                broken = await self._watch(conn, lost)
            except asyncio.CancelledError:
                broken = False
                raise
            except Exception as exc:
                log.warning("LISTEN connection lost (%s); reconnecting", exc)
            finally:
                self._ready.clear()
                self._connection = None
                await self._discard(conn, broken)
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF)

    async def _watch(self, conn: Any, lost: asyncio.Event) -> bool:
        """Return (broken=True) once the connection died or stopped delivering notifications."""
        while True:
            try:
                await asyncio.wait_for(lost.wait(), self._probe_interval)
                log.warning("LISTEN connection terminated; reconnecting")
                return True
            except TimeoutError:
                pass
            if not await self._probe(conn):
                log.warning(
                    "LISTEN self-probe got no notification within %.1f s; reconnecting", self._probe_timeout
                )
                return True

    async def _probe(self, conn: Any) -> bool:
        token = f"{PROBE_PREFIX}{uuid.uuid4().hex}"
        self._probe_token = token
        self._probe_seen.clear()
        try:
            async with asyncio.timeout(self._probe_timeout):
                await conn.execute("SELECT pg_notify($1, $2)", self._channel, token)
                await self._probe_seen.wait()
        except (TimeoutError, OSError):
            return False
        except Exception as exc:  # asyncpg errors: the connection is unusable
            log.debug("LISTEN probe failed: %s", exc)
            return False
        finally:
            self._probe_token = None
        return True

    async def _discard(self, conn: Any, broken: bool) -> None:
        try:
            if not broken and not conn.is_closed():
                await asyncio.wait_for(conn.remove_listener(self._channel, self._notification), 5)
            await self._close(conn, broken)
        except Exception as exc:  # closing a dead connection may fail; nothing to do about it
            log.debug("closing the LISTEN connection failed: %s", exc)

    # notifications ----------------------------------------------------------------------------------
    def _notification(self, _conn: Any, _pid: int, _channel: str, payload: object) -> None:
        if self._probe_token is not None and payload == self._probe_token:
            self._probe_seen.set()
            return
        if isinstance(payload, str) and payload.startswith(PROBE_PREFIX):
            return  # another process's probe on a shared channel
        self._wake()

    def _wake(self) -> None:
        try:
            self._on_notify()
        except Exception:
            log.exception("a sidequest wake-up callback failed")


def _setter(event: asyncio.Event) -> Callable[[Any], None]:
    """A termination callback that sets ``event`` (bound now, not at call time)."""
    return lambda _conn: event.set()
