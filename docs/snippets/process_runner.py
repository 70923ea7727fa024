"""The process runner: CPU-bound and crash-prone jobs run in worker processes."""

import asyncio
import os

from sidequest import Job, JobState, QueueConfig, Sidequest


class Checksum(Job):
    def run(self, rounds: int) -> int:  # CPU-bound: runs in a worker process, in parallel
        total = 0
        for i in range(rounds):
            total = (total * 31 + i) % 1_000_003
        return total


class Crashes(Job):
    def run(self) -> None:
        os._exit(1)  # kills only its worker process; the run is recorded as worker_lost


async def main() -> None:
    sq = Sidequest(
        "memory://",
        jobs=[Checksum, Crashes],
        runner="process",  # every queue; or QueueConfig("cpu", runner="process") for one queue
        processes=2,  # pool size (default: number of CPUs)
        max_jobs_per_process=100,  # recycle a process after 100 jobs
        abort_grace_period=1.0,  # seconds a timed-out/canceled job gets before its process is killed
        queues=[QueueConfig("default", concurrency=4)],
    )
    await sq.start()
    sums = await sq.build(Checksum).enqueue_many([(200_000,), (300_000,)])
    crash = await sq.build(Crashes).max_attempts(1).enqueue()
    for record in sums:
        print("checksum", (await sq.jobs.wait(record.id, timeout=60)).result)
    crashed = await sq.jobs.wait(crash.id, timeout=60)
    assert crashed.state == JobState.FAILED and crashed.errors[-1].type == "worker_lost"
    print("crash recorded as:", crashed.errors[-1].message)
    await sq.close()


if __name__ == "__main__":  # required: worker processes re-import this module
    asyncio.run(main())
