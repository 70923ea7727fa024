"""Admin commands as a user runs them: migrate, jobs list/show/cancel/rerun, queues, on a real database."""

from __future__ import annotations

import json
import signal

import httpx
from cli_project import Project, assert_one_line_error, project

__all__ = ["project"]


def test_jobs_list_show_cancel_rerun(project: Project) -> None:
    done = project.run("migrate")
    assert done.returncode == 0 and "is up to date" in done.stdout
    ok, bad, later = project.seed(
        ("Hello", ["ada"], {}),
        ("Boom", [], {"max_attempts": 1}),
        ("Hello", ["later"], {"delay": 3600}),
    )
    # A job delayed by an hour would keep a draining worker busy: cancel it first.
    canceled = project.run("jobs", "cancel", str(later))
    assert (
        canceled.returncode == 0 and f"canceled: #{later} Hello (queue default): canceled" in canceled.stdout
    )
    assert project.run("worker", "app:sq", "--drain").returncode == 0

    listing = project.run("jobs", "list")
    assert listing.returncode == 0
    rows = [line.split()[:4] for line in listing.stdout.splitlines()]
    assert rows == [
        ["ID", "STATE", "QUEUE", "CLASS"],
        [str(later), "canceled", "default", "Hello"],
        [str(bad), "failed", "default", "Boom"],
        [str(ok), "completed", "default", "Hello"],
    ]
    failed = json.loads(project.run("jobs", "list", "--state", "failed", "--json").stdout)["jobs"]
    assert [job["id"] for job in failed] == [bad]

    show = project.run("jobs", "show", str(bad))
    assert show.returncode == 0
    assert (
        "ValueError: boom from the job" in show.stdout and "Traceback (most recent call last)" in show.stdout
    )
    assert "class:            app.Boom" in show.stdout

    again = project.run("jobs", "rerun", str(bad), "--json")
    assert again.returncode == 0 and json.loads(again.stdout)[0]["state"] == "waiting"
    refused = project.run("jobs", "cancel", str(ok))
    assert_one_line_error(refused, f"cannot cancel job #{ok}: it is completed")
    missing = project.run("jobs", "show", "999999")
    assert_one_line_error(missing, "job #999999 not found")


def test_bulk_rerun_of_failed_jobs(project: Project) -> None:
    ids = project.seed(*[("Boom", [], {"max_attempts": 1, "queue": q}) for q in ("a", "a", "b")])
    assert project.run("worker", "app:sq", "--drain").returncode == 0
    refused = project.run("jobs", "rerun", "--all-failed")
    assert_one_line_error(refused, "confirmation needed; pass --yes")
    done = project.run("jobs", "rerun", "--all-failed", "--queue", "a", "--yes")
    assert done.returncode == 0 and "rerun 2 job(s)" in done.stdout
    states = {i: job["state"] for i, job in project.jobs().items()}
    assert states == {ids[0]: "waiting", ids[1]: "waiting", ids[2]: "failed"}


def test_queues_commands(project: Project) -> None:
    project.seed(("Hello", ["x"], {"queue": "emails"}))
    assert project.run("queues", "pause", "emails").returncode == 0
    changed = project.run("queues", "set", "emails", "--concurrency", "2", "--priority", "5")
    assert changed.returncode == 0 and "paused, priority 5, concurrency 2" in changed.stdout
    listing = project.run("queues", "list")
    assert listing.stdout.splitlines()[1].split()[:5] == ["emails", "paused", "5", "2", "1"]
    queues = json.loads(project.run("queues", "list", "--json").stdout)
    assert [(q["name"], q["state"], q["jobs"]["waiting"]) for q in queues] == [("emails", "paused", 1)]
    assert project.run("queues", "resume", "emails").returncode == 0
    assert_one_line_error(project.run("queues", "resume", "nope"), "queue 'nope' not found")


def test_dashboard_command_serves_the_jobs(project: Project) -> None:
    [job] = project.seed(("Hello", ["dash"], {}))
    server = project.start("dashboard", "--port", "0")
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        assert line.startswith("dashboard: http://127.0.0.1:"), line
        url = line.split()[1]
        page = httpx.get(f"{url}jobs/{job}", timeout=10)
        assert page.status_code == 200 and "Hello" in page.text
        server.send_signal(signal.SIGTERM)
        _, err = server.communicate(timeout=15)
    finally:
        if server.poll() is None:
            server.kill()
    assert server.returncode == 0, err
