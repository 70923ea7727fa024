"""Cron parsing (aliases, seconds, DST) and database-stored schedules on the memory backend."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import attrs
import pytest
import sample_jobs as jobs
from sidequest import ConfigurationError, Schedule, ScheduleNotFoundError, ScheduleState, Sidequest
from sidequest._cron import Cron, zone
from sidequest._schedules import due_ticks

BERLIN = zone("Europe/Berlin")


def fires(expr: str, start: datetime, n: int, tz: str = "UTC") -> list[datetime]:
    cron, out, t = Cron.parse(expr), [], start
    for _ in range(n):
        t = cron.next_after(t, zone(tz))
        out.append(t)
    return out


def test_fields_aliases_and_seconds() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)  # a Thursday
    assert fires("*/15 * * * *", start, 2) == [start + timedelta(minutes=15), start + timedelta(minutes=30)]
    assert fires("*/10 * * * * *", start, 1) == [start + timedelta(seconds=10)]
    assert fires("@hourly", start, 1) == [start + timedelta(hours=1)]
    assert fires("@weekly", start, 1) == [datetime(2026, 1, 4, tzinfo=UTC)]
    assert fires("0 9 * * MON-FRI", start, 2) == [
        datetime(2026, 1, 1, 9, tzinfo=UTC),
        datetime(2026, 1, 2, 9, tzinfo=UTC),
    ]
    assert fires("0 0 13 * 5", start, 1) == [datetime(2026, 1, 2, tzinfo=UTC)]  # day 13 OR friday
    assert fires("0 0 1 JAN,jul *", start, 2)[1] == datetime(2027, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "bad", ["", "* * * *", "61 * * * *", "* * * * 8", "*/0 * * * *", "a b c d e", "5-1 * * * *"]
)
def test_invalid_expressions(bad: str) -> None:
    with pytest.raises(ConfigurationError, match="cron expression"):
        Cron.parse(bad)


def test_unknown_time_zone() -> None:
    with pytest.raises(ConfigurationError, match="time zone"):
        zone("Mars/Olympus")


def test_spring_forward_day() -> None:
    # 2026-03-29 Berlin: 02:00 → 03:00. A 02:30 job fires once, when the clocks jump.
    got = fires("30 2 * * *", datetime(2026, 3, 28, 12, tzinfo=UTC), 3, "Europe/Berlin")
    assert [t.astimezone(BERLIN).strftime("%m-%d %H:%M") for t in got] == [
        "03-29 03:00",
        "03-30 02:30",
        "03-31 02:30",
    ]
    hourly = fires("0 * * * *", datetime(2026, 3, 28, 23, tzinfo=UTC), 3, "Europe/Berlin")
    assert [t.astimezone(BERLIN).hour for t in hourly] == [1, 3, 4]


def test_fall_back_day() -> None:
    # 2026-10-25 Berlin: 03:00 → 02:00. A 02:30 job fires once, at the first 02:30.
    got = fires("30 2 * * *", datetime(2026, 10, 24, 12, tzinfo=UTC), 2, "Europe/Berlin")
    assert got == [datetime(2026, 10, 25, 0, 30, tzinfo=UTC), datetime(2026, 10, 26, 1, 30, tzinfo=UTC)]
    assert got[1] - got[0] == timedelta(hours=25)


def test_catch_up_policies() -> None:
    from sidequest.backend import ScheduleRecord

    base = ScheduleRecord(
        name="s",
        cron="0 * * * *",
        script="m",
        job_class="C",
        next_fire_at=datetime(2026, 1, 1, 0, tzinfo=UTC),
    )
    now = datetime(2026, 1, 1, 5, 30, tzinfo=UTC)
    ticks, following = due_ticks(attrs.evolve(base, catch_up="all"), now)
    assert [t.hour for t in ticks] == [0, 1, 2, 3, 4, 5] and following.hour == 6
    ticks, _ = due_ticks(base, now)
    assert [t.hour for t in ticks] == [5]
    ticks, _ = due_ticks(attrs.evolve(base, catch_up="none"), now)
    assert ticks == []
    ticks, _ = due_ticks(attrs.evolve(base, catch_up="none"), now.replace(minute=0, second=30))
    assert [t.hour for t in ticks] == [5]


async def test_schedule_fires_once_per_tick_across_engines() -> None:
    from sidequest.backend import MemoryBackend

    backend = MemoryBackend()
    engines = [Sidequest(backend, poll_interval=0.02, schedule_interval=0.05) for _ in range(3)]
    schedule = (
        await engines[0].build(jobs.Echo).queue("ticks").schedule("* * * * * *", "tick", name="every-second")
    )
    assert schedule.next_fire_at > datetime.now(UTC) - timedelta(seconds=1)
    for sq in engines:
        await sq.start()
    await asyncio.sleep(3.2)
    for sq in engines:
        await sq.stop()
    fired = await engines[0].jobs.list(queue="ticks", limit=100)
    digests = [j.unique_digest for j in fired]
    assert 2 <= len(fired) <= 4
    assert len(set(digests)) == len(digests)
    stored = await engines[0].schedules.get("every-second")
    assert stored.last_fired_at is not None and stored.last_job_id == max(j.id for j in fired)


async def test_declared_schedules_are_reconciled() -> None:
    from sidequest.backend import MemoryBackend

    backend = MemoryBackend()
    first = Sidequest(
        backend,
        schedules=[
            Schedule(jobs.Echo, "0 9 * * *", args=(1,), name="daily", tz="Europe/Berlin"),
            Schedule(jobs.Echo, "@hourly", name="hourly"),
        ],
    )
    await first.start()
    await first.stop()
    assert {s.name for s in await first.schedules.list()} == {"daily", "hourly"}
    second = Sidequest(
        backend, schedules=[Schedule(jobs.Echo, "0 9 * * *", args=(2,), name="daily", tz="Europe/Berlin")]
    )
    await second.start()
    await second.stop()
    daily, hourly = await second.schedules.get("daily"), await second.schedules.get("hourly")
    assert daily.args == (2,) and daily.state == ScheduleState.ACTIVE
    assert hourly.state == ScheduleState.DISABLED
    await second.schedules.pause("daily")
    assert (await second.schedules.get("daily")).state == ScheduleState.PAUSED
    await second.schedules.resume("daily")
    await second.schedules.delete("daily")
    with pytest.raises(ScheduleNotFoundError):
        await second.schedules.get("daily")


async def test_no_overlap_skips_ticks_while_previous_run_is_alive() -> None:
    sq = Sidequest("memory://", poll_interval=0.02, schedule_interval=0.05, shutdown_timeout=0.1)
    await sq.build(jobs.Sleeps).queue("slow").schedule("* * * * * *", 30, name="slow", no_overlap=True)
    await sq.start()
    await asyncio.sleep(3.3)
    await sq.stop()
    assert len(await sq.jobs.list(queue="slow")) == 1
    with pytest.raises(ConfigurationError, match="unique"):
        await sq.build(jobs.Echo).unique().schedule("@daily")
    with pytest.raises(ConfigurationError, match="catch_up"):
        await sq.build(jobs.Echo).schedule("@daily", catch_up="some")
