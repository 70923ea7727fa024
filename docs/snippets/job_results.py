"""The result contract: return a value, or complete / fail / retry / snooze; exceptions retry."""

import asyncio
import time

from sidequest import Job, JobState, Sidequest


class ChargeCard(Job):
    async def run(self, order_id: int, amount: float, card: str) -> object:
        if card == "expired":
            return self.fail("card expired")  # failed now: retrying cannot help
        if card == "busy" and self.attempt < 3:
            return self.retry("payment provider busy", delay=0.2)  # exactly 0.2 s, uses an attempt
        if card == "flaky" and self.attempt == 1:
            raise ConnectionError("connection reset")  # an exception retries with backoff
        return {"order": order_id, "charged": amount, "attempts": self.attempt}


class WaitForStock(Job):
    async def run(self, sku: str, ready_at: float) -> object:
        if time.time() < ready_at:
            return self.snooze(0.2)  # back to waiting; this run does not count as an attempt
        return self.complete({"sku": sku, "shipped": True})  # same as returning the dict


async def main() -> None:
    sq = Sidequest("memory://", jobs=[ChargeCard, WaitForStock])
    await sq.start()
    build = sq.build(ChargeCard).retry_delay(0.1)
    jobs = [
        await build.enqueue(1, 9.99, "ok"),
        await build.enqueue(2, 9.99, "expired"),
        await build.enqueue(3, 9.99, "busy"),
        await build.enqueue(4, 9.99, "flaky"),
        await sq.build(WaitForStock).enqueue("SKU-1", time.time() + 0.5),
    ]
    final = [await sq.jobs.wait(job.id, timeout=10) for job in jobs]
    for job in final:
        errors = [f"{e.type}: {e.message}" for e in job.errors]
        print(f"#{job.id} {job.state:<9} attempt {job.attempt} result={job.result} errors={errors}")
    assert [job.state for job in final] == [
        JobState.COMPLETED,
        JobState.FAILED,
        JobState.COMPLETED,
        JobState.COMPLETED,
        JobState.COMPLETED,
    ]
    assert final[2].attempt == 3 and final[4].attempt == 1  # snoozes used no attempt
    await sq.close()


asyncio.run(main())
