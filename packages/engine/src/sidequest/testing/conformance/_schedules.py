"""Recurring-job schedules: save, read, list, delete, state and the compare-and-set advance."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from sidequest.backend import Backend, ScheduleRecord, ScheduleState

from ._fixtures import typed

FIRE_AT = datetime(2031, 7, 8, 9, 10, 11, 123000, tzinfo=UTC)


def _schedule(name: str = "nightly", **fields: Any) -> ScheduleRecord:
    values: dict[str, Any] = {"cron": "0 3 * * *", "script": "tests.jobs", "job_class": "Report"}
    values.update(next_fire_at=FIRE_AT, **fields)
    return ScheduleRecord(name=name, **values)


class ScheduleTests:
    """Schedules are stored by name; ``advance_schedule`` moves on only from the expected time."""

    async def test_save_and_get_every_field(self, backend: Backend) -> None:
        schedule = _schedule(
            tz="Europe/Paris",
            queue="reports",
            args=("é", 1, [2.5, None]),
            kwargs={"k": {"nested": True}},
            constructor_args=({"c": 1},),
            max_attempts=3,
            timeout=12.5,
            retry_delay=None,
            backoff_strategy="fixed",
            catch_up="all",
            no_overlap=True,
            declared=True,
            state=ScheduleState.PAUSED,
            last_fired_at=FIRE_AT - timedelta(days=1),
            last_job_id=42,
        )
        saved = await backend.save_schedule(schedule)
        fetched = await backend.get_schedule("nightly")
        for record in (saved, fetched):
            assert record == schedule
            assert record is not None and typed(record.args) == typed(schedule.args)

    async def test_save_replaces_by_name(self, backend: Backend) -> None:
        await backend.save_schedule(_schedule(cron="* * * * *", last_job_id=1))
        replaced = _schedule(cron="*/5 * * * *", queue="other")
        await backend.save_schedule(replaced)
        assert await backend.get_schedule("nightly") == replaced
        assert await backend.list_schedules() == [replaced]

    async def test_get_unknown_schedule(self, backend: Backend) -> None:
        await backend.save_schedule(_schedule())
        assert await backend.get_schedule("unknown") is None

    async def test_list_schedules_sorted_by_name(self, backend: Backend) -> None:
        for name in ("b", "c", "a"):
            await backend.save_schedule(_schedule(name))
        assert [s.name for s in await backend.list_schedules()] == ["a", "b", "c"]

    async def test_delete_schedule(self, backend: Backend) -> None:
        await backend.save_schedule(_schedule("a"))
        await backend.save_schedule(_schedule("b"))
        assert await backend.delete_schedule("a") is True
        assert await backend.delete_schedule("a") is False
        assert [s.name for s in await backend.list_schedules()] == ["b"]

    async def test_set_schedule_state(self, backend: Backend) -> None:
        schedule = await backend.save_schedule(_schedule())
        paused = await backend.set_schedule_state("nightly", ScheduleState.PAUSED)
        assert paused == attrs.evolve(schedule, state=ScheduleState.PAUSED)
        assert await backend.get_schedule("nightly") == paused
        assert await backend.set_schedule_state("unknown", ScheduleState.DISABLED) is None

    async def test_advance_from_the_expected_time(self, backend: Backend) -> None:
        await backend.save_schedule(_schedule(last_job_id=7, last_fired_at=FIRE_AT - timedelta(days=1)))
        later = FIRE_AT + timedelta(days=1)
        moved = await backend.advance_schedule(
            "nightly", expected_next_fire_at=FIRE_AT, next_fire_at=later, last_fired_at=FIRE_AT, last_job_id=8
        )
        assert moved is True
        stored = await backend.get_schedule("nightly")
        assert stored is not None
        assert (stored.next_fire_at, stored.last_fired_at, stored.last_job_id) == (later, FIRE_AT, 8)

    async def test_advance_keeps_last_values_when_not_given(self, backend: Backend) -> None:
        before = FIRE_AT - timedelta(days=1)
        await backend.save_schedule(_schedule(last_job_id=7, last_fired_at=before))
        later = FIRE_AT + timedelta(hours=1)
        assert await backend.advance_schedule(
            "nightly", expected_next_fire_at=FIRE_AT, next_fire_at=later, last_fired_at=None, last_job_id=None
        )
        stored = await backend.get_schedule("nightly")
        assert stored is not None
        assert (stored.next_fire_at, stored.last_fired_at, stored.last_job_id) == (later, before, 7)

    async def test_advance_from_another_time_is_refused(self, backend: Backend) -> None:
        schedule = await backend.save_schedule(_schedule())
        for expected in (FIRE_AT + timedelta(milliseconds=1), FIRE_AT - timedelta(seconds=1)):
            assert not await backend.advance_schedule(
                "nightly",
                expected_next_fire_at=expected,
                next_fire_at=FIRE_AT + timedelta(days=1),
                last_fired_at=FIRE_AT,
                last_job_id=1,
            )
        assert not await backend.advance_schedule(
            "unknown",
            expected_next_fire_at=FIRE_AT,
            next_fire_at=FIRE_AT,
            last_fired_at=None,
            last_job_id=None,
        )
        assert await backend.get_schedule("nightly") == schedule

    async def test_racing_advances_only_one_wins(self, backend: Backend) -> None:
        await backend.save_schedule(_schedule())
        outcomes = await asyncio.gather(
            *(
                backend.advance_schedule(
                    "nightly",
                    expected_next_fire_at=FIRE_AT,
                    next_fire_at=FIRE_AT + timedelta(minutes=n + 1),
                    last_fired_at=FIRE_AT,
                    last_job_id=n,
                )
                for n in range(10)
            )
        )
        assert outcomes.count(True) == 1
        winner = outcomes.index(True)
        stored = await backend.get_schedule("nightly")
        assert stored is not None and stored.last_job_id == winner

    async def test_truncate_deletes_schedules(self, backend: Backend) -> None:
        await backend.save_schedule(_schedule())
        await backend.truncate()
        assert await backend.list_schedules() == []
