"""Acceptance helpers: run the real ``sidequest`` command (``python -m sidequest``) in a subprocess.

Test modules import the ``project`` fixture from here (a conftest.py in this directory
would shadow the root one, which ``tests/backends.py`` imports as ``conftest``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

APP = '''
"""A user's app: jobs and the Sidequest instance the worker runs."""
import asyncio
import os
import time

from sidequest import Job, Sidequest


class Hello(Job):
    async def run(self, name):
        self.logger.info("saying hi to %s", name)
        return f"hi {name}"


class Boom(Job):
    async def run(self):
        raise ValueError("boom from the job")


class SnoozeOnce(Job):
    async def run(self, until):
        if time.time() < until:
            return self.snooze(0.2)
        return "woke up"


class Slow(Job):
    async def run(self, seconds):
        await asyncio.sleep(seconds)
        return "slept"


sq = Sidequest(os.environ["SIDEQUEST_URL"], poll_interval=0.05, heartbeat_interval=0.5, lease=5)
'''

SEED = '''
"""Enqueue jobs given as JSON on the command line: [[class, args, options], ...]."""
import asyncio
import json
import sys

import app


async def main():
    async with app.sq as sq:
        ids = []
        for name, args, options in json.loads(sys.argv[1]):
            builder = sq.build(getattr(app, name))
            for option, value in options.items():
                builder = getattr(builder, option)(value)
            ids.append((await builder.enqueue(*args)).id)
        print(json.dumps(ids))


asyncio.run(main())
'''


class Project:
    """A temporary project directory holding ``app.py``, with the database URL in the environment."""

    def __init__(self, path: Path, url: str) -> None:
        self.path = path
        self.url = url
        (path / "app.py").write_text(textwrap.dedent(APP))
        (path / "seed.py").write_text(textwrap.dedent(SEED))
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SIDEQUEST_")}
        self.env.update({"SIDEQUEST_URL": url, "PYTHONUNBUFFERED": "1"})

    def run(
        self, *args: str, timeout: float = 60, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """``python -m sidequest ARGS`` in the project directory."""
        return subprocess.run(
            [sys.executable, "-m", "sidequest", *args],
            cwd=self.path,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "sidequest", *args],
            cwd=self.path,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def seed(self, *jobs: tuple[str, list[Any], dict[str, Any]]) -> list[int]:
        done = subprocess.run(
            [sys.executable, "seed.py", json.dumps(jobs)],
            cwd=self.path,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        ids: list[int] = json.loads(done.stdout)
        return ids

    def jobs(self) -> dict[int, dict[str, Any]]:
        """Every job by id, read with ``sidequest jobs list --json``."""
        done = self.run("jobs", "list", "--json", "--limit", "1000")
        assert done.returncode == 0, done.stderr
        return {job["id"]: job for job in json.loads(done.stdout)["jobs"]}

    def wait_for_state(self, job_id: int, state: str, timeout: float = 20) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            job = self.jobs()[job_id]
            if job["state"] == state or time.monotonic() > deadline:
                return job
            time.sleep(0.2)


def sqlite_url(path: Path) -> str:
    pytest.importorskip("sidequest_sqlite.backend")
    return f"sqlite:///{path / 'jobs.sqlite3'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def project(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Project]:
    """A project on a fresh SQLite file or PostgreSQL schema (dropped afterwards)."""
    if request.param == "sqlite":
        yield Project(tmp_path, sqlite_url(tmp_path))
        return
    base: str = request.getfixturevalue("postgres_url")
    schema = f"sq_cli_{uuid.uuid4().hex[:10]}"
    joiner = "&" if "?" in base else "?"
    try:
        yield Project(tmp_path, f"{base}{joiner}schema={schema}")
    finally:
        import asyncpg

        conn = await asyncpg.connect(base)
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await conn.close()


def assert_one_line_error(done: subprocess.CompletedProcess[str], *fragments: str) -> None:
    """Exit code 2, nothing on stdout, one line on stderr containing ``fragments``, no traceback."""
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("sidequest: ")
    for fragment in fragments:
        assert fragment in lines[0]
