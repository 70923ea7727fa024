"""Every builder option, bulk enqueueing, and what is refused at enqueue time."""

import asyncio
from datetime import UTC, datetime, timedelta

from sidequest import InvalidPayloadError, Job, Sidequest


class SendReport(Job):
    def __init__(self, template: str) -> None:  # constructor arguments come from .with_(...)
        self.template = template

    async def run(self, team: str, *, period: str = "weekly") -> str:
        return f"{self.template}: {period} report for {team}"


async def main() -> None:
    sq = Sidequest("memory://", jobs=[SendReport])
    await sq.configure()  # enough to enqueue (a web process does not need to start)

    builder = (
        sq.build(SendReport)
        .queue("reports")  # default "default"
        .max_attempts(3)  # default 5
        .timeout(60)  # seconds (or a timedelta); default: none
        .retry_delay(2)  # backoff base in seconds; default 1
        .backoff("fixed")  # or "exponential" (default): base · 2^(attempt-1) · jitter, ≤ 1 h
        .with_("corporate")  # constructor arguments
    )
    now = await builder.enqueue("sales", period="monthly")  # run arguments: args and kwargs
    later = await builder.delay(timedelta(minutes=5)).enqueue("ops")  # 5 minutes from now
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    scheduled = await builder.available_at(tomorrow).enqueue("hr")  # an aware datetime
    batch = await builder.enqueue_many([("a",), ("b",), ("c",)])  # one round trip, all or nothing

    print(now.id, now.queue, now.max_attempts, now.args, dict(now.kwargs), now.constructor_args)
    print(later.available_at - later.inserted_at, scheduled.available_at.date(), len(batch))
    assert later.available_at > now.available_at and len(batch) == 3

    try:
        await sq.build(SendReport).with_("x").enqueue({"when": datetime.now(UTC)})
    except InvalidPayloadError as error:  # arguments must be plain JSON: nothing was stored
        print(error)
    assert (await sq.jobs.count()).total == 6  # the refused job was not stored
    await sq.close()


asyncio.run(main())
