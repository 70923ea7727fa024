"""sidequest on SQLite (``sidequest_sqlite``: WAL, synchronous=NORMAL, one writer per process).

Same engine calls as ``sidequest_pg``; the database is a fresh file under the run's
temporary directory (``sqlite:////tmp/…/sidequest.sqlite3``).
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any, ClassVar

import sidequest_sqlite.backend  # noqa: F401  (the backend is part of the library: imported before LOADED)

from .sidequest_pg import LIVE, SidequestAdapter

JOBS = "sidequest_jobs"


class SidequestSqlite(SidequestAdapter):
    key: ClassVar[str] = "sidequest-sqlite"
    label: ClassVar[str] = "sidequest (SQLite)"
    storage: ClassVar[str] = "sqlite"
    config_note: ClassVar[str] = "defaults (WAL, synchronous=NORMAL, prefetch auto); enqueue_many for batches"

    @classmethod
    async def provision(cls, workdir: Path) -> dict[str, Any]:
        path = workdir / "sidequest.sqlite3"
        return {"url": f"sqlite:///{path}", "path": str(path)}

    @classmethod
    async def teardown(cls, settings: dict[str, Any]) -> None:
        _remove(Path(settings["path"]))

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.settings["path"], isolation_level=None, timeout=30)
        conn.execute("PRAGMA busy_timeout = 30000")
        return conn

    async def open(self) -> None:
        await super().open()
        self.conn = self._connect()

    async def close(self) -> None:
        self.conn.close()
        await super().close()

    async def reset(self) -> None:
        await self.close()
        _remove(Path(self.settings["path"]))
        await self.open()

    async def add_backlog(self, n: int) -> None:
        await self.prefill(n, first=10_000_000)
        now = int(time.time() * 1000)
        self.conn.execute(
            f"UPDATE {JOBS} SET state = 'completed', attempt = 1, claimed_at = ?, claimed_by = 'backlog',"
            " attempted_at = ?, completed_at = ? WHERE state = 'waiting'",
            (now, now, now),
        )
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    async def stored(self) -> int:
        return int(self.conn.execute(f"SELECT count(*) FROM {JOBS} WHERE state IN {LIVE}").fetchone()[0])

    async def done(self) -> bool:
        row = self.conn.execute(f"SELECT EXISTS (SELECT 1 FROM {JOBS} WHERE state IN {LIVE})").fetchone()
        return not row[0]

    async def verify(self, completed: int) -> str | None:
        states = dict(self.conn.execute(f"SELECT state, count(*) FROM {JOBS} GROUP BY state").fetchall())
        if states != {"completed": completed}:
            return f"expected {completed} completed jobs, found {states}"
        return None


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal", "-sidequest.lock"):
        Path(str(path) + suffix).unlink(missing_ok=True)
