"""Enqueue three greetings and run them; with --enqueue-only, leave them to `sidequest worker`."""

import asyncio
import sys

from jobs import Greet, sq


async def main(run_here: bool) -> None:
    async with sq:  # connect (and create the tables) … close, even on errors
        jobs = [await sq.build(Greet).enqueue(name) for name in ("Ada", "Grace", "Linus")]
        print(f"enqueued jobs {', '.join(f'#{job.id}' for job in jobs)}")
        if not run_here:
            print("run them with: sidequest worker jobs:sq --drain")
            return
        await sq.start()  # run jobs in this process too
        for job in jobs:
            done = await sq.jobs.wait(job.id, timeout=30)
            print(f"job #{done.id} {done.state}: {done.result}")


if __name__ == "__main__":
    asyncio.run(main(run_here="--enqueue-only" not in sys.argv[1:]))
