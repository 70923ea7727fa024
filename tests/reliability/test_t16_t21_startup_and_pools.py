"""T16 concurrent migrations on an empty SQLite file, T21 a tiny PostgreSQL pool under high concurrency."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from rel_jobs import LEDGER_ENV, Work
from sidequest import JobState, QueueConfig, Sidequest

pytestmark = pytest.mark.slow

MIGRATE = textwrap.dedent(
    """
    import asyncio, sys
    from sidequest import Sidequest

    async def main():
        sq = Sidequest(sys.argv[1])
        await sq.configure()
        print("ready", len(await sq.queues.list()))
        await sq.close()

    asyncio.run(main())
    """
)


def test_t16_twenty_processes_migrate_one_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'boot.sqlite3'}"
    script = tmp_path / "boot.py"
    script.write_text(MIGRATE)
    processes = [
        subprocess.Popen(
            [sys.executable, str(script), url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(20)
    ]
    results = [p.communicate(timeout=120) for p in processes]
    failures = [err for p, (_, err) in zip(processes, results, strict=True) if p.returncode != 0]
    assert not failures, failures[:2]
    assert all(out.startswith("ready") for out, _ in results)
    import sqlite3

    with sqlite3.connect(tmp_path / "boot.sqlite3") as conn:
        versions = [
            row[0] for row in conn.execute("SELECT version FROM sidequest_migrations ORDER BY version")
        ]
    assert versions == sorted(set(versions)), "each migration applied once"


async def test_t21_pool_of_two_with_fifty_concurrent_jobs(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uuid

    import asyncpg

    monkeypatch.setenv(LEDGER_ENV, str(tmp_path))
    schema = f"sq_test_{uuid.uuid4().hex[:8]}"
    url = f"{postgres_url}{'&' if '?' in postgres_url else '?'}schema={schema}&pool_max=2"
    sq = Sidequest(
        url,
        max_concurrent_jobs=50,
        queues=[QueueConfig("default", concurrency=50)],
        lease=3,
        heartbeat_interval=0.5,
        release_expired_interval=0.5,
        poll_interval=0.05,
    )
    try:
        await sq.start()
        records = await sq.build(Work).enqueue_many([(0.2,)] * 200)
        finals = [await sq.jobs.wait(r.id, timeout=120) for r in records]
        assert {f.state for f in finals} == {JobState.COMPLETED}
        assert {f.attempt for f in finals} == {1}, "no lease was lost while jobs ran"
        assert sq.stats.stale_writes_rejected == 0
        assert sq.stats.rescued == 0
    finally:
        await sq.close()
        conn = await asyncpg.connect(postgres_url)
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await conn.close()
