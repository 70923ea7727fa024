"""/jobs pages: newer pages with after_id, and the text search read in id windows within a time budget."""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from sidequest import JobRecord, Sidequest
from sidequest_dashboard import _pagination

from .dashboard_seed import SendEmail
from .test_security import PAYLOADS, inspect

ROW_IDS = re.compile(r'name="ids" value="(\d+)"')
SEARCHED = re.compile(r"Searched jobs #(\d+)–#(\d+)")


def ids_on(page: httpx.Response) -> list[int]:
    return [int(v) for v in ROW_IDS.findall(page.text)]


def link(page: httpx.Response, text: str) -> str | None:
    """The href of the link whose text is ``text`` (or whose rel is ``text``)."""
    for anchor in re.finditer(r"<a ([^>]*)>([^<]*)</a>", page.text):
        attrs, label = anchor.groups()
        href = re.search(r'href="([^"]*)"', attrs)
        if href and (label.strip() == text or f'rel="{text}"' in attrs):
            return html.unescape(href.group(1))
    return None


async def enqueue(sq: Sidequest, texts: list[str], queue: str = "bulk") -> list[JobRecord]:
    return await sq.build(SendEmail).queue(queue).enqueue_many([(text,) for text in texts])


@pytest.fixture
def small_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows of 5 ids and a budget that never runs out."""
    monkeypatch.setattr(_pagination, "SEARCH_WINDOW", 5)
    monkeypatch.setattr(_pagination, "SEARCH_BUDGET", 60.0)


@pytest.fixture
def no_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows of 10 ids and no time: every search stops after its first window."""
    monkeypatch.setattr(_pagination, "SEARCH_WINDOW", 10)
    monkeypatch.setattr(_pagination, "SEARCH_BUDGET", 0.0)


async def test_newer_page_is_one_query_above_the_cursor(
    sq: Sidequest, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = sorted((j.id for j in await enqueue(sq, [f"u{i}" for i in range(30)])), reverse=True)
    calls: list[dict[str, Any]] = []
    original = sq.jobs.list

    async def spy(**kw: Any) -> list[JobRecord]:
        calls.append(kw)
        return await original(**kw)

    monkeypatch.setattr(sq.jobs, "list", spy)
    middle = await client.get(f"/jobs?limit=10&before={ids[9]}")
    assert ids_on(middle) == ids[10:20]
    newer = link(middle, "prev")
    assert newer is not None and f"after={ids[10]}" in newer
    calls.clear()
    back = await client.get(newer)
    assert ids_on(back) == ids[:10]
    assert link(back, "prev") is None and link(back, "next") == f"/jobs?limit=10&before={ids[9]}"
    [above] = [c for c in calls if "after_id" in c]
    assert (above["after_id"], above["order"], above["limit"]) == (ids[10], "oldest", 11)
    between = await client.get(f"/jobs?limit=10&after={ids[25]}")
    assert ids_on(between) == ids[15:25]
    assert link(between, "prev") == f"/jobs?limit=10&after={ids[15]}"
    assert link(between, "next") == f"/jobs?limit=10&before={ids[24]}"


async def test_search_walks_windows_until_the_page_is_full(
    sq: Sidequest, client: httpx.AsyncClient, small_windows: None
) -> None:
    texts = [f"needle-{i}" if i % 7 == 3 else f"hay-{i}" for i in range(60)]
    jobs = await enqueue(sq, texts)
    matches = sorted((j.id for j in jobs if "needle" in j.args[0]), reverse=True)
    assert len(matches) == 9
    first = await client.get("/jobs?search=NEEDLE&limit=4")
    assert ids_on(first) == matches[:4]
    assert "Searched jobs" not in first.text and link(first, "prev") is None
    seen = ids_on(first)
    page = first
    while (older := link(page, "next")) is not None:
        assert "search=NEEDLE" in older
        page = await client.get(older)
        assert "Searched jobs" not in page.text
        seen += ids_on(page)
    assert seen == matches
    newer = link(page, "prev")
    assert newer is not None and f"after={matches[8]}" in newer
    back = await client.get(newer)
    assert ids_on(back) == matches[4:8]


async def test_search_combines_with_other_filters(
    sq: Sidequest, client: httpx.AsyncClient, small_windows: None
) -> None:
    await enqueue(sq, [f"needle-{i}" for i in range(12)], queue="other")
    wanted = await enqueue(sq, ["needle-a", "hay", "needle-b"], queue="wanted")
    await enqueue(sq, [f"needle-{i}" for i in range(12)], queue="other")
    page = await client.get("/jobs?search=needle&queue=wanted")
    assert ids_on(page) == [wanted[2].id, wanted[0].id]
    assert link(page, "next") is None
    assert ids_on(await client.get("/jobs?search=needle&queue=wanted&state=failed")) == []


async def test_search_that_runs_out_of_time_offers_to_search_older_jobs(
    sq: Sidequest, client: httpx.AsyncClient, no_budget: None
) -> None:
    texts = [f"needle-{i}" if i < 3 or i == 30 else f"hay-{i}" for i in range(35)]
    ids = [j.id for j in await enqueue(sq, texts)]
    first = await client.get("/jobs?search=needle")
    assert ids_on(first) == [ids[30]]
    assert SEARCHED.findall(first.text) == [(str(ids[25]), str(ids[34]))]
    more = link(first, "Search older jobs")
    assert more == f"/jobs?search=needle&before={ids[25]}"
    assert link(first, "next") == more
    second = await client.get(more)
    assert ids_on(second) == [] and "No jobs match" not in second.text
    assert "no match there" in second.text
    page, pages = second, 1
    while "Search older jobs" in page.text:
        page = await client.get(link(page, "Search older jobs") or "")
        pages += 1
    assert pages == 3
    assert ids_on(page) == ids[2::-1]
    assert "Searched jobs" not in page.text and link(page, "next") is None
    newer = link(page, "prev")
    assert newer == f"/jobs?search=needle&after={ids[2]}"
    upward = await client.get(newer)
    assert ids_on(upward) == []
    assert SEARCHED.findall(upward.text) == [(str(ids[3]), str(ids[12]))]
    assert link(upward, "Search newer jobs") == f"/jobs?search=needle&after={ids[12]}"


async def test_search_reaching_the_newest_job_without_a_match_shows_the_newest_page(
    sq: Sidequest, client: httpx.AsyncClient, small_windows: None
) -> None:
    ids = [j.id for j in await enqueue(sq, ["needle-0", "needle-1", *(f"hay-{i}" for i in range(20))])]
    page = await client.get(f"/jobs?search=needle&after={ids[1]}")
    assert ids_on(page) == [ids[1], ids[0]]
    assert link(page, "prev") is None and link(page, "next") is None


async def test_search_on_an_empty_table(client: httpx.AsyncClient) -> None:
    page = await client.get("/jobs?search=anything")
    assert page.status_code == 200 and ids_on(page) == []
    assert "No jobs match these filters." in page.text


@pytest.mark.parametrize("payload", PAYLOADS)
async def test_search_text_is_escaped_in_the_stopped_search_notice(
    sq: Sidequest, client: httpx.AsyncClient, no_budget: None, payload: str
) -> None:
    await enqueue(sq, [payload] + [f"hay-{i}" for i in range(25)])
    page = await client.get(f"/jobs?search={quote(payload, safe='')}")
    assert page.status_code == 200 and "Searched jobs" in page.text
    result = inspect(page.text)
    assert not result.problems, result.problems
    more = link(page, "Search older jobs")
    assert more is not None and quote(payload, safe="")[:6] in more.replace("+", "%20")
