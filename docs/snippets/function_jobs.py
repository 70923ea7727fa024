"""Function jobs: decorate a function instead of writing a Job class."""

import asyncio

from sidequest import JobContext, Sidequest

sq = Sidequest("memory://")


@sq.job(queue="emails", max_attempts=3, retry_delay=0.1)
async def send_email(ctx: JobContext, to: str) -> dict[str, object]:
    ctx.logger.info("sending to %s (attempt %s)", to, ctx.attempt)
    if ctx.attempt == 1:
        return ctx.retry("SMTP server busy", delay=0.1)  # same result contract as Job
    return {"sent": to}


@sq.job()
def add(a: int, b: int) -> int:  # a plain function runs in a thread; no context needed
    return a + b


async def main() -> None:
    await sq.start()
    email = await send_email.enqueue("ada@example.com")
    total = await add.enqueue(2, 3)
    print((await sq.jobs.wait(email.id, timeout=10)).result)
    print((await sq.jobs.wait(total.id, timeout=10)).result)
    await sq.close()


asyncio.run(main())
