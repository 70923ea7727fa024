"""A Celery/RQ-style module rewritten for sidequest: function jobs, delays, retries, chaining, results."""

import asyncio

from sidequest import JobContext, Sidequest

sq = Sidequest("memory://")  # Celery's broker + result backend → your database


@sq.job(queue="emails", max_attempts=4, retry_delay=0.1)  # @app.task(autoretry_for=..., max_retries=3)
async def send_email(ctx: JobContext, to: str) -> dict[str, str]:
    if ctx.attempt == 1:
        return ctx.retry("SMTP busy", delay=0.1)  # raise self.retry(countdown=...)
    return {"sent": to}


@sq.job(queue="billing")
async def create_invoice(ctx: JobContext, order_id: int) -> int:
    invoice_id = order_id * 10
    await send_email.enqueue(f"billing+{invoice_id}@example.com")  # chain: enqueue the next step
    return invoice_id


async def main() -> None:
    await sq.start()  # a worker: `sidequest worker module:sq` (celery -A proj worker / rq worker)
    job = await create_invoice.enqueue(7)  # create_invoice.delay(7)
    later = await send_email.build().delay(60).enqueue("x@example.com")  # apply_async(countdown=60)

    result = await sq.jobs.wait(job.id, timeout=10)  # AsyncResult(id).get(timeout=10)
    print(result.state, result.result)
    emails = await sq.jobs.list(queue="emails", state="completed")
    while not emails:
        await asyncio.sleep(0.05)
        emails = await sq.jobs.list(queue="emails", state="completed")
    print(emails[0].result, "after", emails[0].attempt, "attempts")
    await sq.jobs.cancel(later.id)  # AsyncResult(id).revoke()
    assert result.result == 70 and emails[0].result == {"sent": "billing+70@example.com"}
    await sq.close()


asyncio.run(main())
