"""Group commit of completions: completions that arrive while a write is in flight share the next one."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from ._backend import FastPathBackend

log = logging.getLogger("sidequest")
MAX_BATCH = 500
Written = Callable[[bool | Exception], None]
"""Told how a completion's write went: whether the guard matched (the lease was still
held), or the error that stopped the write."""


class CompletionBatcher:
    """Writes completions with ``complete_many``: at once when idle, batched under load.

    No timer is involved: the first completion is written immediately; those arriving
    while that write is in flight are written together right after it.
    """

    def __init__(self, backend: FastPathBackend) -> None:
        self._backend = backend
        self._pending: list[tuple[int, str, Any, Written]] = []
        self._flushing: asyncio.Task[None] | None = None

    def submit(self, job_id: int, lease_token: str, result: Any, written: Written) -> None:
        """Queue the completion; ``written`` is called (in the event loop, right after the
        batch's write) with the outcome. Nobody has to wait for it: see ``drain``."""
        self._pending.append((job_id, lease_token, result, written))
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush(), name="sidequest-completions")

    async def drain(self) -> None:
        """Wait until every submitted completion is written (or has failed)."""
        while self._flushing is not None and not self._flushing.done():
            await asyncio.wait([self._flushing])

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            try:
                done = await self._backend.complete_many(
                    [(i, token, result) for i, token, result, _ in batch]
                )
            except Exception as exc:
                _tell(batch, set(), exc)
                continue
            _tell(batch, done)


def _tell(batch: list[tuple[int, str, Any, Written]], done: set[int], error: Exception | None = None) -> None:
    """Tell every job of ``batch`` whether it was ``done`` (or the ``error``); one failing
    callback does not silence the others."""
    for job_id, _, _, written in batch:
        try:
            written(error if error is not None else job_id in done)
        except Exception:
            log.exception("job #%s: completion callback failed", job_id)
