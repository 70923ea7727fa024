"""Jobs that must not be enqueued twice."""

import asyncio
import os

from sidequest import Job, Sidequest


class RebuildSearchIndex(Job):
    """One at a time: a second rebuild is refused while one is waiting or running."""

    async def run(self) -> str:
        await asyncio.sleep(0.2)
        return "index rebuilt"


class SendDailyDigest(Job):
    """At most one digest per user and per day, even after it was sent."""

    async def run(self, user_id: int) -> str:
        return f"digest sent to user {user_id}"


sq = Sidequest(os.environ.get("SIDEQUEST_URL", "sqlite:///unique.sqlite3"))
