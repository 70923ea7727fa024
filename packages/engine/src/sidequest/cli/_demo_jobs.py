"""The example jobs ``sidequest demo`` runs: some complete, retry, fail, snooze or take a while.

They sleep instead of doing real work; outcomes depend only on their arguments, so a run
of the demo always shows every kind of outcome.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from .._job import Job


class CardDeclined(Exception):
    """The (pretend) payment provider declined the card."""


class SendWelcomeEmail(Job):
    """Completes quickly."""

    async def run(self, to: str, delay: float = 0.3) -> dict[str, Any]:
        await asyncio.sleep(delay)
        self.logger.info("sent welcome email to %s", to)
        return {"sent": True, "to": to}


class ResizeImage(Job):
    """A plain ``def run``: runs in a thread."""

    def run(self, name: str, width: int, delay: float = 0.5) -> dict[str, Any]:
        time.sleep(delay)
        return {"thumbnail": f"{name.rsplit('.', 1)[0]}-{width}w.jpg"}


class ChargeCard(Job):
    """Raises on its first ``declines`` attempts (retried with backoff), then succeeds."""

    async def run(self, order_id: int, amount: float, declines: int = 1) -> dict[str, Any]:
        await asyncio.sleep(0.2)
        if self.attempt <= declines:
            raise CardDeclined(f"card declined for order {order_id} (attempt {self.attempt})")
        return {"order": order_id, "charged": amount}


class CallPartnerApi(Job):
    """Asks for an exact retry delay (``self.retry``) until attempt ``succeed_on``."""

    async def run(self, endpoint: str, succeed_on: int = 3, retry_in: float = 1.0) -> Any:
        await asyncio.sleep(0.1)
        if self.attempt < succeed_on:
            return self.retry(f"HTTP 503 from {endpoint}", delay=retry_in)
        return {"endpoint": endpoint, "status": 200}


class ImportContacts(Job):
    """Fails at once (no retry) when the file is marked broken."""

    async def run(self, filename: str) -> Any:
        await asyncio.sleep(0.2)
        if "broken" in filename:
            return self.fail(f"{filename} has no header row")
        return {"imported": 120, "file": filename}


class SyncInventory(Job):
    """Always raises: fails once its attempts are used up (every error keeps its traceback)."""

    async def run(self, sku: str) -> None:
        await asyncio.sleep(0.1)
        raise ConnectionError(f"warehouse API unreachable while syncing {sku}")


class WaitForWarehouse(Job):
    """Snoozes (no attempt used) until ``ready_at`` (a Unix time), then completes."""

    async def run(self, order_id: int, ready_at: float) -> Any:
        remaining = ready_at - time.time()
        if remaining > 0:
            return self.snooze(min(remaining, 2.0))
        return {"order": order_id, "shipped": True}


class GenerateReport(Job):
    """A slow job that logs its progress; on shutdown it is released and runs again later."""

    async def run(self, name: str, seconds: float = 6.0) -> dict[str, Any]:
        steps = max(1, round(seconds / 0.5))
        for step in range(1, steps + 1):
            await asyncio.sleep(seconds / steps)
            self.logger.debug("report %s: %d/%d", name, step, steps)
        return {"report": name, "pages": steps}
