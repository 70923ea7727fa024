"""Timeouts and cancellation: the abort signal, async and thread jobs."""

import asyncio

from sidequest import Job, JobState, Sidequest


class CrunchNumbers(Job):
    def run(self, steps: int) -> int:  # a plain def runs in a thread: it must cooperate
        total = 0
        for step in range(steps):
            self.abort_signal.raise_if_aborted()  # raises JobTimeout / JobCanceled when asked to stop
            self.abort_signal.wait_sync(0.05)  # sleep, waking up early when aborted
            total += step
        return total


class Download(Job):
    async def run(self, url: str) -> str:
        await asyncio.sleep(60)  # async jobs are cancelled at their next await
        return url


async def main() -> None:
    sq = Sidequest("memory://", jobs=[CrunchNumbers, Download])
    await sq.start()
    slow = await sq.build(CrunchNumbers).timeout(0.2).max_attempts(1).enqueue(1000)
    long = await sq.build(Download).enqueue("https://example.com/big.iso")
    await asyncio.sleep(0.3)
    await sq.jobs.cancel(long.id)  # waiting, claimed or running: a running job is aborted

    timed_out = await sq.jobs.wait(slow.id, timeout=10)
    canceled = await sq.jobs.wait(long.id, timeout=10)
    print(timed_out.state, timed_out.errors[-1].type, "|", canceled.state)
    assert timed_out.state == JobState.FAILED and timed_out.errors[-1].type == "JobTimeout"
    assert canceled.state == JobState.CANCELED
    await sq.close()


asyncio.run(main())
