"""A running worker collects reference cycles less often; gc_threshold=None leaves the collector alone."""

import asyncio
import gc

from sidequest import Job, Sidequest


class Ping(Job):
    async def run(self, n: int) -> int:
        return n


async def main() -> None:
    before = gc.get_threshold()  # (700, 10, 10) on Python 3.11 and 3.12, unless you changed it
    sq = Sidequest("memory://", jobs=[Ping])  # gc_threshold=5_000 is the default
    await sq.start()
    print(f"while the worker runs: {gc.get_threshold()} (before: {before})")
    assert gc.get_threshold()[0] >= 5_000
    record = await sq.build(Ping).enqueue(1)
    await sq.jobs.wait(record.id, timeout=10)
    await sq.close()
    assert gc.get_threshold() == before  # stop() puts the previous setting back

    untouched = Sidequest("memory://", jobs=[Ping], gc_threshold=None)
    await untouched.start()
    print(f"with gc_threshold=None: {gc.get_threshold()}")
    assert gc.get_threshold() == before
    await untouched.close()


asyncio.run(main())
