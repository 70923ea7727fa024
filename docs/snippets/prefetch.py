"""Prefetch: a worker takes jobs ahead of a free slot while its jobs are short."""

import asyncio

from sidequest import Job, Sidequest


class Ping(Job):
    async def run(self, n: int) -> int:
        return n  # a job of well under a millisecond: prefetch pays off


class Report(Job):
    async def run(self) -> str:
        await asyncio.sleep(0.3)  # 0.3 s per job: "auto" takes nothing ahead
        return "done"


async def main() -> None:
    # prefetch="auto" is the default; prefetch=0 turns it off, prefetch=N holds N jobs ahead
    sq = Sidequest("memory://", jobs=[Ping, Report], max_concurrent_jobs=4)
    await sq.build(Ping).enqueue_many([(n,) for n in range(2_000)])
    await sq.start()
    held = 0
    while sq.stats.completed < 2_000:
        held = max(held, len(sq.running_jobs))  # running + prefetched
        await asyncio.sleep(0.001)
    print(f"short jobs: up to {held} held by a worker running 4 at a time")
    assert held > 4

    reports = await sq.build(Report).queue("reports").enqueue_many([()] * 8)
    held = 0
    for record in reports:
        await sq.jobs.wait(record.id, timeout=10)
        held = max(held, len(sq.running_jobs))
    print(f"long jobs: at most {held} held")
    assert held <= 4
    await sq.close()


asyncio.run(main())
