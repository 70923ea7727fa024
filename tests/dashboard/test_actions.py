"""Job and queue actions: each one, the refused ones, bulk actions and read-only mode."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sidequest import JobRecord, JobState, QueueState, Sidequest
from sidequest_dashboard import create_app

from .conftest import client_for
from .dashboard_seed import csrf_token, raw_job


async def post(client: httpx.AsyncClient, path: str, **data: str | list[str]) -> httpx.Response:
    token = await csrf_token(client)
    return await client.post(path, data={"csrf_token": token, **data})


@pytest.mark.parametrize(
    ("name", "action", "state"),
    [
        ("waiting", "cancel", JobState.CANCELED),
        ("claimed", "cancel", JobState.CANCELED),
        ("running", "cancel", JobState.CANCELED),
        ("scheduled", "run", JobState.WAITING),
        ("completed", "rerun", JobState.WAITING),
        ("failed", "rerun", JobState.WAITING),
        ("canceled", "rerun", JobState.WAITING),
    ],
)
async def test_job_actions(
    client: httpx.AsyncClient,
    sq: Sidequest,
    jobs: dict[str, JobRecord],
    name: str,
    action: str,
    state: JobState,
) -> None:
    job = jobs[name]
    response = await post(client, f"/jobs/{job.id}/{action}")
    assert response.status_code == 303
    assert response.headers["location"] == f"/jobs/{job.id}?done={action}"
    after = await sq.jobs.get(job.id)
    assert after.state == state
    if action == "run":
        assert after.available_at <= datetime.now(UTC) + timedelta(seconds=1)
    page = await client.get(response.headers["location"])
    assert 'class="notice"' in page.text


async def test_snooze(client: httpx.AsyncClient, sq: Sidequest, jobs: dict[str, JobRecord]) -> None:
    job = jobs["waiting"]
    response = await post(client, f"/jobs/{job.id}/snooze", delay="3600")
    assert response.status_code == 303
    after = await sq.jobs.get(job.id)
    assert after.state == JobState.WAITING
    assert after.available_at > datetime.now(UTC) + timedelta(minutes=59)


@pytest.mark.parametrize("delay", ["", "soon", "-5", "0", "nan", "inf", "1e12"])
async def test_bad_snooze_delay_is_400(
    client: httpx.AsyncClient, jobs: dict[str, JobRecord], delay: str
) -> None:
    response = await post(client, f"/jobs/{jobs['waiting'].id}/snooze", delay=delay)
    assert response.status_code == 400
    assert "snooze delay" in response.text


@pytest.mark.parametrize(
    ("name", "action"),
    [
        ("completed", "cancel"),
        ("failed", "run"),
        ("running", "run"),
        ("running", "snooze"),
        ("waiting", "rerun"),
        ("claimed", "rerun"),
    ],
)
async def test_refused_actions_are_409(
    client: httpx.AsyncClient, sq: Sidequest, jobs: dict[str, JobRecord], name: str, action: str
) -> None:
    job = jobs[name]
    response = await post(client, f"/jobs/{job.id}/{action}", delay="60")
    assert response.status_code == 409
    assert f"cannot {action} job #{job.id}" in response.text
    assert (await sq.jobs.get(job.id)).state == job.state


async def test_unknown_job_or_action_is_404(client: httpx.AsyncClient, jobs: dict[str, JobRecord]) -> None:
    assert (await post(client, "/jobs/424242/cancel")).status_code == 404
    assert (await post(client, f"/jobs/{jobs['waiting'].id}/explode")).status_code == 404
    assert (await client.get(f"/jobs/{jobs['waiting'].id}/cancel")).status_code == 405


async def test_bulk_cancel_and_rerun(
    client: httpx.AsyncClient, sq: Sidequest, jobs: dict[str, JobRecord]
) -> None:
    chosen = [str(jobs[name].id) for name in ("waiting", "running", "completed")]
    response = await post(client, "/jobs", action="cancel", ids=chosen, back="state=waiting&evil=1&limit=25")
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("/jobs?state=waiting&limit=25&bulk=cancel&ok=2&skipped=1")
    assert "evil" not in location
    assert (await sq.jobs.get(jobs["waiting"].id)).state == JobState.CANCELED
    assert (await sq.jobs.get(jobs["running"].id)).state == JobState.CANCELED
    assert (await sq.jobs.get(jobs["completed"].id)).state == JobState.COMPLETED
    page = await client.get(location)
    assert "2 jobs canceled. 1 skipped" in page.text

    rerun = await post(client, "/jobs", action="rerun", ids=chosen)
    assert rerun.headers["location"] == "/jobs?bulk=rerun&ok=3&skipped=0"
    for name in ("waiting", "running", "completed"):
        assert (await sq.jobs.get(jobs[name].id)).state == JobState.WAITING


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"action": "cancel"}, "select at least one job"),
        ({"action": "delete", "ids": ["1"]}, "choose an action"),
        ({"action": "cancel", "ids": ["one"]}, "job id must be a whole number"),
        ({"action": "cancel", "ids": [str(i) for i in range(1, 203)]}, "at most 200"),
    ],
)
async def test_bad_bulk_input_is_400(client: httpx.AsyncClient, data: dict[str, str], message: str) -> None:
    response = await post(client, "/jobs", **data)
    assert response.status_code == 400
    assert message in response.text


async def test_queue_pause_resume_update(
    client: httpx.AsyncClient, sq: Sidequest, jobs: dict[str, JobRecord]
) -> None:
    paused = await post(client, "/queues/emails/pause")
    assert paused.status_code == 303 and paused.headers["location"] == "/queues?done=pause"
    assert (await sq.queues.get("emails")).state == QueueState.PAUSED
    assert 'action="/queues/emails/resume"' in (await client.get("/queues")).text
    assert (await post(client, "/queues/emails/resume")).status_code == 303
    assert (await sq.queues.get("emails")).state == QueueState.ACTIVE
    updated = await post(client, "/queues/emails/update", concurrency="3", priority="-7")
    assert updated.status_code == 303
    queue = await sq.queues.get("emails")
    assert (queue.concurrency, queue.priority) == (3, -7)


@pytest.mark.parametrize(
    ("concurrency", "priority", "message"),
    [
        ("0", "1", "concurrency must be between 1"),
        ("many", "1", "concurrency must be a whole number"),
        ("2", "", "priority must be a whole number"),
        ("2", "99999999999", "priority must be between"),
        ("2.5", "1", "concurrency must be a whole number"),
    ],
)
async def test_bad_queue_input_is_400(
    client: httpx.AsyncClient,
    sq: Sidequest,
    jobs: dict[str, JobRecord],
    concurrency: str,
    priority: str,
    message: str,
) -> None:
    response = await post(client, "/queues/emails/update", concurrency=concurrency, priority=priority)
    assert response.status_code == 400
    assert message in response.text
    assert (await sq.queues.get("emails")).concurrency == 10


async def test_unknown_queue_or_action_is_404(client: httpx.AsyncClient, jobs: dict[str, JobRecord]) -> None:
    assert (await post(client, "/queues/nope/pause")).status_code == 404
    assert (await post(client, "/queues/emails/delete")).status_code == 404


async def test_queue_names_with_slashes(client: httpx.AsyncClient, sq: Sidequest) -> None:
    await raw_job(sq, queue="team/a b")
    page = await client.get("/queues")
    assert 'action="/queues/team%2Fa%20b/pause"' in page.text
    assert (await post(client, "/queues/team%2Fa%20b/pause")).status_code == 303
    assert (await sq.queues.get("team/a b")).state == QueueState.PAUSED


async def test_read_only_hides_and_refuses_actions(sq: Sidequest, jobs: dict[str, JobRecord]) -> None:
    async with client_for(create_app(sq, read_only=True)) as http:
        detail = await http.get(f"/jobs/{jobs['waiting'].id}")
        assert "/cancel" not in detail.text and "read-only" in detail.text
        assert 'name="ids"' not in (await http.get("/jobs")).text
        assert "/pause" not in (await http.get("/queues")).text
        for path in (f"/jobs/{jobs['waiting'].id}/cancel", "/queues/emails/pause", "/jobs"):
            response = await http.post(path, data={"action": "cancel", "ids": "1"})
            assert response.status_code == 403
            assert "read-only" in response.text
    assert (await sq.jobs.get(jobs["waiting"].id)).state == JobState.WAITING
