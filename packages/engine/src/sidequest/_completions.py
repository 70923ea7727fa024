"""Group commit of completions: completions that arrive while a write is in flight share the next one."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ._backend import FastPathBackend

log = logging.getLogger("sidequest")
MAX_BATCH = 500


class CompletionBatcher:
    """Writes completions with ``complete_many``: at once when idle, batched under load.

    No timer is involved: the first completion is written immediately; those arriving
    while that write is in flight are written together right after it.
    """

    def __init__(self, backend: FastPathBackend) -> None:
        self._backend = backend
        self._pending: list[tuple[int, str, Any, asyncio.Future[bool]]] = []
        self._flushing: asyncio.Task[None] | None = None

    def submit(self, job_id: int, lease_token: str, result: Any) -> asyncio.Future[bool]:
        """Queue the completion; the future says whether the guard matched (the lease was
        still held) once it is written, or carries the error that stopped the write.

        Nobody has to await the future: the write happens either way (see ``drain``).
        """
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending.append((job_id, lease_token, result, future))
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush(), name="sidequest-completions")
        return future

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
                for *_, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for job_id, _, _, future in batch:
                if not future.done():
                    future.set_result(job_id in done)
