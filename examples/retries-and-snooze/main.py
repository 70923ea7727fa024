"""Run every kind of failure and print what happened to each job, attempt by attempt."""

import asyncio
import time

from jobs import AlwaysDown, FetchExchangeRates, PostToPartner, ShipWhenPacked, ValidateVatNumber, sq


async def main() -> None:
    async with sq:
        await sq.start()
        await run_all()


async def run_all() -> None:
    fast = sq.build(FetchExchangeRates).retry_delay(0.2)  # exponential: 0.2 s, 0.4 s … (± jitter)
    jobs = [
        await fast.enqueue("EUR"),
        await sq.build(PostToPartner).enqueue({"order": 17}),
        await sq.build(ShipWhenPacked).enqueue(17, time.time() + 1),
        await sq.build(ValidateVatNumber).enqueue("123"),
        await sq.build(AlwaysDown).max_attempts(3).retry_delay(0.1).backoff("fixed").enqueue(),
    ]
    for job in jobs:
        done = await sq.jobs.wait(job.id, timeout=60)
        print(f"{done.job_class}: {done.state} after {done.attempt} attempt(s), result={done.result!r}")
        for error in done.errors:
            print(f"    attempt {error.attempt}: {error.type}: {error.message}")


if __name__ == "__main__":
    asyncio.run(main())
