"""T13 (second half): a row corrupted behind the library's back fails only that job."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import asyncpg
import pytest
from rel_jobs import LEDGER_ENV, Work
from sidequest import JobState, Sidequest

CORRUPTIONS_PG = ["'\"not a list\"'::jsonb", "'{\"a\": 1}'::jsonb"]
CORRUPTIONS_SQLITE = ["'not json {'", "'\"not a list\"'"]


async def corrupt(url: str, job_id: int, value_sql: str) -> None:
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        with sqlite3.connect(path) as conn:
            conn.execute(f"UPDATE sidequest_jobs SET args = {value_sql} WHERE id = ?", (job_id,))
        return
    schema = parse_qs(urlsplit(url).query)["schema"][0]
    conn = await asyncpg.connect(url.split("?")[0])
    try:
        await conn.execute(f'UPDATE "{schema}".sidequest_jobs SET args = {value_sql} WHERE id = $1', job_id)
    finally:
        await conn.close()


async def test_corrupt_payload_fails_only_its_job(
    url: str, client: Sidequest, ledger: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(LEDGER_ENV, str(ledger))
    corruptions = CORRUPTIONS_SQLITE if url.startswith("sqlite") else CORRUPTIONS_PG
    bad = [await client.build(Work).enqueue() for _ in corruptions]
    for job, value in zip(bad, corruptions, strict=True):
        await corrupt(url, job.id, value)
    good = await client.build(Work).enqueue_many([()] * 5)
    listed = await client.jobs.list(limit=100)  # listing never raises on a corrupt row
    assert {j.id for j in listed} >= {j.id for j in bad}
    worker = Sidequest(url, poll_interval=0.05)
    await worker.start()
    try:
        for job in bad:
            record = await worker.jobs.wait(job.id, timeout=20)
            assert record.state == JobState.FAILED
            assert record.errors[-1].type == "UndecodablePayload"
        for job in good:
            assert (await worker.jobs.wait(job.id, timeout=20)).state == JobState.COMPLETED
    finally:
        await worker.close()
