"""tasks.py: the jobs of an application and its Sidequest instance."""

import asyncio

from sidequest import Job, QueueConfig, Sidequest


class ResizeImage(Job):
    async def run(self, path: str, width: int) -> dict[str, object]:
        await asyncio.sleep(0.1)  # stands for the real work
        self.logger.info("resized %s to %d px", path, width)
        return {"thumbnail": path.replace(".png", f"-{width}.png"), "width": width}


sq = Sidequest(
    "sqlite:///tasks.sqlite3",
    queues=[QueueConfig("images", concurrency=4)],
)
