"""Versioned schema migrations, applied in order inside one ``BEGIN IMMEDIATE`` transaction.

Timestamps are INTEGER epoch milliseconds (UTC), durations REAL seconds, JSON is TEXT.
Applied versions are recorded in ``sidequest_migrations``; concurrent ``migrate()`` calls
from several processes serialize on the write lock and the later ones find nothing to do.
"""

from __future__ import annotations

import sqlite3

from attrs import frozen
from sidequest import ConfigurationError

from ._sql import FINISHED_AT, HOLDS_DIGEST, LATEST_AT, NOW


@frozen
class Migration:
    version: int
    name: str
    up: tuple[str, ...]
    down: tuple[str, ...]


MIGRATIONS_TABLE = "sidequest_migrations"

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "create queues and jobs",
        up=(
            """CREATE TABLE sidequest_queues (
                name TEXT PRIMARY KEY NOT NULL,
                concurrency INTEGER NOT NULL DEFAULT 10 CHECK (concurrency >= 1),
                priority INTEGER NOT NULL DEFAULT 0,
                state TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'paused'))
            )""",
            """CREATE TABLE sidequest_jobs (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                queue TEXT NOT NULL,
                state TEXT NOT NULL DEFAULT 'waiting' CHECK (state IN
                    ('waiting', 'claimed', 'running', 'completed', 'failed', 'canceled')),
                script TEXT NOT NULL,
                job_class TEXT NOT NULL,
                args TEXT NOT NULL DEFAULT '[]',
                kwargs TEXT NOT NULL DEFAULT '{}',
                constructor_args TEXT NOT NULL DEFAULT '[]',
                attempt INTEGER NOT NULL DEFAULT 0,
                max_attempts INTEGER NOT NULL DEFAULT 5,
                inserted_at INTEGER NOT NULL,
                available_at INTEGER NOT NULL,
                timeout REAL,
                result TEXT,
                errors TEXT NOT NULL DEFAULT '[]',
                attempted_at INTEGER,
                completed_at INTEGER,
                failed_at INTEGER,
                canceled_at INTEGER,
                claimed_at INTEGER,
                claimed_by TEXT,
                unique_digest TEXT,
                uniqueness_config TEXT,
                unique_forever INTEGER NOT NULL DEFAULT 0,
                retry_delay REAL,
                backoff_strategy TEXT NOT NULL DEFAULT 'exponential',
                lease_token TEXT,
                lease_expires_at INTEGER
            )""",
            # claim: ready waiting jobs of one queue, oldest first
            """CREATE INDEX sidequest_jobs_claim
                ON sidequest_jobs (queue, available_at, id) WHERE state = 'waiting'""",
            # release_expired: held jobs by lease expiry
            """CREATE INDEX sidequest_jobs_lease
                ON sidequest_jobs (lease_expires_at) WHERE state IN ('claimed', 'running')""",
            # uniqueness, enforced by the database
            f"CREATE UNIQUE INDEX sidequest_jobs_unique_digest ON sidequest_jobs (unique_digest) "
            f"WHERE {HOLDS_DIGEST}",
        ),
        down=("DROP TABLE sidequest_jobs", "DROP TABLE sidequest_queues"),
    ),
    Migration(
        2,
        "dashboard and cleanup indexes",
        up=(
            "CREATE INDEX sidequest_jobs_state ON sidequest_jobs (state, id)",
            "CREATE INDEX sidequest_jobs_queue ON sidequest_jobs (queue, id)",
            "CREATE INDEX sidequest_jobs_class ON sidequest_jobs (job_class, id)",
            f"""CREATE INDEX sidequest_jobs_finished ON sidequest_jobs ({FINISHED_AT})
                WHERE state IN ('completed', 'failed', 'canceled')""",
            f"CREATE INDEX sidequest_jobs_latest ON sidequest_jobs ({LATEST_AT})",
        ),
        down=(
            "DROP INDEX sidequest_jobs_latest",
            "DROP INDEX sidequest_jobs_finished",
            "DROP INDEX sidequest_jobs_class",
            "DROP INDEX sidequest_jobs_queue",
            "DROP INDEX sidequest_jobs_state",
        ),
    ),
    Migration(
        3,
        "create schedules",
        up=(
            """CREATE TABLE sidequest_schedules (
                name TEXT PRIMARY KEY NOT NULL,
                cron TEXT NOT NULL,
                tz TEXT NOT NULL DEFAULT 'UTC',
                queue TEXT NOT NULL,
                script TEXT NOT NULL,
                job_class TEXT NOT NULL,
                args TEXT NOT NULL DEFAULT '[]',
                kwargs TEXT NOT NULL DEFAULT '{}',
                constructor_args TEXT NOT NULL DEFAULT '[]',
                max_attempts INTEGER NOT NULL,
                timeout REAL,
                retry_delay REAL,
                backoff_strategy TEXT NOT NULL,
                catch_up TEXT NOT NULL,
                no_overlap INTEGER NOT NULL DEFAULT 0,
                declared INTEGER NOT NULL DEFAULT 0,
                state TEXT NOT NULL,
                next_fire_at INTEGER NOT NULL,
                last_fired_at INTEGER,
                last_job_id INTEGER
            )""",
        ),
        down=("DROP TABLE sidequest_schedules",),
    ),
)


def applied_versions(conn: sqlite3.Connection) -> list[int]:
    rows = conn.execute(f"SELECT version FROM {MIGRATIONS_TABLE} ORDER BY version").fetchall()
    return [int(row[0]) for row in rows]


def migrate(conn: sqlite3.Connection) -> list[int]:
    """Apply every missing migration (call inside a write transaction); return the new versions."""
    conn.execute(
        f"""CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (
            version INTEGER PRIMARY KEY NOT NULL,
            name TEXT NOT NULL,
            applied_at INTEGER NOT NULL
        )"""
    )
    done = set(applied_versions(conn))
    applied = []
    for migration in MIGRATIONS:
        if migration.version in done:
            continue
        for statement in migration.up:
            conn.execute(statement)
        conn.execute(
            f"INSERT INTO {MIGRATIONS_TABLE} (version, name, applied_at) VALUES (?, ?, {NOW})",
            (migration.version, migration.name),
        )
        applied.append(migration.version)
    return applied


def rollback(conn: sqlite3.Connection) -> int | None:
    """Undo the latest applied migration (inside a write transaction); return its version."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (MIGRATIONS_TABLE,)
    ).fetchall()
    if not exists:
        return None
    versions = applied_versions(conn)
    if not versions:
        return None
    by_version = {m.version: m for m in MIGRATIONS}
    latest = versions[-1]
    migration = by_version.get(latest)
    if migration is None:
        raise ConfigurationError(
            f"cannot roll back schema version {latest}: this sidequest-sqlite does not know it"
        )
    for statement in migration.down:
        conn.execute(statement)
    conn.execute(f"DELETE FROM {MIGRATIONS_TABLE} WHERE version = ?", (latest,))
    return latest
