"""Queues: concurrency, priority, pausing, and restricting a worker to some queues."""

import asyncio

from sidequest import Job, QueueConfig, QueueState, Sidequest


class Work(Job):
    async def run(self, n: int) -> int:
        await asyncio.sleep(0.05)
        return n


async def main() -> None:
    sq = Sidequest(
        "memory://",
        jobs=[Work],
        queues=[
            QueueConfig("payments", concurrency=2, priority=100),  # served first
            QueueConfig("emails", concurrency=5, priority=10),
            QueueConfig("reports", concurrency=1, state="paused"),  # nothing runs until resumed
        ],
        queue_defaults={"concurrency": 3},  # for queues created on first enqueue
        max_concurrent_jobs=8,  # the bound for this whole process
    )
    await sq.start(queues=["payments", "emails", "reports"])  # only these queues here
    payments = [await sq.build(Work).queue("payments").enqueue(n) for n in range(4)]
    report = await sq.build(Work).queue("reports").enqueue(99)
    other = await sq.build(Work).queue("other").enqueue(0)  # created with queue_defaults

    for job in payments:
        assert (await sq.jobs.wait(job.id, timeout=10)).result == job.args[0]
    await asyncio.sleep(0.2)
    assert (await sq.jobs.get(report.id)).state == "waiting"  # its queue is paused
    assert (await sq.jobs.get(other.id)).state == "waiting"  # not served by this process

    await sq.queues.update("reports", concurrency=2, priority=50)
    resumed = await sq.queues.resume("reports")
    assert resumed.state == QueueState.ACTIVE
    assert (await sq.jobs.wait(report.id, timeout=10)).result == 99
    for queue in await sq.queues.list():  # highest priority first
        print(
            f"{queue.name:<9} {queue.state:<7} priority={queue.priority:<4} concurrency={queue.concurrency}"
        )
    await sq.close()


asyncio.run(main())
