"""Every bad input ends with one line on stderr saying what to do, exit code 2, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_project import Project, assert_one_line_error, sqlite_url

UNREACHABLE = "postgresql://bob:hunter2secret@127.0.0.1:1/app"

CASES = [
    (["jobs", "list", "--url", "redis://localhost"], {}, ["no backend is installed for URL scheme 'redis'"]),
    (["jobs", "list", "--url", "jobs.sqlite3"], {}, ["has no scheme"]),
    (["jobs", "list", "--url", UNREACHABLE], {}, ["cannot open the database at", "bob:***@127.0.0.1:1"]),
    (["jobs", "list", "--url", "sqlite:///missing.sqlite3"], {}, ["no SQLite database at missing.sqlite3"]),
    (["jobs", "list", "--url", "sqlite:///nodir/x.sqlite3"], {}, ["no directory nodir for the SQLite"]),
    (["jobs", "list"], {"SIDEQUEST_URL": ""}, ["no database given: pass --url URL"]),
    (["jobs", "show", "424242"], {}, ["job #424242 not found"]),
    (["jobs", "show", "abc"], {}, ["'abc' is not a valid integer"]),
    (["jobs", "snooze", "1", "--delay", "soon"], {}, ["'soon' is not a duration"]),
    (["jobs", "list", "--state", "done"], {}, ["'done' is not one of"]),
    (["jobs", "list", "--limit", "0"], {}, ["--limit"]),
    (["jobs", "frobnicate"], {}, ["No such command 'frobnicate'"]),
    (["worker", "nosuchmodule:sq"], {}, ["cannot import module 'nosuchmodule'"]),
    (["worker", "app"], {}, ["must look like 'module:attribute'"]),
    (["worker", "app:nope"], {}, ["module 'app' has no attribute 'nope'"]),
    (["worker", "app:Hello"], {}, ["not a Sidequest instance"]),
    (["worker", "app:sq", "--queues", "emails:two"], {}, ["--queues", "emails:2,default"]),
    (["worker", "app:sq", "--queues", "emails:0"], {}, ["--queues"]),
    (["worker"], {}, ["missing APP"]),
    (["worker", "app:sq"], {"SIDEQUEST_URL": UNREACHABLE}, ["cannot open the database of app:sq"]),
    (
        ["worker", "app:sq"],
        {"SIDEQUEST_URL": "nosuchdb://x/y"},
        ["no backend is installed for URL scheme 'nosuchdb'"],
    ),
    (["worker", "app:sq", "--concurrency", "0"], {}, ["--concurrency"]),
    (["worker", "app:sq", "--processes", "2"], {}, ["--processes", "--runner process"]),
    (["schedules", "delete", "nosuch"], {}, ["schedule 'nosuch' not found"]),  # before asking to confirm
    (["queues", "set", "default", "--concurrency", "0"], {}, ["--concurrency"]),
    (["queues", "pause", "nope"], {}, ["queue 'nope' not found"]),
    (["dashboard", "--host", "0.0.0.0"], {}, ["--auth USER:PASSWORD", "--insecure"]),
    (["dashboard", "--auth", ":secret"], {}, ["--auth must be USER:PASSWORD"]),
    (
        ["demo", "--url", "nosuch://x", "--duration", "1"],
        {},
        ["no backend is installed for URL scheme 'nosuch'"],
    ),
]


@pytest.mark.parametrize(("args", "env", "fragments"), CASES, ids=[" ".join(c[0]) for c in CASES])
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, args: list[str], env: dict[str, str], fragments: list[str]
) -> None:
    project = Project(tmp_path, sqlite_url(tmp_path))
    assert project.run("migrate").returncode == 0
    done = project.run(*args, env=env, timeout=30)
    assert_one_line_error(done, *fragments)
    assert done.stdout == ""
    assert "hunter2secret" not in done.stderr


def test_help_and_version(tmp_path: Path) -> None:
    project = Project(tmp_path, sqlite_url(tmp_path))
    done = project.run("--help")
    assert done.returncode == 0 and "worker" in done.stdout and "jobs" in done.stdout
    done = project.run("--version")
    assert done.returncode == 0 and done.stdout.startswith("sidequest, version ")
