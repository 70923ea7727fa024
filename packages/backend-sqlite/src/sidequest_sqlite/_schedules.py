"""Recurring-job schedules: the ``sidequest_schedules`` table as ``ScheduleRecord`` values."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from sidequest.backend import (
    ScheduleRecord,
    ScheduleState,
    json_dumps,
    json_loads,
    schedule_from_values,
    schedule_values,
)

from ._connections import Connections
from ._sql import floor_ms, from_ms

SCHEDULES = "sidequest_schedules"
_COLUMNS = (
    "name",
    "cron",
    "tz",
    "queue",
    "script",
    "job_class",
    "args",
    "kwargs",
    "constructor_args",
    "max_attempts",
    "timeout",
    "retry_delay",
    "backoff_strategy",
    "catch_up",
    "no_overlap",
    "declared",
    "state",
    "next_fire_at",
    "last_fired_at",
    "last_job_id",
)
_UPSERT = (
    f"INSERT INTO {SCHEDULES} ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))}) "
    "ON CONFLICT (name) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS if c != "name")
    + " RETURNING *"
)


def _params(s: ScheduleRecord) -> list[Any]:
    return schedule_values(s, dumps=json_dumps, moment=floor_ms, flag=int)


def schedule_from_row(row: sqlite3.Row) -> ScheduleRecord:
    return schedule_from_values([row[column] for column in _COLUMNS], loads=json_loads, moment=_moment)


def _moment(stored: int) -> datetime:
    moment = from_ms(stored)
    assert moment is not None
    return moment


class ScheduleStore:
    """Schedule operations of the SQLite backend (each write is one statement)."""

    def __init__(self, db: Connections) -> None:
        self._db = db

    async def save(self, schedule: ScheduleRecord) -> ScheduleRecord:
        return schedule_from_row((await self._db.execute(_UPSERT, _params(schedule)))[0])

    async def get(self, name: str) -> ScheduleRecord | None:
        rows = await self._db.read(f"SELECT * FROM {SCHEDULES} WHERE name = ?", (name,))
        return schedule_from_row(rows[0]) if rows else None

    async def list(self) -> list[ScheduleRecord]:
        rows = await self._db.read(f"SELECT * FROM {SCHEDULES} ORDER BY name")
        return [schedule_from_row(row) for row in rows]

    async def delete(self, name: str) -> bool:
        sql = f"DELETE FROM {SCHEDULES} WHERE name = ? RETURNING name"
        return bool(await self._db.execute(sql, (name,)))

    async def set_state(self, name: str, state: ScheduleState) -> ScheduleRecord | None:
        sql = f"UPDATE {SCHEDULES} SET state = ? WHERE name = ? RETURNING *"
        rows = await self._db.execute(sql, (ScheduleState(state).value, name))
        return schedule_from_row(rows[0]) if rows else None

    async def advance(
        self,
        name: str,
        *,
        expected_next_fire_at: datetime,
        next_fire_at: datetime,
        last_fired_at: datetime | None,
        last_job_id: int | None,
    ) -> bool:
        """Compare-and-set on ``next_fire_at`` (one UPDATE)."""
        sql = (
            f"UPDATE {SCHEDULES} SET next_fire_at = ?, "
            "last_fired_at = COALESCE(?, last_fired_at), last_job_id = COALESCE(?, last_job_id) "
            "WHERE name = ? AND next_fire_at = ? RETURNING name"
        )
        params = (
            floor_ms(next_fire_at),
            None if last_fired_at is None else floor_ms(last_fired_at),
            last_job_id,
            name,
            floor_ms(expected_next_fire_at),
        )
        return bool(await self._db.execute(sql, params))
