"""Pieces of the ``sidequest`` command: parsing, formatting, logging, app loading, progress."""

from __future__ import annotations

import io
import json
import logging
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import pytest
from sidequest import ErrorRecord, JobRecord, JobState
from sidequest._logging import JsonFormatter, configure_logging
from sidequest.cli._app import CliError, check_sqlite_file, load_app
from sidequest.cli._output import (
    duration,
    job_detail,
    one_line,
    parse_duration,
    remember_secret,
    table,
)
from sidequest.cli._progress import Tracker, describe_change, status_line
from sidequest.cli._worker import parse_queues


def test_parse_queues() -> None:
    assert parse_queues("emails:2, default ,reports:10") == {"emails": 2, "default": None, "reports": 10}
    for bad, why in [
        ("emails:x", "whole number"),
        ("emails:0", "whole number"),
        ("a,,b", "empty queue name"),
        (":3", "empty queue name"),
        ("a,a:2", "given twice"),
    ]:
        with pytest.raises(click.BadParameter, match=why):
            parse_queues(bad)


def test_durations() -> None:
    assert [parse_duration(t) for t in ("30", "1.5s", "500ms", "5m", "2h", "1d")] == [
        30,
        1.5,
        0.5,
        300,
        7200,
        86400,
    ]
    for bad in ("", "soon", "-5", "5 minutes"):
        with pytest.raises(ValueError, match="not a duration"):
            parse_duration(bad)
    assert [duration(s) for s in (0, 0.25, 1.0, 12.4, 90, 3600, 5430, None)] == [
        "0s",
        "0.2s",
        "1s",
        "12s",
        "1m30s",
        "1h",
        "1h30m",
        "-",
    ]


def test_table_aligns_styled_cells() -> None:
    text = click.unstyle(table(["id", "state"], [["1", click.style("failed", fg="red")], ["123", "ok"]]))
    assert text.splitlines() == ["ID   STATE", "1    failed", "123  ok"]


def test_one_line_masks_remembered_passwords() -> None:
    secret = f"pw{uuid.uuid4().hex}"
    remember_secret(f"postgresql://bob:{secret}@db/app")
    assert one_line(f"could not connect\n  as bob:{secret}\n") == "could not connect as bob:***"


def _job(**changes: object) -> JobRecord:
    now = datetime.now(UTC)
    fields: dict[str, object] = {
        "id": 7,
        "queue": "emails",
        "state": JobState.WAITING,
        "script": "app.jobs",
        "job_class": "SendEmail",
        "inserted_at": now,
        "available_at": now,
    }
    fields.update(changes)
    return JobRecord(**fields)  # type: ignore[arg-type]


def test_describe_change() -> None:
    waiting = _job()
    running = _job(state=JobState.RUNNING, attempt=1)
    error = ErrorRecord(type="ValueError", message="nope", attempt=1)
    later = datetime.now(UTC) + timedelta(seconds=30)
    assert describe_change(None, waiting) is None
    assert describe_change(waiting, waiting) is None
    assert describe_change(running, _job(attempt=1, errors=(error,), available_at=later)) is not None
    retry = click.unstyle(
        describe_change(running, _job(attempt=1, errors=(error,), available_at=later)) or ""
    )
    assert retry.startswith("#7 SendEmail will retry in ") and retry.endswith(": nope")
    snooze = click.unstyle(describe_change(running, _job(available_at=later)) or "")
    assert snooze.startswith("#7 SendEmail snoozed for ")
    done = _job(state=JobState.COMPLETED, attempt=2)
    assert click.unstyle(describe_change(running, done) or "") == "#7 SendEmail completed after 2 attempts"
    failed = _job(state=JobState.FAILED, attempt=1, errors=(error,))
    assert click.unstyle(describe_change(None, failed) or "") == (
        "#7 SendEmail failed on attempt 1: ValueError: nope"
    )
    tracker = Tracker()
    tracker.update([done, _job(id=8)])
    assert status_line(tracker, 1.0) == "[   1.0s] 1/2 finished: waiting 1, completed 1"


