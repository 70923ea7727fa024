"""enqueue.py: what a web request handler does — store jobs, don't run them."""

import asyncio

from tasks import ResizeImage, sq


async def main() -> None:
    async with sq:  # configure (connect + create tables) … close
        for width in (200, 400, 800):
            job = await sq.build(ResizeImage).queue("images").enqueue("cat.png", width)
            print(f"enqueued job #{job.id} ({job.state})")


asyncio.run(main())
