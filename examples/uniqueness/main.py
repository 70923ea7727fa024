"""Show uniqueness at work: racing enqueues, duplicates refused, duplicates skipped in bulk."""

import asyncio

from jobs import RebuildSearchIndex, SendDailyDigest, sq
from sidequest import DuplicateJobError


async def main() -> None:
    async with sq:  # configured only: nothing runs yet, so the jobs stay waiting (alive)
        # Twenty "users" press the rebuild button at the same moment: the database keeps one job.
        rebuild = sq.build(RebuildSearchIndex).unique()
        outcomes = await asyncio.gather(*(rebuild.enqueue() for _ in range(20)), return_exceptions=True)
        stored = [o for o in outcomes if not isinstance(o, BaseException)]
        refused = [o for o in outcomes if isinstance(o, DuplicateJobError)]
        duplicate_of = refused[0].existing_id
        print(f"rebuild: {len(stored)} stored, {len(refused)} refused as duplicates of job #{duplicate_of}")

        # One digest per user per day: the second one for user 1 is refused, user 2 gets one.
        digest = sq.build(SendDailyDigest).unique(with_args=True, period="day")
        await digest.enqueue(1)
        try:
            await digest.enqueue(1)
        except DuplicateJobError as error:
            print(f"digest for user 1 again: refused ({error})")
        kept = await digest.enqueue_many([(1,), (2,), (3,)], skip_duplicates=True)
        print(f"bulk digests: stored for users {[job.args[0] for job in kept]}, skipped user 1")

        await sq.start()  # now run them
        done = await sq.jobs.wait(stored[0].id, timeout=30)
        print(f"rebuild job #{done.id}: {done.result}")
        again = await rebuild.enqueue()  # the first one finished: a new rebuild is accepted
        print(f"after it finished, a new rebuild is accepted: job #{again.id}")
        await sq.jobs.wait(again.id, timeout=30)


if __name__ == "__main__":
    asyncio.run(main())
