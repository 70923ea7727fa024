"""The ``sidequest`` admin and worker commands, in-process, on an app's ``memory://`` backend."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from sidequest import JobState, Sidequest
from sidequest.cli import cli, invoke

APP = """
import asyncio
from sidequest import Job, Sidequest
from sidequest.backend import MemoryBackend


class Hello(Job):
    async def run(self, name):
        return f"hi {name}"


class Boom(Job):
    async def run(self):
        raise ValueError("boom from the job")


class Slow(Job):
    async def run(self, seconds):
        await asyncio.sleep(seconds)
        return "slept"


sq = Sidequest(MemoryBackend(), poll_interval=0.02)
"""


class Cli:
    """Runs ``sidequest …`` in this process against the app module ``name``."""

    def __init__(self, module: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
        self.module = module
        self.app = f"{module.__name__}:sq"
        self.capsys = capsys

    @property
    def sq(self) -> Sidequest:
        sq = self.module.sq
        assert isinstance(sq, Sidequest)
        return sq

    def __call__(self, *args: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        code = invoke(cli, list(args))
        out, err = self.capsys.readouterr()
        return code, out, err

    def admin(self, *args: str) -> tuple[int, str, str]:
        return self(*args, "--app", self.app)

    def json(self, *args: str) -> Any:
        code, out, err = self.admin(*args, "--json")
        assert code == 0, err
        return json.loads(out)

    def enqueue(self, job: str, *args: Any, queue: str = "default", **options: Any) -> int:
        async def go() -> int:
            builder = self.sq.build(getattr(self.module, job)).queue(queue)
            for name, value in options.items():
                builder = getattr(builder, name)(value)
            record = await builder.enqueue(*args)
            await self.sq.close()
            return record.id

        return asyncio.run(go())


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Iterator[Cli]:
    name = f"cliapp_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(APP))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("SIDEQUEST_URL", raising=False)
    monkeypatch.delenv("SIDEQUEST_APP", raising=False)
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    module = __import__(name)
    try:
        yield Cli(module, capsys)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        sys.modules.pop(name, None)


def test_worker_drains_then_jobs_list_shows_outcomes(run: Cli) -> None:
    ok = run.enqueue("Hello", "ada")
    bad = run.enqueue("Boom", max_attempts=2, retry_delay=0.01)
    code, _, err = run("worker", run.app, "--drain", "--log-level", "warning")
    assert code == 0, err
    code, out, _ = run.admin("jobs", "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "STATE", "QUEUE", "CLASS", "ATTEMPT", "WHEN", "ARGS"]
    assert lines[1].split()[:5] == [str(bad), "failed", "default", "Boom", "2/2"]
    assert lines[2].split()[:5] == [str(ok), "completed", "default", "Hello", "1/5"]
    assert '["ada"]' in lines[2]


def test_worker_serves_only_the_given_queues(run: Cli) -> None:
    served = run.enqueue("Hello", "a", queue="emails")
    other = run.enqueue("Hello", "b", queue="reports")
    code, _, err = run("worker", run.app, "--drain", "--queues", "emails:2", "--concurrency", "3")
    assert code == 0, err
    assert run.sq.max_concurrent_jobs == 3
    states = {j["id"]: j["state"] for j in run.json("jobs", "list")["jobs"]}
    assert states == {served: "completed", other: "waiting"}


def test_worker_json_logs_are_json_lines(run: Cli) -> None:
    run.enqueue("Hello", "x")
    code, _, err = run("worker", run.app, "--drain", "--json-logs")
    assert code == 0
    records = [json.loads(line) for line in err.splitlines() if line.strip()]
    assert records and all({"time", "level", "logger", "message"} <= set(r) for r in records)
    assert any("drained" in r["message"] for r in records)


def test_jobs_list_filters_and_pages(run: Cli) -> None:
    ids = [run.enqueue("Hello", str(n), queue="q1" if n % 2 else "q2") for n in range(5)]
    page = run.json("jobs", "list", "--limit", "2")
    assert [j["id"] for j in page["jobs"]] == [ids[4], ids[3]]
    assert page["next_before"] == ids[3]
    code, out, _ = run.admin("jobs", "list", "--limit", "2", "--before", str(ids[3]))
    assert code == 0 and f"next page: --before {ids[1]}" in out
    last = run.json("jobs", "list", "--limit", "2", "--before", str(ids[1]))
    assert [j["id"] for j in last["jobs"]] == [ids[0]] and last["next_before"] is None
    only_q1 = run.json("jobs", "list", "--queue", "q1", "--state", "waiting", "--class", "Hel%")
    assert [j["id"] for j in only_q1["jobs"]] == [ids[3], ids[1]]
    assert run.json("jobs", "list", "--state", "failed")["jobs"] == []
    code, out, _ = run.admin("jobs", "list", "--state", "failed")
    assert (code, out.strip()) == (0, "no jobs match")


def test_jobs_list_oldest_first_pages_with_after(run: Cli) -> None:
    ids = [run.enqueue("Hello", str(n)) for n in range(5)]
    page = run.json("jobs", "list", "--order", "oldest", "--limit", "2")
    assert [j["id"] for j in page["jobs"]] == ids[:2]
    assert (page["next_after"], page["next_before"]) == (ids[1], None)
    code, out, _ = run.admin("jobs", "list", "--order", "oldest", "--limit", "2", "--after", str(ids[1]))
    assert code == 0 and f"next page: --after {ids[3]}" in out
    window = run.json("jobs", "list", "--after", str(ids[0]), "--before", str(ids[4]))
    assert [j["id"] for j in window["jobs"]] == [ids[3], ids[2], ids[1]] and window["next_after"] is None
    assert run("jobs", "list", "--order", "random")[0] == 2


def test_jobs_show_prints_errors_with_tracebacks(run: Cli) -> None:
    bad = run.enqueue("Boom", max_attempts=2, retry_delay=0.01)
    assert run("worker", run.app, "--drain", "--log-level", "error")[0] == 0
    code, out, _ = run.admin("jobs", "show", str(bad))
    assert code == 0
    assert "state:            failed" in out and "attempt:          2 of 2" in out
    assert out.count("ValueError: boom from the job") == 4  # message + last traceback line, twice
    assert "Traceback (most recent call last)" in out and "claimed by:" in out
    data = run.json("jobs", "show", str(bad))
    assert data["state"] == "failed" and len(data["errors"]) == 2 and "lease_token" not in data


def test_cancel_run_snooze_rerun(run: Cli) -> None:
    first = run.enqueue("Hello", "a", delay=3600)
    second = run.enqueue("Hello", "b")
    code, out, _ = run.admin("jobs", "run", str(first))
    assert code == 0 and f"ready now: #{first} Hello" in out
    code, out, _ = run.admin("jobs", "snooze", str(first), "--delay", "5m")
    assert code == 0 and "snoozed for 5m" in out
    record = asyncio.run(run.sq.jobs.get(first))
    assert (record.available_at - record.inserted_at).total_seconds() > 290
    code, out, _ = run.admin("jobs", "cancel", str(first), str(second))
    assert code == 0 and out.count("canceled: #") == 2
    [rerun] = run.json("jobs", "rerun", str(second))
    assert rerun["state"] == JobState.WAITING.value


def test_actions_report_each_bad_id_on_one_line(run: Cli) -> None:
    done = run.enqueue("Hello", "a")
    assert run("worker", run.app, "--drain", "--log-level", "error")[0] == 0
    code, out, err = run.admin("jobs", "cancel", str(done), "999")
    assert code == 2 and out == ""
    assert err.splitlines() == [
        f"sidequest: cannot cancel job #{done}: it is completed (see it with `sidequest jobs show {done}`)",
        "sidequest: job #999 not found (list jobs with `sidequest jobs list`)",
    ]


def test_bulk_rerun_and_cancel_need_confirmation(run: Cli) -> None:
    failed = [run.enqueue("Boom", max_attempts=1, queue=q) for q in ("a", "b")]
    assert run("worker", run.app, "--drain", "--log-level", "error")[0] == 0
    code, _, err = run.admin("jobs", "rerun", "--all-failed")
    assert code == 2 and "pass --yes" in err and len(err.splitlines()) == 1
    assert {j["state"] for j in run.json("jobs", "list")["jobs"]} == {"failed"}
    code, out, _ = run.admin("jobs", "rerun", "--all-failed", "--queue", "a", "--yes")
    assert code == 0 and "rerun 1 job(s)" in out
    states = {j["id"]: j["state"] for j in run.json("jobs", "list")["jobs"]}
    assert states == {failed[0]: "waiting", failed[1]: "failed"}
    code, out, _ = run.admin("jobs", "cancel", "--all-waiting", "-y")
    assert code == 0 and "canceled 1 job(s)" in out
    code, out, _ = run.admin("jobs", "cancel", "--all-waiting", "-y")
    assert (code, out.strip()) == (0, "no waiting jobs: nothing to cancel")
    code, _, err = run.admin("jobs", "cancel", "1", "--all-waiting")
    assert code == 2 and "not both" in err


class _Terminal:
    """Standard input as a terminal that types ``answer``."""

    def __init__(self, answer: str) -> None:
        self._lines = iter([answer + "\n"])

    def isatty(self) -> bool:
        return True

    def readline(self, *_: object) -> str:
        return next(self._lines, "")


def test_declining_a_bulk_confirmation_changes_nothing(run: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    failed = run.enqueue("Boom", max_attempts=1)
    assert run("worker", run.app, "--drain", "--log-level", "error")[0] == 0
    monkeypatch.setattr("sys.stdin", _Terminal("n"))
    code, _, err = run.admin("jobs", "rerun", "--all-failed")
    assert (code, err.strip().splitlines()[-1]) == (1, "sidequest: aborted; nothing was changed")
    assert [(j["id"], j["state"]) for j in run.json("jobs", "list")["jobs"]] == [(failed, "failed")]


def test_a_job_id_given_twice_is_acted_on_once(run: Cli) -> None:
    job = run.enqueue("Boom", max_attempts=1)
    assert run("worker", run.app, "--drain", "--log-level", "error")[0] == 0
    code, out, err = run.admin("jobs", "rerun", str(job), str(job))
    assert (code, err) == (0, "") and out.count(f"#{job}") == 1


def test_an_app_target_never_creates_a_database_or_its_schema(run: Cli, tmp_path: Path) -> None:
    missing, empty = tmp_path / "missing.sqlite3", tmp_path / "empty.sqlite3"
    empty.touch()
    for path in (missing, empty):
        (tmp_path / f"{path.stem}_app.py").write_text(
            f"from sidequest import Sidequest\nsq = Sidequest({f'sqlite:///{path}'!r})\n"
        )
    code, _, err = run("jobs", "list", "--app", "missing_app:sq")
    assert code == 2 and f"no SQLite database at {missing}" in err
    assert not missing.exists()
    code, _, err = run("jobs", "list", "--app", "empty_app:sq")
    assert code == 2 and "if the schema is missing run `sidequest migrate`" in err
    with contextlib.closing(sqlite3.connect(empty)) as db:
        assert db.execute("SELECT count(*) FROM sqlite_master").fetchone() == (0,), "no table was created"
    code, _, err = run("migrate", "--app", "empty_app:sq")
    assert code == 0, err
    assert run("jobs", "list", "--app", "empty_app:sq")[0] == 0


def test_queues_list_pause_resume_set(run: Cli) -> None:
    run.enqueue("Hello", "a", queue="emails")
    code, out, _ = run.admin("queues", "pause", "emails")
    assert code == 0 and "queue emails: paused" in out
    code, out, _ = run.admin("queues", "set", "emails", "--concurrency", "3", "--priority", "7")
    assert code == 0 and "priority 7, concurrency 3" in out
    [queue] = run.json("queues", "list")
    assert queue == {
        "name": "emails",
        "state": "paused",
        "priority": 7,
        "concurrency": 3,
        "jobs": {
            "waiting": 1,
            "claimed": 0,
            "running": 0,
            "completed": 0,
            "failed": 0,
            "canceled": 0,
            "total": 1,
        },
    }
    # A paused queue's waiting jobs do not keep a draining worker alive.
    assert run("worker", run.app, "--drain", "--log-level", "error")[0] == 0
    assert run.admin("queues", "resume", "emails")[0] == 0
    code, out, _ = run.admin("queues", "list")
    assert out.splitlines()[1].split()[:5] == ["emails", "active", "7", "3", "1"]
    code, _, err = run.admin("queues", "set", "emails")
    assert code == 2 and "nothing to change" in err
    code, _, err = run.admin("queues", "pause", "nope")
    assert (
        code == 2 and err == "sidequest: queue 'nope' not found (list queues with `sidequest queues list`)\n"
    )


def test_backends_lists_schemes(run: Cli) -> None:
    code, out, _ = run("backends")
    assert code == 0 and out.splitlines()[0].split() == ["SCHEME", "DISTRIBUTION", "VERSION"]
    schemes = {entry["scheme"]: entry["distribution"] for entry in json.loads(run("backends", "--json")[1])}
    assert schemes["memory"] == "sidequest"


def test_migrate_and_rollback_on_app(run: Cli) -> None:
    code, out, _ = run.admin("migrate")
    assert code == 0 and "is up to date" in out
    code, _, err = run.admin("rollback")
    assert code == 2 and "pass --yes" in err
    code, out, _ = run.admin("rollback", "--yes")
    assert code == 0 and "rolled back" in out


def test_connection_options_precedence(run: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    run.enqueue("Hello", "a")
    monkeypatch.setenv("SIDEQUEST_URL", "redis://elsewhere")
    code, out, err = run.admin("jobs", "list")  # --app on the command line beats SIDEQUEST_URL
    assert code == 0 and "Hello" in out, err
    code, _, err = run("jobs", "list")  # only the environment: the URL wins over nothing else
    assert code == 2 and "no backend is installed for URL scheme 'redis'" in err
    monkeypatch.delenv("SIDEQUEST_URL")
    monkeypatch.setenv("SIDEQUEST_APP", run.app)
    code, out, _ = run("jobs", "list")
    assert code == 0 and "Hello" in out
    code, _, err = run("jobs", "list", "--url", "memory://", "--app", run.app)
    assert code == 2 and "give either --url or --app, not both" in err
