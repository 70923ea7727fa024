"""Versioned migrations, applied under ``GET_LOCK`` so that concurrent migrators take turns.

MySQL runs DDL outside transactions (each statement commits), so a migration is a list of
idempotent statements (``IF NOT EXISTS``) recorded in ``sidequest_migrations`` once all of
them ran: a migration interrupted half-way is completed by the next ``migrate()``.

Text is case- and accent-sensitive everywhere (queue names, classes, digests): tables use a
binary collation, preferably one without trailing-space padding (``utf8mb4_nopad_bin`` on
MariaDB, ``utf8mb4_0900_bin`` on MySQL 8) so that ``"a"`` and ``"a "`` stay two queues.

Payloads are JSON *text* (``LONGTEXT``), written canonically by ``sidequest.backend.json_dumps``
and read back byte for byte. MariaDB's ``JSON`` type is the same ``LONGTEXT`` plus a
``JSON_VALID`` check that refuses documents nested deeper than 32 levels, which sidequest
accepts (up to 100); MySQL's binary ``JSON`` re-spells numbers and reorders keys.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from asyncmy.cursors import Cursor
from asyncmy.errors import MySQLError
from sidequest import ConfigurationError

from ._db import UNKNOWN_DATABASE, Database, error_code

LIVE = "'waiting', 'claimed', 'running'"
COLLATIONS = ("utf8mb4_nopad_bin", "utf8mb4_0900_bin", "utf8mb4_bin")
MIGRATIONS_TABLE = "sidequest_migrations"
LOCK_TIMEOUT = 60


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    up: tuple[str, ...]
    down: tuple[str, ...]


_TABLE = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={collation}"
MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "create queues and jobs",
        up=(
            f"""CREATE TABLE IF NOT EXISTS sidequest_queues (
    name VARCHAR(255) NOT NULL PRIMARY KEY,
    concurrency INT NOT NULL DEFAULT 10,
    priority INT NOT NULL DEFAULT 0,
    state VARCHAR(16) NOT NULL DEFAULT 'active',
    CONSTRAINT sidequest_queues_concurrency CHECK (concurrency >= 1),
    CONSTRAINT sidequest_queues_state CHECK (state IN ('active', 'paused'))
) {_TABLE}""",
            f"""CREATE TABLE IF NOT EXISTS sidequest_jobs (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    queue VARCHAR(255) NOT NULL,
    state VARCHAR(16) NOT NULL,
    script VARCHAR(1024) NOT NULL,
    class VARCHAR(512) NOT NULL,
    args LONGTEXT NOT NULL,
    kwargs LONGTEXT NOT NULL,
    constructor_args LONGTEXT NOT NULL,
    attempt INT NOT NULL DEFAULT 0,
    max_attempts INT NOT NULL DEFAULT 5,
    inserted_at DATETIME(3) NOT NULL,
    available_at DATETIME(3) NOT NULL,
    timeout DOUBLE NULL,
    result LONGTEXT NULL,
    errors LONGTEXT NOT NULL,
    attempted_at DATETIME(3) NULL,
    completed_at DATETIME(3) NULL,
    failed_at DATETIME(3) NULL,
    canceled_at DATETIME(3) NULL,
    claimed_at DATETIME(3) NULL,
    claimed_by VARCHAR(255) NULL,
    unique_digest VARCHAR(255) NULL,
    uniqueness_config LONGTEXT NULL,
    unique_forever TINYINT(1) NOT NULL DEFAULT 0,
    retry_delay DOUBLE NULL,
    backoff_strategy VARCHAR(16) NOT NULL DEFAULT 'exponential',
    lease_token VARCHAR(64) NULL,
    lease_expires_at DATETIME(3) NULL,
    finished_at DATETIME(3) AS (COALESCE(completed_at, failed_at, canceled_at)) STORED,
    latest_at DATETIME(3) AS (
        COALESCE(completed_at, failed_at, canceled_at, attempted_at, claimed_at, inserted_at)) STORED,
    unique_holder VARCHAR(255) AS (
        CASE WHEN state IN ({LIVE}) OR unique_forever <> 0 THEN unique_digest END) STORED,
    CONSTRAINT sidequest_jobs_state CHECK (
        state IN ('waiting', 'claimed', 'running', 'completed', 'failed', 'canceled')),
    CONSTRAINT sidequest_jobs_backoff CHECK (backoff_strategy IN ('exponential', 'fixed')),
    UNIQUE KEY sidequest_jobs_unique_holder (unique_holder),
    KEY sidequest_jobs_claim (state, queue, available_at),
    KEY sidequest_jobs_lease (state, lease_expires_at),
    KEY sidequest_jobs_state (state),
    KEY sidequest_jobs_finished (finished_at),
    KEY sidequest_jobs_latest (latest_at),
    KEY sidequest_jobs_queue (queue),
    KEY sidequest_jobs_class (class)
) {_TABLE}""",
        ),
        down=("DROP TABLE IF EXISTS sidequest_jobs", "DROP TABLE IF EXISTS sidequest_queues"),
    ),
    Migration(
        2,
        "create schedules",
        up=(
            f"""CREATE TABLE IF NOT EXISTS sidequest_schedules (
    name VARCHAR(255) NOT NULL PRIMARY KEY,
    cron VARCHAR(255) NOT NULL,
    tz VARCHAR(64) NOT NULL DEFAULT 'UTC',
    queue VARCHAR(255) NOT NULL,
    script VARCHAR(1024) NOT NULL,
    class VARCHAR(512) NOT NULL,
    args LONGTEXT NOT NULL,
    kwargs LONGTEXT NOT NULL,
    constructor_args LONGTEXT NOT NULL,
    max_attempts INT NOT NULL DEFAULT 5,
    timeout DOUBLE NULL,
    retry_delay DOUBLE NULL,
    backoff_strategy VARCHAR(16) NOT NULL DEFAULT 'exponential',
    catch_up VARCHAR(16) NOT NULL DEFAULT 'latest',
    no_overlap TINYINT(1) NOT NULL DEFAULT 0,
    declared TINYINT(1) NOT NULL DEFAULT 0,
    state VARCHAR(16) NOT NULL DEFAULT 'active',
    next_fire_at DATETIME(3) NOT NULL,
    last_fired_at DATETIME(3) NULL,
    last_job_id BIGINT NULL
) {_TABLE}""",
        ),
        down=("DROP TABLE IF EXISTS sidequest_schedules",),
    ),
)
LATEST_VERSION = MIGRATIONS[-1].version
"""(InnoDB secondary indexes end with the primary key: ``(state, queue, available_at)`` is
``(state, queue, available_at, id)``, the claim order, and ``(state)``, ``(queue)`` and ``(class)``
serve listings filtered on one value, newest id first.)"""


def lock_name(database: str) -> str:
    """The ``GET_LOCK`` name for this database's migrations (at most 64 characters)."""
    return "sidequest-migrate-" + hashlib.sha1(database.encode()).hexdigest()


