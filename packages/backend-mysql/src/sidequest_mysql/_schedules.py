"""Recurring-job schedules: rows by name plus a compare-and-set advance."""

from __future__ import annotations

from datetime import datetime

from sidequest.backend import ScheduleRecord, ScheduleState

from ._db import Database
from ._rows import SCHEDULE_COLUMNS, schedule_record, schedule_values, utc, utc_or_none
from ._sql import SCHEDULES, placeholders

_GET = f"SELECT {SCHEDULE_COLUMNS} FROM {SCHEDULES} WHERE name = %s"
_SAVE = f"REPLACE INTO {SCHEDULES} ({SCHEDULE_COLUMNS}) VALUES ({placeholders(20)})"
_ADVANCE = (
    f"UPDATE {SCHEDULES} SET next_fire_at = %s, last_fired_at = COALESCE(%s, last_fired_at),"
    " last_job_id = COALESCE(%s, last_job_id) WHERE name = %s AND next_fire_at = %s"
)


class ScheduleStore:
    """The schedule methods of ``MySQLBackend`` (each write is one statement)."""

    _db: Database

    async def save_schedule(self, schedule: ScheduleRecord) -> ScheduleRecord:
        await self._db.execute(_SAVE, schedule_values(schedule))
        stored = await self.get_schedule(schedule.name)
        return stored if stored is not None else schedule

    async def get_schedule(self, name: str) -> ScheduleRecord | None:
        row = await self._db.fetch_one(_GET, (name,))
        return None if row is None else schedule_record(row)

    async def list_schedules(self) -> list[ScheduleRecord]:
        rows = await self._db.fetch(f"SELECT {SCHEDULE_COLUMNS} FROM {SCHEDULES}")
        return sorted((schedule_record(row) for row in rows), key=lambda s: s.name)

    async def delete_schedule(self, name: str) -> bool:
        return await self._db.execute(f"DELETE FROM {SCHEDULES} WHERE name = %s", (name,)) > 0

    async def set_schedule_state(self, name: str, state: ScheduleState) -> ScheduleRecord | None:
        value = ScheduleState(state).value
        if not await self._db.execute(f"UPDATE {SCHEDULES} SET state = %s WHERE name = %s", (value, name)):
            return None
        return await self.get_schedule(name)

    async def advance_schedule(
        self,
        name: str,
        *,
        expected_next_fire_at: datetime,
        next_fire_at: datetime,
        last_fired_at: datetime | None,
        last_job_id: int | None,
    ) -> bool:
        values = (
            utc(next_fire_at),
            utc_or_none(last_fired_at),
            last_job_id,
            name,
            utc(expected_next_fire_at),
        )
        return await self._db.execute(_ADVANCE, values) > 0
