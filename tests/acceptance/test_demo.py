"""``sidequest demo`` on a fresh directory: the embedded SQLite default, every outcome, a clean stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from cli_project import Project, sqlite_url

pytestmark = pytest.mark.slow


def test_demo_runs_on_the_default_sqlite_file(tmp_path: Path) -> None:
    project = Project(tmp_path, sqlite_url(tmp_path))
    done = project.run("demo", "--duration", "7", env={"SIDEQUEST_URL": ""}, timeout=60)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    database = tmp_path / "sidequest-demo.sqlite3"
    assert f"database: sqlite:///sidequest-demo.sqlite3 (file {database})" in out
    for outcome in ("completed", "after 2 attempts", "will retry in", "snoozed for", "failed on attempt"):
        assert outcome in out, outcome
    assert "summary:" in out and "look around:" in out
    assert "Traceback" not in done.stderr and "\x1b[" not in out  # plain lines when not a terminal
    jobs = project.run(
        "jobs", "list", "--json", "--limit", "100", env={"SIDEQUEST_URL": "sqlite:///sidequest-demo.sqlite3"}
    )
    states = {job["state"] for job in json.loads(jobs.stdout)["jobs"]}
    assert {"completed", "failed"} <= states
    assert not states & {"claimed", "running"}  # a graceful stop leaves nothing held


def test_demo_serves_the_dashboard_and_stops_gracefully_on_ctrl_c(tmp_path: Path) -> None:
    sqlite_url(tmp_path)
    demo = subprocess.Popen(
        [sys.executable, "-m", "sidequest", "demo", "--dashboard-port", "0"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert demo.stdout is not None
        first = [demo.stdout.readline() for _ in range(2)]
        assert first[0].startswith("database: sqlite:///sidequest-demo.sqlite3")
        assert first[1].startswith("dashboard: http://127.0.0.1:")
        url = first[1].split(": ", 1)[1].strip()
        time.sleep(2)
        page = httpx.get(url + "jobs", timeout=10)
        assert page.status_code == 200 and "SendWelcomeEmail" in page.text
        demo.send_signal(signal.SIGINT)
        out, err = demo.communicate(timeout=20)
    finally:
        if demo.poll() is None:
            demo.kill()
    assert demo.returncode == 0, err
    assert "summary:" in out and "Traceback" not in err
