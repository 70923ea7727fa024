"""Recurring jobs: stored schedules, fired once per tick by whichever node is alive."""

import asyncio

from sidequest import Job, Schedule, Sidequest


class DailyReport(Job):
    async def run(self, team: str) -> str:
        return f"report for {team}"


class Heartbeat(Job):
    async def run(self) -> str:
        return "beat"


async def main() -> None:
    sq = Sidequest(
        "memory://",
        jobs=[DailyReport, Heartbeat],
        # Declared schedules are reconciled at start: one removed from this list is disabled.
        schedules=[
            Schedule(DailyReport, "0 9 * * MON-FRI", args=("sales",), tz="Europe/Berlin", name="daily-report")
        ],
        schedule_interval=0.1,
    )
    # Or create one from code (persisted; re-running this replaces its definition):
    await sq.build(Heartbeat).queue("pings").schedule("*/1 * * * * *", name="heartbeat", catch_up="none")
    await sq.start()
    await asyncio.sleep(2.5)
    await sq.stop()

    for schedule in await sq.schedules.list():
        print(schedule.name, schedule.cron, schedule.tz, schedule.state, schedule.next_fire_at.isoformat())
    beats = await sq.jobs.list(queue="pings")
    assert 1 <= len(beats) <= 3, beats
    await sq.schedules.pause("heartbeat")
    await sq.close()


asyncio.run(main())
