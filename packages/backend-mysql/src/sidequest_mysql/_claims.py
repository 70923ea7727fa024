"""Claims, plus the optional batched operations of ``sidequest.backend.FastPathBackend``.

A claim is one short transaction: ``SELECT … FOR UPDATE SKIP LOCKED`` picks and locks up to
``limit`` ready rows (concurrent claimers skip them instead of waiting), then one UPDATE by
id hands them out. The lease token is ``<random hex>.<job id>``: unique per job and claim.
``claim_and_start`` claims straight into ``running``; ``complete_many`` completes a batch of
running jobs, each fenced by its own lease token, in one transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sidequest import ConfigurationError
from sidequest.backend import JobRecord, JobState, json_dumps, plausible_token

from . import _sql
from ._db import Database, retrying
from ._rows import job_record, micros, moment, utc

WORKER_ID_LIMIT = 255
_RUNNING_LOCKED = "SELECT id, lease_token FROM {jobs} WHERE id IN ({ids}) AND state = 'running' FOR UPDATE"


class ClaimStore:
    """``claim``, ``claim_and_start`` and ``complete_many`` for ``MySQLBackend``."""

    _db: Database

    async def claim(self, queue: str, limit: int, worker_id: str, lease: float) -> list[JobRecord]:
        if limit <= 0:
            return []
        return await retrying(lambda: self._claim(queue, int(limit), worker_id, lease, start=False))

    async def claim_and_start(self, queue: str, limit: int, worker_id: str, lease: float) -> list[JobRecord]:
        """As ``claim``, but the jobs go straight to ``running`` (``attempt + 1``, ``attempted_at``)."""
        if limit <= 0:
            return []
        return await retrying(lambda: self._claim(queue, int(limit), worker_id, lease, start=True))

    async def _claim(
        self, queue: str, limit: int, worker_id: str, lease: float, *, start: bool
    ) -> list[JobRecord]:
        """One transaction: lock ready rows (``SKIP LOCKED``), then update them by id."""
        if len(worker_id) > WORKER_ID_LIMIT:
            raise ConfigurationError(f"worker ids are at most {WORKER_ID_LIMIT} characters long")
        token = uuid.uuid4().hex
        async with self._db.transaction() as cur:
            await cur.execute(_sql.CLAIM_SELECT, (queue, limit))
            rows = await cur.fetchall()
            if not rows:
                return []
            now: datetime = moment(rows[0][-1])
            expires = now + timedelta(microseconds=micros(lease))
            ids = [row[0] for row in rows]
            started = [utc(now)] if start else []
            args = [utc(now), worker_id, token, utc(expires), *started, *ids]
            await cur.execute(_sql.claim_update(len(ids), start=start), args)
        extra: dict[str, Any] = {"state": JobState.RUNNING if start else JobState.CLAIMED}
        records = []
        for row in rows:
            if start:
                extra.update(attempt=row[8] + 1, attempted_at=now)
            records.append(
                job_record(
                    row,
                    claimed_at=now,
                    claimed_by=worker_id,
                    lease_token=f"{token}.{row[0]}",
                    lease_expires_at=expires,
                    **extra,
                )
            )
        return records

    async def complete_many(self, items: Sequence[tuple[int, str, Any]]) -> set[int]:
        """Complete running jobs ``(id, lease_token, result)``; return the ids whose guard matched."""
        wanted = {int(job_id): (token, result) for job_id, token, result in items if plausible_token(token)}
        if not wanted:
            return set()
        return await retrying(lambda: self._complete_many(wanted))

    async def _complete_many(self, wanted: dict[int, tuple[str, Any]]) -> set[int]:
        ids = sorted(wanted)
        async with self._db.transaction() as cur:
            await cur.execute(_RUNNING_LOCKED.format(jobs=_sql.JOBS, ids=_sql.placeholders(len(ids))), ids)
            done = sorted(
                int(job_id) for job_id, token in await cur.fetchall() if wanted[int(job_id)][0] == token
            )
            if not done:
                return set()
            results: list[Any] = []
            for job_id in done:
                result = wanted[job_id][1]
                results += [job_id, None if result is None else json_dumps(result)]
            cases = " ".join(["WHEN %s THEN %s"] * len(done))
            await cur.execute(
                f"UPDATE {_sql.JOBS} SET result = CASE id {cases} END, completed_at = {_sql.NOW},"
                " lease_token = NULL, lease_expires_at = NULL, state = 'completed'"
                f" WHERE id IN ({_sql.placeholders(len(done))}) AND state = 'running'",
                [*results, *done],
            )
        return set(done)
