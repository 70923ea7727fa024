"""``sidequest worker`` as a real process: draining, and graceful shutdown on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import time

import pytest
from cli_project import Project, project

__all__ = ["project"]

pytestmark = pytest.mark.slow


def test_worker_drains_every_job_then_exits_0(project: Project) -> None:
    until = time.time() + 1
    ok, bad, snoozed = project.seed(
        ("Hello", ["ada"], {}),
        ("Boom", [], {"max_attempts": 2, "retry_delay": 0.05}),
        ("SnoozeOnce", [until], {}),
    )
    done = project.run("worker", "app:sq", "--drain", timeout=60)
    assert done.returncode == 0, done.stderr
    assert "drained" in done.stderr and "Traceback" not in done.stderr
    jobs = project.jobs()
    assert (jobs[ok]["state"], jobs[ok]["result"]) == ("completed", "hi ada")
    assert (jobs[bad]["state"], jobs[bad]["attempt"], len(jobs[bad]["errors"])) == ("failed", 2, 2)
    assert (jobs[snoozed]["state"], jobs[snoozed]["result"]) == ("completed", "woke up")


def test_worker_with_queues_leaves_other_queues_alone(project: Project) -> None:
    served, other = project.seed(
        ("Hello", ["a"], {"queue": "emails"}),
        ("Hello", ["b"], {"queue": "reports"}),
    )
    done = project.run("worker", "app:sq", "--drain", "--queues", "emails:2", "--json-logs")
    assert done.returncode == 0, done.stderr
    assert all(line.startswith("{") for line in done.stderr.splitlines())
    jobs = project.jobs()
    assert (jobs[served]["state"], jobs[other]["state"]) == ("completed", "waiting")


def _wait_running(project: Project, job_id: int) -> None:
    job = project.wait_for_state(job_id, "running")
    assert job["state"] == "running", job


def test_sigterm_lets_the_job_go_back_to_waiting_within_the_shutdown_timeout(project: Project) -> None:
    [slow] = project.seed(("Slow", [60], {}))
    worker = project.start("worker", "app:sq", "--shutdown-timeout", "1")
    try:
        _wait_running(project, slow)
        started = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        _, err = worker.communicate(timeout=15)
        elapsed = time.monotonic() - started
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, err
    assert elapsed < 8, elapsed
    assert "received SIGTERM" in err and "Traceback" not in err
    job = project.jobs()[slow]
    assert (job["state"], job["attempt"], job["errors"]) == ("waiting", 0, [])


def test_second_signal_releases_jobs_at_once(project: Project) -> None:
    [slow] = project.seed(("Slow", [60], {}))
    worker = project.start("worker", "app:sq", "--shutdown-timeout", "120")
    try:
        _wait_running(project, slow)
        worker.send_signal(signal.SIGINT)
        time.sleep(0.5)
        assert worker.poll() is None  # still waiting for the job
        worker.send_signal(signal.SIGINT)
        _, err = worker.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        worker.kill()
        raise
    assert worker.returncode == 0, err
    assert "again: releasing running jobs now" in err
    assert project.jobs()[slow]["state"] == "waiting"
