"""Graceful shutdown: stop claiming, let running jobs finish, give the others back to waiting."""

import asyncio

from sidequest import Job, JobState, Sidequest


class Quick(Job):
    async def run(self) -> str:
        await asyncio.sleep(0.1)
        return "finished in time"


class VeryLong(Job):
    started = asyncio.Event()

    async def run(self) -> str:
        VeryLong.started.set()
        await asyncio.sleep(3600)
        return "never"


async def main() -> None:
    sq = Sidequest(
        "memory://",
        jobs=[Quick, VeryLong],
        shutdown_timeout=0.5,  # production: 30 s (default), below your orchestrator's kill delay
        lease=30,  # a running job's lease, renewed by the heartbeat...
        heartbeat_interval=5,  # ...every 5 s; a dead worker's jobs come back after the lease
    )
    await sq.start()  # in a worker process: await sq.run_until_stopped() handles SIGTERM/SIGINT
    quick = await sq.build(Quick).enqueue()
    long = await sq.build(VeryLong).enqueue()
    await VeryLong.started.wait()

    await sq.stop()  # what SIGTERM does
    quick_after, long_after = await sq.jobs.get(quick.id), await sq.jobs.get(long.id)
    print(quick_after.state, quick_after.result, "|", long_after.state, "attempt", long_after.attempt)
    assert quick_after.state == JobState.COMPLETED
    assert long_after.state == JobState.WAITING and long_after.attempt == 0  # attempt not consumed
    await sq.close()


asyncio.run(main())