def test_job_detail_lists_every_error() -> None:
    errors = (
        ErrorRecord(
            type="ValueError", message="first", traceback="Traceback...\nValueError: first", attempt=1
        ),
        ErrorRecord(type="worker_lost", message="lost", attempt=2, worker="host:1"),
    )
    text = click.unstyle(job_detail(_job(state=JobState.FAILED, attempt=2, errors=errors, kwargs={"a": 1})))
    assert "errors:           2" in text
    assert "  1. attempt 1\n     ValueError: first\n     | Traceback...\n     | ValueError: first" in text
    assert "  2. attempt 2 on host:1\n     worker_lost: lost" in text
    assert 'kwargs:           {\n                    "a": 1\n                  }' in text


def test_json_formatter_carries_job_fields() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        configure_logging("debug", json_lines=True, stream=stream)
        configure_logging("debug", json_lines=True, stream=stream)  # replaces, never duplicates
        logging.getLogger("sidequest.job").info("hello %s", "ada", extra={"job_id": 3, "queue": "q"})
        try:
            raise RuntimeError("bad")
        except RuntimeError:
            logging.getLogger("x").exception("failed")
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert {k: first[k] for k in ("level", "logger", "message", "job_id", "queue")} == {
        "level": "info",
        "logger": "sidequest.job",
        "message": "hello ada",
        "job_id": 3,
        "queue": "q",
    }
    assert second["level"] == "error" and "RuntimeError: bad" in second["exception"]
    assert JsonFormatter().format(logging.makeLogRecord({"msg": "x", "obj": object()}))  # non-JSON extras
    with pytest.raises(ValueError, match="unknown log level"):
        configure_logging("loud")


def test_load_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"loadapp_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(
        "from sidequest import Sidequest\nsq = Sidequest('memory://')\n"
        "class Holder:\n    sq = sq\nnot_sq = 3\n"
    )
    (tmp_path / f"{name}_broken.py").write_text("import not_a_real_package_xyz\n")
    (tmp_path / f"{name}_syntax.py").write_text("def (:\n")
    (tmp_path / f"{name}_raises.py").write_text("raise RuntimeError('config missing')\n")
    monkeypatch.chdir(tmp_path)
    assert load_app(f"{name}:sq") is load_app(f"{name}:Holder.sq")
    for spec, message in [
        (name, "must look like 'module:attribute'"),
        (f"{name}:", "must look like"),
        (f"{name}:a-b", "must look like"),
        (f"{name}:missing", f"module {name!r} has no attribute 'missing'"),
        (f"{name}:not_sq", "names a int object, not a Sidequest instance"),
        ("no_such_module_xyz:sq", "no such module in"),
        (f"{name}_broken:sq", "No module named 'not_a_real_package_xyz'; install the missing package"),
        (f"{name}_syntax:sq", "invalid syntax"),
        (f"{name}_raises:sq", "RuntimeError: config missing"),
    ]:
        with pytest.raises(CliError, match=message):
            load_app(spec)


def test_check_sqlite_file(tmp_path: Path) -> None:
    existing = tmp_path / "jobs.sqlite3"
    existing.write_bytes(b"")
    check_sqlite_file(f"sqlite:///{existing}")
    check_sqlite_file("postgresql://localhost/db")
    with pytest.raises(CliError, match="no SQLite database at"):
        check_sqlite_file(f"sqlite:///{tmp_path / 'missing.sqlite3'}")


@pytest.mark.parametrize(
    ("raised", "code", "line"),
    [
        (KeyboardInterrupt, 130, "sidequest: interrupted"),  # Ctrl-C: click turns it into Abort
        (click.Abort, 1, "sidequest: aborted; nothing was changed"),  # a declined confirmation
    ],
)
def test_ctrl_c_and_a_declined_confirmation_are_told_apart(
    raised: type[BaseException], code: int, line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from sidequest.cli._run import invoke

    @click.group()
    def group() -> None:
        pass

    @group.command()
    def stops() -> None:
        raise raised

    assert invoke(group, ["stops"]) == code
    assert capsys.readouterr().err.strip().splitlines()[-1] == line