async def current_version(db: Database) -> int | None:
    """The applied version; None when the migrations table does not exist."""
    exists = await db.fetch_one(
        "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s",
        (MIGRATIONS_TABLE,),
    )
    if not exists or not exists[0]:
        return None
    row = await db.fetch_one(f"SELECT MAX(version) FROM {MIGRATIONS_TABLE}")
    return int(row[0] or 0) if row else 0


async def migrate(db: Database) -> list[int]:
    """Create the database if it is missing, apply pending migrations; return what was applied."""
    try:
        version = await current_version(db)
    except MySQLError as exc:
        if error_code(exc) != UNKNOWN_DATABASE:
            raise
        await db.create_database()
        version = await current_version(db)
    if version == LATEST_VERSION:
        return []  # fast path: no lock on an up-to-date schema
    applied: list[int] = []
    async with _locked(db) as run:
        await run(
            f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (version INT NOT NULL PRIMARY KEY,"
            " name VARCHAR(255) NOT NULL, applied_at DATETIME(3) NOT NULL) ENGINE=InnoDB"
        )
        done = {row[0] for row in await run(f"SELECT version FROM {MIGRATIONS_TABLE}")}
        pending = [m for m in MIGRATIONS if m.version not in done]
        if not pending:
            return []
        collation = await _collation(run)
        for migration in pending:
            for statement in migration.up:
                await run(statement.format(collation=collation))
            await run(
                f"INSERT INTO {MIGRATIONS_TABLE} (version, name, applied_at)"
                " VALUES (%s, %s, UTC_TIMESTAMP(3))",
                (migration.version, migration.name),
            )
            applied.append(migration.version)
    return applied


async def rollback(db: Database) -> int | None:
    """Undo the most recent migration; return its version (None when nothing is applied)."""
    if await current_version(db) is None:
        return None
    async with _locked(db) as run:
        rows = await run(f"SELECT MAX(version) FROM {MIGRATIONS_TABLE}")
        version = rows[0][0] if rows else None
        if version is None:
            return None
        migration = next((m for m in MIGRATIONS if m.version == version), None)
        if migration is None:
            raise ConfigurationError(
                f"the database is at migration {version}, newer than this sidequest-mysql "
                f"({LATEST_VERSION}): roll it back with the version that applied it"
            )
        for statement in migration.down:
            await run(statement)
        await run(f"DELETE FROM {MIGRATIONS_TABLE} WHERE version = %s", (version,))
    return int(version)


class _Runner:
    """Runs statements on the one connection that holds the migrations lock."""

    def __init__(self, cur: Cursor) -> None:
        self._cur = cur

    async def __call__(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        await self._cur.execute(sql, args or None)
        return list(await self._cur.fetchall())


@asynccontextmanager
async def _locked(db: Database) -> AsyncIterator[_Runner]:
    """Hold the migrations lock (a session lock: a dead process releases it) during the block."""
    async with db.cursor() as cur:
        run = _Runner(cur)
        name = lock_name(db.options.database)
        got = await run("SELECT GET_LOCK(%s, %s)", (name, LOCK_TIMEOUT))
        if not got or got[0][0] != 1:
            raise ConfigurationError(f"could not take the migrations lock within {LOCK_TIMEOUT} s")
        try:
            yield run
        finally:
            await run("SELECT RELEASE_LOCK(%s)", (name,))


async def _collation(run: _Runner) -> str:
    rows = await run(
        "SELECT COLLATION_NAME FROM information_schema.COLLATIONS WHERE COLLATION_NAME IN (%s, %s, %s)",
        COLLATIONS,
    )
    found = {str(row[0]) for row in rows}
    return next((name for name in COLLATIONS if name in found), "utf8mb4_bin")
