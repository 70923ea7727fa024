"""A first job: define it, enqueue it, run it and read its result, in one script."""

import asyncio

from sidequest import Job, Sidequest


class SendWelcomeEmail(Job):
    async def run(self, to: str, name: str) -> dict[str, str]:
        self.logger.info("sending the welcome email to %s", to)
        return {"sent_to": to, "greeting": f"Welcome, {name}!"}


# The job lives in this script, so register it: a worker process could not import it.
sq = Sidequest("sqlite:///sidequest.sqlite3", jobs=[SendWelcomeEmail])


async def main() -> None:
    await sq.start()  # connect, create the tables, start running jobs
    job = await sq.build(SendWelcomeEmail).enqueue("ada@example.com", "Ada")
    print(f"enqueued job #{job.id}: {job.state}")

    done = await sq.jobs.wait(job.id, timeout=10)
    print(f"job #{done.id} is {done.state}: {done.result}")
    assert done.result == {"sent_to": "ada@example.com", "greeting": "Welcome, Ada!"}
    await sq.stop()  # graceful: running jobs finish first
    await sq.close()


asyncio.run(main())
