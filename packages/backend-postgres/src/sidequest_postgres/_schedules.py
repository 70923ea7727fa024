"""Recurring-job schedules: plain row storage plus a compare-and-set advance."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sidequest.backend import ScheduleRecord, ScheduleState

from ._codec import ms, ms_or_none
from ._params import schedule_values
from ._rows import schedule_record
from ._sql import Statements

if TYPE_CHECKING:
    import asyncpg

    Pool = asyncpg.Pool[asyncpg.Record]


class ScheduleStore:
    """The schedule methods of ``PostgresBackend`` (each one statement)."""

    _sql: Statements

    async def _db(self) -> Pool:
        raise NotImplementedError

    async def save_schedule(self, schedule: ScheduleRecord) -> ScheduleRecord:
        row = await (await self._db()).fetchrow(self._sql.save_schedule, *schedule_values(schedule))
        assert row is not None
        return schedule_record(row)

    async def get_schedule(self, name: str) -> ScheduleRecord | None:
        row = await (await self._db()).fetchrow(self._sql.get_schedule, name)
        return None if row is None else schedule_record(row)

    async def list_schedules(self) -> list[ScheduleRecord]:
        rows = await (await self._db()).fetch(self._sql.list_schedules)
        return sorted((schedule_record(row) for row in rows), key=lambda s: s.name)

    async def delete_schedule(self, name: str) -> bool:
        return await (await self._db()).fetchval(self._sql.delete_schedule, name) is not None

    async def set_schedule_state(self, name: str, state: ScheduleState) -> ScheduleRecord | None:
        value = ScheduleState(state).value
        row = await (await self._db()).fetchrow(self._sql.set_schedule_state, name, value)
        return None if row is None else schedule_record(row)

    async def advance_schedule(
        self,
        name: str,
        *,
        expected_next_fire_at: datetime,
        next_fire_at: datetime,
        last_fired_at: datetime | None,
        last_job_id: int | None,
    ) -> bool:
        row = await (await self._db()).fetchval(
            self._sql.advance_schedule,
            name,
            ms(expected_next_fire_at),
            ms(next_fire_at),
            ms_or_none(last_fired_at),
            last_job_id,
        )
        return row is not None
