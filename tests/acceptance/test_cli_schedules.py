"""``sidequest schedules …`` against a real SQLite file, as a user runs it."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

from sidequest import Sidequest
from sidequest.cli._demo_jobs import GenerateReport


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sidequest", *args], capture_output=True, text=True, timeout=60
    )


def test_list_pause_resume_delete(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cron.sqlite3'}"

    async def create() -> None:
        async with Sidequest(url) as sq:
            await (
                sq.build(GenerateReport)
                .queue("reports")
                .schedule("0 9 * * *", name="daily", tz="Europe/Berlin")
            )

    asyncio.run(create())
    listed = cli("schedules", "list", "--url", url)
    assert listed.returncode == 0, listed.stderr
    assert "daily" in listed.stdout and "Europe/Berlin" in listed.stdout
    paused = cli("schedules", "pause", "daily", "--url", url, "--json")
    assert json.loads(paused.stdout)["state"] == "paused"
    resumed = cli("schedules", "resume", "daily", "--url", url)
    assert "daily: active" in resumed.stdout
    deleted = cli("schedules", "delete", "daily", "--yes", "--url", url)
    assert deleted.returncode == 0 and "deleted" in deleted.stdout
    missing = cli("schedules", "pause", "daily", "--url", url)
    assert missing.returncode == 2
    assert "Traceback" not in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
    assert json.loads(cli("schedules", "list", "--url", url, "--json").stdout) == []
