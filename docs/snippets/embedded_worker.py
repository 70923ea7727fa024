"""A worker inside your own program: run until SIGTERM/SIGINT, then stop gracefully."""

import asyncio
import os
import signal

from sidequest import Job, Sidequest


class Tick(Job):
    async def run(self, n: int) -> int:
        return n


sq = Sidequest("sqlite:///worker.sqlite3", jobs=[Tick], shutdown_timeout=25)


async def main() -> None:
    await sq.configure()
    job = await sq.build(Tick).enqueue(1)
    # For this example only: send ourselves SIGTERM in one second, like `kill` or Kubernetes would.
    asyncio.get_running_loop().call_later(1, os.kill, os.getpid(), signal.SIGTERM)
    await sq.run_until_stopped()  # start, handle SIGTERM/SIGINT, stop gracefully, close
    print("stopped cleanly")
    async with sq:  # connect again to read the outcome
        assert (await sq.jobs.get(job.id)).result == 1


asyncio.run(main())
