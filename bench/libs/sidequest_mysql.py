"""sidequest on MySQL / MariaDB (``sidequest_mysql``: asyncmy, SKIP LOCKED, polling workers).

Same engine calls as ``sidequest_pg``; the database is a fresh ``sq_bench_mysql`` on the
server named by ``BENCH_MYSQL`` (default ``mysql://root@127.0.0.1:3306``), created with
``CREATE DATABASE`` and dropped at the end. There is no NOTIFY: idle workers poll.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit

import asyncmy
import sidequest_mysql.backend  # noqa: F401  (the backend is part of the library: imported before LOADED)

from ..common import DB_PREFIX
from .sidequest_pg import LIVE, SidequestAdapter

MYSQL_SERVER = os.environ.get("BENCH_MYSQL", "mysql://root@127.0.0.1:3306")
DATABASE = DB_PREFIX + "mysql"
JOBS = "sidequest_jobs"


def _connect_arguments(database: str | None) -> dict[str, Any]:
    parts = urlsplit(MYSQL_SERVER)
    arguments: dict[str, Any] = {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 3306,
        "user": unquote(parts.username or "root"),
        "password": unquote(parts.password or ""),
        "autocommit": True,  # every read sees the latest commits (no REPEATABLE READ snapshot)
    }
    if database:
        arguments["database"] = database
    return arguments


async def _admin(statement: str) -> None:
    conn = await asyncmy.connect(**_connect_arguments(None))
    try:
        async with conn.cursor() as cursor:
            await cursor.execute("SET sql_notes = 0")  # no note for DROP … IF EXISTS
            await cursor.execute(statement)
    finally:
        conn.close()


class SidequestMysql(SidequestAdapter):
    key: ClassVar[str] = "sidequest-mysql"
    label: ClassVar[str] = "sidequest (MySQL/MariaDB)"
    storage: ClassVar[str] = "mysql"
    config_note: ClassVar[str] = (
        "defaults (asyncmy pool ≤ 10, workers poll: no NOTIFY); enqueue_many for batches"
    )

    @classmethod
    async def provision(cls, workdir: Path) -> dict[str, Any]:
        await _admin(f"DROP DATABASE IF EXISTS `{DATABASE}`")
        await _admin(f"CREATE DATABASE `{DATABASE}`")
        return {"url": f"{MYSQL_SERVER}/{DATABASE}"}

    @classmethod
    async def teardown(cls, settings: dict[str, Any]) -> None:
        await _admin(f"DROP DATABASE IF EXISTS `{DATABASE}`")

    async def open(self) -> None:
        await super().open()
        self.conn = await asyncmy.connect(**_connect_arguments(DATABASE))

    async def close(self) -> None:
        self.conn.close()
        await super().close()

    async def _execute(self, statement: str) -> list[tuple[Any, ...]]:
        async with self.conn.cursor() as cursor:
            await cursor.execute(statement)
            return list(await cursor.fetchall() or ())

    async def reset(self) -> None:
        # queue rows stay: each worker applies its QueueConfig at start
        await self._execute(f"TRUNCATE TABLE {JOBS}")
        await self._execute("TRUNCATE TABLE sidequest_schedules")

    async def add_backlog(self, n: int) -> None:
        await self.prefill(n, first=10_000_000)
        await self._execute(
            f"UPDATE {JOBS} SET state = 'completed', attempt = 1, claimed_at = UTC_TIMESTAMP(3),"
            " claimed_by = 'backlog', attempted_at = UTC_TIMESTAMP(3), completed_at = UTC_TIMESTAMP(3)"
            " WHERE state = 'waiting'"
        )
        await self._execute(f"ANALYZE TABLE {JOBS}")

    async def stored(self) -> int:
        rows = await self._execute(f"SELECT count(*) FROM {JOBS} WHERE state IN {LIVE}")
        return int(rows[0][0])

    async def done(self) -> bool:
        rows = await self._execute(f"SELECT EXISTS (SELECT 1 FROM {JOBS} WHERE state IN {LIVE})")
        return not rows[0][0]

    async def verify(self, completed: int) -> str | None:
        rows = await self._execute(f"SELECT state, count(*) FROM {JOBS} GROUP BY state")
        states = {row[0]: int(row[1]) for row in rows}
        if states != {"completed": completed}:
            return f"expected {completed} completed jobs, found {states}"
        return None
