"""Inserting jobs: multi-row ``INSERT … RETURNING`` (MariaDB) or row by row (MySQL).

A batch is cut into statements of at most 500 rows and about 1 MiB of JSON text, to stay
far below ``max_allowed_packet`` (16 MiB by default on MariaDB); several statements run in
one transaction, so a batch is stored whole or not at all.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sidequest import ConfigurationError
from sidequest.backend import NewJob

from ._db import Database, Row
from ._rows import INSERT_COLUMNS, INSERT_VALUES, JOB_COLUMNS, insert_values
from ._sql import JOBS, jobs_by_ids

_MAX_ROWS = 500
_MAX_CHARS = 1024 * 1024
_READ_BACK = 1000
LIMITS = {"queue": 255, "job_class": 512, "script": 1024, "unique_digest": 255}
"""Longest text (in characters) each indexed or bounded column holds."""


def check_lengths(job: NewJob) -> None:
    """Refuse, before anything is stored, a value longer than its column."""
    for field, limit in LIMITS.items():
        value = getattr(job, field)
        if value is not None and len(value) > limit:
            raise ConfigurationError(
                f"{field} {value[:40]!r}… is {len(value)} characters long;"
                f" the MySQL backend stores at most {limit}"
            )


def _insert_sql(rows: int, returning: bool) -> str:
    values = ", ".join([INSERT_VALUES] * rows)
    tail = f" RETURNING {JOB_COLUMNS}" if returning else ""
    return f"INSERT INTO {JOBS} ({INSERT_COLUMNS}) VALUES {values}{tail}"


def _chunks(values: list[list[Any]]) -> Iterator[list[list[Any]]]:
    chunk: list[list[Any]] = []
    size = 0
    for row in values:
        chars = sum(len(value) for value in row if isinstance(value, str))
        if chunk and (len(chunk) >= _MAX_ROWS or size + chars > _MAX_CHARS):
            yield chunk
            chunk, size = [], 0
        chunk.append(row)
        size += chars
    if chunk:
        yield chunk


def _flat(rows: list[list[Any]]) -> list[Any]:
    return [value for row in rows for value in row]


async def insert_jobs(db: Database, jobs: Sequence[NewJob], *, returning: bool) -> list[Row]:
    """Store ``jobs`` atomically; return their rows (``JOB_COLUMNS``) in insertion order."""
    for job in jobs:
        check_lengths(job)
    values = [insert_values(job) for job in jobs]
    if returning:
        chunks = list(_chunks(values))
        if len(chunks) == 1:  # one statement is one transaction: no BEGIN/COMMIT round trips
            rows = await db.fetch(_insert_sql(len(chunks[0]), True), _flat(chunks[0]))
        else:
            rows = []
            async with db.transaction() as cur:
                for chunk in chunks:
                    await cur.execute(_insert_sql(len(chunk), True), _flat(chunk))
                    rows += await cur.fetchall()
        return sorted(rows, key=lambda row: int(row[0]))
    # No RETURNING: each single-row INSERT reports its own id (exact whatever
    # auto_increment_increment / innodb_autoinc_lock_mode are), then one read back.
    ids: list[int] = []
    rows = []
    async with db.transaction() as cur:
        single = _insert_sql(1, False)
        for row in values:
            await cur.execute(single, row)
            ids.append(int(cur.lastrowid))
        for start in range(0, len(ids), _READ_BACK):
            part = ids[start : start + _READ_BACK]
            await cur.execute(jobs_by_ids(len(part)), part)
            rows += await cur.fetchall()
    return sorted(rows, key=lambda row: int(row[0]))
