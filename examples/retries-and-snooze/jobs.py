"""Jobs that fail on purpose: exceptions with backoff, exact retries, snoozes and giving up."""

import os
import time
from typing import Any

from sidequest import Job, Sidequest


class FetchExchangeRates(Job):
    """An unreliable API: raises on the first two attempts. Exceptions retry with backoff."""

    async def run(self, currency: str) -> dict[str, Any]:
        if self.attempt < 3:
            raise ConnectionError(f"rates API timed out (attempt {self.attempt})")
        return {"pair": f"{currency}/USD", "rate": 1.08}


class PostToPartner(Job):
    """A rate-limited API: asks to come back after exactly the delay the API gave."""

    async def run(self, payload: dict[str, Any]) -> str:
        if self.attempt == 1:
            retry_after = 0.5  # e.g. from a 429 response's Retry-After header
            return self.retry(f"HTTP 429, retry after {retry_after}s", delay=retry_after)
        return f"posted {payload['order']}"


class ShipWhenPacked(Job):
    """Waits for something outside: snoozing does not use up attempts."""

    async def run(self, order: int, packed_at: float) -> str:
        if time.time() < packed_at:
            self.logger.info("order %s not packed yet, checking again soon", order)
            return self.snooze(0.3)
        return f"order {order} shipped"


class ValidateVatNumber(Job):
    """Invalid input cannot get better: fail now instead of retrying."""

    async def run(self, vat: str) -> Any:
        if not vat.startswith("EU"):
            return self.fail(f"{vat!r} is not a VAT number")
        return {"vat": vat, "valid": True}


class AlwaysDown(Job):
    """Uses up its attempts, then ends failed with every error recorded."""

    async def run(self) -> None:
        raise RuntimeError("the legacy system is down")


sq = Sidequest(os.environ.get("SIDEQUEST_URL", "sqlite:///retries.sqlite3"), poll_interval=0.1)
