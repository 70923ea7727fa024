"""Inspect and steer stored jobs from any process: sq.jobs.* and sq.queues.*."""

import asyncio

from sidequest import InvalidStateError, Job, JobNotFoundError, JobState, Sidequest


class Export(Job):
    async def run(self, customer: int) -> str:
        return f"export-{customer}.csv"


async def main() -> None:
    sq = Sidequest("memory://", jobs=[Export])
    await sq.configure()  # not started: jobs wait until a worker runs them
    first = await sq.build(Export).delay(3600).enqueue(1)
    second = await sq.build(Export).enqueue(2)

    await sq.jobs.snooze(second.id, 600)  # a waiting job: postpone by 10 minutes
    await sq.jobs.run(first.id)  # a waiting job: available right now
    await sq.jobs.cancel(second.id)  # waiting, claimed or running → canceled
    await sq.jobs.rerun(second.id)  # completed, failed or canceled → waiting again

    waiting = await sq.jobs.list(state="waiting", queue="default", limit=10)  # newest first
    print([job.id for job in waiting], (await sq.jobs.count()).as_dict())
    # for a dashboard over millions of jobs: PostgreSQL may estimate the big states
    cheap = await sq.jobs.count(exact=False)
    print(cheap.waiting, sorted(cheap.estimated))  # memory:// always counts exactly: []
    try:
        await sq.jobs.get(999)
    except JobNotFoundError as error:
        print(error)

    await sq.start()  # now run them, and wait for the results
    done = await sq.jobs.wait(first.id, timeout=10)
    print(done.state, done.result)
    try:
        await sq.jobs.cancel(first.id)
    except InvalidStateError as error:  # a finished job cannot be canceled
        print(error)
    assert done.state == JobState.COMPLETED and len(waiting) == 2
    await sq.close()


asyncio.run(main())
