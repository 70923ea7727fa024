"""Managing stored schedules: list, inspect, pause, resume, delete."""

import asyncio

from sidequest import Job, ScheduleNotFoundError, Sidequest


class DailyReport(Job):
    async def run(self, team: str) -> str:
        return f"report for {team}"


async def main() -> None:
    sq = Sidequest("memory://", jobs=[DailyReport])
    await sq.configure()
    await sq.build(DailyReport).schedule("0 9 * * MON-FRI", "sales", name="daily-report", tz="Europe/Berlin")

    for schedule in await sq.schedules.list():  # with next_fire_at / last_fired_at / last_job_id
        print(schedule.name, schedule.cron, schedule.tz, schedule.state, schedule.next_fire_at)
    paused = await sq.schedules.pause("daily-report")
    resumed = await sq.schedules.resume("daily-report")  # continues from the next tick after now
    print(paused.state, "->", resumed.state, (await sq.schedules.get("daily-report")).next_fire_at)
    await sq.schedules.delete("daily-report")
    try:
        await sq.schedules.get("daily-report")
    except ScheduleNotFoundError as error:
        print(error)
    # Jobs enqueued by a schedule are ordinary jobs: sq.jobs.list(job_class="DailyReport")
    await sq.close()


asyncio.run(main())
