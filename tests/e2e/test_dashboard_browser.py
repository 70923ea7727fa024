"""The dashboard in a real browser: every page, filters, pagination, actions, live updates, screenshots."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sidequest import JobState, QueueState, Sidequest

from .conftest import Server, screenshot

PAGES = {"overview": "/", "jobs": "/jobs", "queues": "/queues"}
EXPECT = re.compile


def no_errors(page: Any) -> None:
    assert page.console_errors == [], page.console_errors


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_page_renders_and_is_screenshotted(server: Server, browser: Any, scheme: str) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, color_scheme=scheme)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        for name, path in PAGES.items():
            page.goto(server.url + path)
            page.wait_for_load_state("networkidle")
            assert page.locator("h1").first.is_visible()
            screenshot(page, f"{name}-{scheme}")
        failed = server.jobs["failed"].id
        page.goto(f"{server.url}/jobs/{failed}")
        assert page.locator("details[open] pre.traceback").is_visible()
        screenshot(page, f"job-failed-{scheme}")
        page.goto(f"{server.url}/jobs/{server.jobs['completed'].id}")
        screenshot(page, f"job-completed-{scheme}")
        page.goto(f"{server.url}/jobs/{server.jobs['running'].id}")
        screenshot(page, f"job-running-{scheme}")
        page.goto(f"{server.url}/jobs/424242")
        assert "Not found" in page.locator("h1").inner_text()
        screenshot(page, f"not-found-{scheme}")
        page.goto(f"{server.url}/?range=day")
        page.wait_for_selector(".chart-canvas svg rect")
        screenshot(page, f"overview-day-{scheme}")
    finally:
        context.close()
    assert not [e for e in errors if "404" not in e], errors


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_phone_layout(server: Server, browser: Any, scheme: str) -> None:
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, color_scheme=scheme
    )
    page = context.new_page()
    try:
        for name, path in {**PAGES, "job": f"/jobs/{server.jobs['failed'].id}"}.items():
            page.goto(server.url + path)
            page.wait_for_load_state("networkidle")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"{name} scrolls sideways on a phone ({width}px)"
            screenshot(page, f"{name}-phone-{scheme}")
        page.goto(server.url + "/jobs")
        assert page.locator("table.jobs thead").is_hidden()
    finally:
        context.close()


def test_chart_is_drawn_without_inline_script(server: Server, page: Any) -> None:
    page.goto(server.url + "/?range=day")
    page.wait_for_selector(".chart-canvas svg rect.bar-completed")
    assert page.locator(".chart-canvas svg rect.bar-failed").count() > 0
    assert page.locator("script:not([src])").count() == 0
    page.goto(server.url + "/?range=hour")
    page.wait_for_selector(".chart-canvas svg rect.bar-completed")
    page.locator(".segmented a", has_text="Last 7 days").click()
    page.wait_for_url(EXPECT(r".*range=week"))
    page.wait_for_selector(".chart-canvas svg text")
    no_errors(page)


def test_counts_are_live(server: Server, page: Any) -> None:
    page.goto(server.url + "/")
    waiting = page.locator(".count.state-waiting .count-value")
    before = int(waiting.inner_text().replace(",", ""))

    async def enqueue(sq: Sidequest) -> None:
        from dashboard.dashboard_seed import SendEmail

        await sq.build(SendEmail).queue("digest").enqueue("live@example.com")

    server.call(enqueue)
    page.wait_for_function(
        "n => Number(document.querySelector('.count.state-waiting .count-value')"
        ".textContent.replace(/,/g, '')) > n",
        arg=before,
        timeout=8000,
    )
    no_errors(page)


def test_filter_jobs(server: Server, page: Any) -> None:
    page.goto(server.url + "/jobs")
    page.select_option("select[name=state]", "failed")
    page.wait_for_url(EXPECT(r".*state=failed.*"))
    badges = page.locator("table.jobs tbody .badge")
    assert badges.count() > 0
    assert set(badges.all_inner_texts()) == {"failed"}
    page.fill("input[name=search]", "bob@example")
    page.click("button:has-text('Apply')")
    page.wait_for_url(EXPECT(r".*search=bob%40example.*"))
    assert page.locator("table.jobs tbody tr").count() == 1
    page.click("a:has-text('Reset')")
    page.wait_for_url(EXPECT(r".*/jobs$"))
    page.select_option("select[name=queue]", "images")
    page.wait_for_url(EXPECT(r".*queue=images.*"))
    assert {t.strip() for t in page.locator("td[data-label=Queue]").all_inner_texts()} == {"images"}
    no_errors(page)


def test_paginate(server: Server, page: Any) -> None:
    page.goto(server.url + "/jobs?limit=25")
    first = page.locator("td[data-label=ID]").all_inner_texts()
    assert len(first) == 25
    page.click("a:has-text('Older →')")
    page.wait_for_url(EXPECT(r".*before=\d+.*"))
    second = page.locator("td[data-label=ID]").all_inner_texts()
    assert len(second) == 25 and not set(first) & set(second)
    assert int(second[0].lstrip("#")) < int(first[-1].lstrip("#"))
    page.click("a:has-text('← Newer')")
    page.wait_for_url(EXPECT(r".*after=\d+.*"))
    assert page.locator("td[data-label=ID]").all_inner_texts() == first
    no_errors(page)


def state_of(server: Server, job_id: int) -> JobState:
    async def get(sq: Sidequest) -> JobState:
        return (await sq.jobs.get(job_id)).state

    return server.call(get)


def test_cancel_and_rerun_a_job(server: Server, page: Any) -> None:
    job_id = server.jobs["waiting"].id
    page.goto(f"{server.url}/jobs/{job_id}")
    page.click("button:has-text('Cancel')")
    page.wait_for_url(EXPECT(r".*done=cancel"))
    assert page.locator(".notice").inner_text() == "Job canceled."
    assert page.locator(".job-head .badge").inner_text() == "canceled"
    assert state_of(server, job_id) == JobState.CANCELED
    page.click("button:has-text('Rerun')")
    page.wait_for_url(EXPECT(r".*done=rerun"))
    assert page.locator(".job-head .badge").inner_text() == "waiting"
    assert state_of(server, job_id) == JobState.WAITING
    no_errors(page)


def test_bulk_cancel(server: Server, page: Any) -> None:
    page.goto(server.url + "/jobs?queue=digest")
    cancel = page.locator("button:has-text('Cancel selected')")
    assert cancel.is_disabled()
    boxes = page.locator("input[name=ids]")
    ids = [int(boxes.nth(i).get_attribute("value")) for i in range(2)]
    boxes.nth(0).check()
    boxes.nth(1).check()
    assert page.locator("[data-selected-count]").inner_text() == "2 selected"
    cancel.click()
    page.wait_for_url(EXPECT(r".*bulk=cancel.*"))
    assert "queue=digest" in page.url
    assert "2 jobs canceled." in page.locator(".notice").inner_text()
    assert [state_of(server, i) for i in ids] == [JobState.CANCELED, JobState.CANCELED]
    no_errors(page)


def test_pause_resume_and_edit_a_queue(server: Server, page: Any) -> None:
    def queue(name: str) -> Any:
        async def get(sq: Sidequest) -> Any:
            return await sq.queues.get(name)

        return server.call(get)

    page.goto(server.url + "/queues")
    row = page.locator("tr", has=page.locator("a", has_text=re.compile("^emails$")))
    row.locator("button:has-text('Pause')").click()
    page.wait_for_url(EXPECT(r".*done=pause"))
    assert queue("emails").state == QueueState.PAUSED
    row = page.locator("tr", has=page.locator("a", has_text=re.compile("^emails$")))
    assert row.locator(".badge").inner_text() == "paused"
    screenshot(page, "queues-paused-light")
    row.locator("button:has-text('Resume')").click()
    page.wait_for_url(EXPECT(r".*done=resume"))
    assert queue("emails").state == QueueState.ACTIVE
    row = page.locator("tr", has=page.locator("a", has_text=re.compile("^emails$")))
    row.locator("input[name=concurrency]").fill("3")
    row.locator("input[name=priority]").fill("20")
    row.locator("button:has-text('Save')").click()
    page.wait_for_url(EXPECT(r".*done=update"))
    record = queue("emails")
    assert (record.concurrency, record.priority) == (3, 20)
    no_errors(page)


def test_job_page_reloads_when_the_job_changes(server: Server, page: Any) -> None:
    job_id = server.jobs["claimed"].id
    page.goto(f"{server.url}/jobs/{job_id}")
    assert page.locator(".job-head .badge").inner_text() == "claimed"

    async def cancel(sq: Sidequest) -> None:
        await sq.jobs.cancel(job_id)

    server.call(cancel)
    page.wait_for_function(
        "() => document.querySelector('.job-head .badge').textContent === 'canceled'", timeout=8000
    )
    no_errors(page)
