"""The schedules page: listing, pause and resume (CSRF-protected), 404s, read-only mode and XSS."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import quote

import httpx
import pytest
from sidequest import ScheduleState, Sidequest
from sidequest_dashboard import create_app

from .conftest import client_for
from .dashboard_seed import SendEmail, csrf_token
from .test_security import PAYLOADS, inspect


@pytest.fixture
async def http(memory_sq: Sidequest) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(create_app(memory_sq)) as client:
        yield client


async def daily(sq: Sidequest) -> None:
    await (
        sq.build(SendEmail)
        .queue("emails")
        .schedule("0 9 * * *", "ops@example.com", name="daily", tz="Europe/Berlin", subject="Report")
    )


async def post(http: httpx.AsyncClient, path: str) -> httpx.Response:
    token = await csrf_token(http, "/schedules")
    return await http.post(path, data={"csrf_token": token})


async def test_page_lists_schedules(http: httpx.AsyncClient, memory_sq: Sidequest) -> None:
    await daily(memory_sq)
    page = await http.get("/schedules")
    assert page.status_code == 200
    text = page.text
    for expected in ("daily", "0 9 * * *", "Europe/Berlin", "SendEmail", "emails", "ops@example.com"):
        assert expected in text
    assert '<span class="badge schedule-active">active</span>' in text
    assert 'action="/schedules/daily/pause"' in text
    assert '<a href="/schedules" aria-current="page">Schedules</a>' in text
    assert 'href="/schedules"' in (await http.get("/queues")).text


async def test_page_links_the_last_job(http: httpx.AsyncClient, memory_sq: Sidequest) -> None:
    await daily(memory_sq)
    job = await memory_sq.build(SendEmail).enqueue("x@example.com")
    record = await memory_sq.schedules.get("daily")
    await memory_sq.backend.advance_schedule(
        "daily",
        expected_next_fire_at=record.next_fire_at,
        next_fire_at=record.next_fire_at,
        last_fired_at=record.next_fire_at,
        last_job_id=job.id,
    )
    text = (await http.get("/schedules")).text
    assert f'<a href="/jobs/{job.id}">#{job.id}</a>' in text


async def test_empty_page(http: httpx.AsyncClient) -> None:
    page = await http.get("/schedules")
    assert page.status_code == 200 and "No schedules yet" in page.text


async def test_pause_and_resume(http: httpx.AsyncClient, memory_sq: Sidequest) -> None:
    await daily(memory_sq)
    paused = await post(http, "/schedules/daily/pause")
    assert paused.status_code == 303
    assert paused.headers["location"] == "/schedules?done=schedule-pause"
    assert (await memory_sq.schedules.get("daily")).state == ScheduleState.PAUSED
    page = (await http.get(paused.headers["location"])).text
    assert 'class="notice"' in page and "Schedule paused" in page
    assert 'action="/schedules/daily/resume"' in page
    assert '<span class="badge schedule-paused">paused</span>' in page

    resumed = await post(http, "/schedules/daily/resume")
    assert resumed.status_code == 303
    assert resumed.headers["location"] == "/schedules?done=schedule-resume"
    assert (await memory_sq.schedules.get("daily")).state == ScheduleState.ACTIVE


async def test_names_with_slashes_and_spaces(http: httpx.AsyncClient, memory_sq: Sidequest) -> None:
    await memory_sq.build(SendEmail).schedule("*/5 * * * *", "a@example.com", name="team/a b")
    assert 'action="/schedules/team%2Fa%20b/pause"' in (await http.get("/schedules")).text
    assert (await post(http, "/schedules/team%2Fa%20b/pause")).status_code == 303
    assert (await memory_sq.schedules.get("team/a b")).state == ScheduleState.PAUSED


async def test_actions_need_the_csrf_token(http: httpx.AsyncClient, memory_sq: Sidequest) -> None:
    await daily(memory_sq)
    token = await csrf_token(http, "/schedules")
    for path in ("/schedules/daily/pause", "/schedules/daily/resume"):
        for data in ({}, {"csrf_token": ""}, {"csrf_token": token[:-2] + "xx"}):
            response = await http.post(path, data=data)
            assert response.status_code == 403
            assert "security token" in response.text
    assert (await memory_sq.schedules.get("daily")).state == ScheduleState.ACTIVE


@pytest.mark.parametrize("headers", [{"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}])
async def test_cross_origin_actions_are_403(
    http: httpx.AsyncClient, memory_sq: Sidequest, headers: dict[str, str]
) -> None:
    await daily(memory_sq)
    token = await csrf_token(http, "/schedules")
    response = await http.post("/schedules/daily/pause", data={"csrf_token": token}, headers=headers)
    assert response.status_code == 403 and "Refused" in response.text
    assert (await memory_sq.schedules.get("daily")).state == ScheduleState.ACTIVE


async def test_unknown_schedule_or_action_is_404(http: httpx.AsyncClient, memory_sq: Sidequest) -> None:
    await daily(memory_sq)
    for path in ("/schedules/nope/pause", "/schedules/nope/resume", "/schedules/daily/delete"):
        response = await post(http, path)
        assert response.status_code == 404, path
    assert "schedule &#39;nope&#39; not found" in (await post(http, "/schedules/nope/pause")).text
    assert (await http.get("/schedules/daily/pause")).status_code == 405


async def test_disabled_schedule_cannot_be_resumed(http: httpx.AsyncClient, memory_sq: Sidequest) -> None:
    await daily(memory_sq)
    token = await csrf_token(http, "/schedules")
    await memory_sq.backend.set_schedule_state("daily", ScheduleState.DISABLED)
    page = (await http.get("/schedules")).text
    assert '<span class="badge schedule-disabled">disabled</span>' in page
    assert "/schedules/daily/resume" not in page
    refused = await http.post("/schedules/daily/resume", data={"csrf_token": token})
    assert refused.status_code == 409 and "no longer declared" in refused.text
    assert (await memory_sq.schedules.get("daily")).state == ScheduleState.DISABLED


async def test_read_only_hides_and_refuses_actions(memory_sq: Sidequest) -> None:
    await daily(memory_sq)
    async with client_for(create_app(memory_sq, read_only=True)) as http:
        page = await http.get("/schedules")
        assert page.status_code == 200 and "daily" in page.text
        assert "/pause" not in page.text and 'name="csrf_token"' not in page.text
        response = await http.post("/schedules/daily/pause", data={"csrf_token": "x"})
        assert response.status_code == 403 and "read-only" in response.text
    assert (await memory_sq.schedules.get("daily")).state == ScheduleState.ACTIVE


async def test_no_injected_markup(http: httpx.AsyncClient, memory_sq: Sidequest) -> None:
    for payload in PAYLOADS:
        await (
            memory_sq.build(SendEmail)
            .queue(f"q{payload}")
            .schedule("0 9 * * *", payload, {"nested": [payload]}, name=f"s{payload}", **{"to": payload})
        )
    page = await http.get("/schedules")
    assert page.status_code == 200
    result = inspect(page.text)
    assert not result.problems, result.problems
    text = "".join(result.text)
    for payload in PAYLOADS:
        assert f"s{payload}" in text, payload
    assert sum("alert(1)" in chunk for chunk in result.text) >= 3 * len(PAYLOADS)
    token = await csrf_token(http, "/schedules")
    for payload in PAYLOADS:
        path = f"/schedules/{quote('s' + payload, safe='')}/pause"
        response = await http.post(path, data={"csrf_token": token})
        assert response.status_code == 303, payload
        missing = await http.post(f"/schedules/{quote(payload, safe='')}/pause", data={"csrf_token": token})
        assert missing.status_code == 404 and not inspect(missing.text).problems
    for record in await memory_sq.schedules.list():
        assert record.state == ScheduleState.PAUSED
    assert not inspect((await http.get("/schedules?done=schedule-pause")).text).problems
