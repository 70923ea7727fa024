"""Recurring-job schedules: the ``sidequest_schedules`` table as ``ScheduleRecord`` values."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any

from sidequest.backend import ScheduleRecord, ScheduleState, json_dumps

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
    return [
        s.name,
        s.cron,
        s.tz,
        s.queue,
        s.script,
        s.job_class,
        json_dumps(list(s.args)),
        json_dumps(dict(s.kwargs)),
        json_dumps(list(s.constructor_args)),
        s.max_attempts,
        s.timeout,
        s.retry_delay,
        s.backoff_strategy,
        s.catch_up,
        int(bool(s.no_overlap)),
        int(bool(s.declared)),
        ScheduleState(s.state).value,
        floor_ms(s.next_fire_at),
        None if s.last_fired_at is None else floor_ms(s.last_fired_at),
        s.last_job_id,
    ]


def schedule_from_row(row: sqlite3.Row) -> ScheduleRecord:
    next_fire_at = from_ms(row["next_fire_at"])
    assert next_fire_at is not None
    return ScheduleRecord(
        name=row["name"],
        cron=row["cron"],
        tz=row["tz"],
        queue=row["queue"],
        script=row["script"],
        job_class=row["job_class"],
        args=tuple(json.loads(row["args"])),
        kwargs=json.loads(row["kwargs"]),
        constructor_args=tuple(json.loads(row["constructor_args"])),
        max_attempts=row["max_attempts"],
        timeout=row["timeout"],
        retry_delay=row["retry_delay"],
        backoff_strategy=row["backoff_strategy"],
        catch_up=row["catch_up"],
        no_overlap=bool(row["no_overlap"]),
        declared=bool(row["declared"]),
        state=ScheduleState(row["state"]),
        next_fire_at=next_fire_at,
        last_fired_at=from_ms(row["last_fired_at"]),
        last_job_id=row["last_job_id"],
    )


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
