"""Chains (each step enqueues the next) and fan-out/fan-in (one job spawns many, another collects)."""

import asyncio
import os
from typing import Any

from sidequest import Job, Sidequest

sq = Sidequest(os.environ.get("SIDEQUEST_URL", "sqlite:///chaining.sqlite3"), poll_interval=0.1)


# A chain: Checkout → ChargeCard → SendReceipt. Each step passes its result to the next as
# arguments (JSON), and returns the next job's id so the chain can be followed.
class Checkout(Job):
    async def run(self, order_id: int, items: list[dict[str, Any]]) -> dict[str, Any]:
        total = round(sum(item["price"] * item["quantity"] for item in items), 2)
        charge = await sq.build(ChargeCard).queue("payments").max_attempts(3).enqueue(order_id, total)
        return {"total": total, "next": charge.id}


class ChargeCard(Job):
    async def run(self, order_id: int, amount: float) -> dict[str, Any]:
        charge_id = f"ch_{order_id}_{self.attempt}"  # e.g. from the payment provider
        receipt = await sq.build(SendReceipt).queue("emails").enqueue(order_id, charge_id, amount)
        return {"charge": charge_id, "next": receipt.id}


class SendReceipt(Job):
    async def run(self, order_id: int, charge_id: str, amount: float) -> dict[str, Any]:
        return {"sent": f"receipt for order {order_id}: {amount:.2f} ({charge_id})", "next": None}


# Fan-out / fan-in: ImportAlbum enqueues one MakeThumbnail per photo in one round trip, then
# a PublishAlbum that snoozes until every thumbnail job has finished.
class ImportAlbum(Job):
    async def run(self, album: str, photos: list[str]) -> dict[str, Any]:
        children = await sq.build(MakeThumbnail).queue("images").enqueue_many([(album, p) for p in photos])
        ids = [child.id for child in children]
        publish = await sq.build(PublishAlbum).enqueue(album, ids)
        return {"thumbnails": ids, "next": publish.id}


class MakeThumbnail(Job):
    async def run(self, album: str, photo: str) -> str:
        await asyncio.sleep(0.1)
        return f"{album}/thumbs/{photo}"


class PublishAlbum(Job):
    async def run(self, album: str, thumbnail_jobs: list[int]) -> Any:
        children = [await sq.jobs.get(job_id) for job_id in thumbnail_jobs]
        if not all(child.finished for child in children):
            return self.snooze(0.2)  # check again soon; snoozing uses no attempt
        made = [child.result for child in children if child.state == "completed"]
        return {"album": album, "published": len(made), "thumbnails": made, "next": None}
