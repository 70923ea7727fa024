"""Every page renders; filters, pagination, page-size clamp, 404s and base paths."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from sidequest import JobRecord, Sidequest
from sidequest_dashboard import create_app
from starlette.applications import Starlette
from starlette.routing import Mount

from .conftest import client_for
from .dashboard_seed import SendEmail, raw_job

ROW_IDS = re.compile(r'name="ids" value="(\d+)"')


def ids_on(page: httpx.Response) -> list[int]:
    return [int(v) for v in ROW_IDS.findall(page.text)]


async def test_overview_shows_counts_chart_and_queues(
    client: httpx.AsyncClient, jobs: dict[str, JobRecord]
) -> None:
    page = await client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    text = page.text
    assert 'hx-get="/partials/counts"' in text and 'hx-trigger="every 2s"' in text
    assert 'href="/jobs?state=failed"' in text
    assert "data-chart=" in text
    for queue in ("emails", "images", "reports"):
        assert f"?queue={queue}" in text


async def test_counts_partial_is_live(client: httpx.AsyncClient, sq: Sidequest, jobs: Any) -> None:
    before = (await client.get("/partials/counts")).text
    assert re.search(r"Waiting</span>\s*<span class=\"count-value\">2<", before)
    await sq.build(SendEmail).queue("reports").enqueue("x@example.com")
    after = (await client.get("/partials/counts")).text
    assert re.search(r"Waiting</span>\s*<span class=\"count-value\">3<", after)
    assert not after.lstrip().startswith("<!doctype")


@pytest.mark.parametrize(("key", "buckets"), [("hour", 60), ("day", 24), ("week", 7)])
async def test_chart_ranges(client: httpx.AsyncClient, jobs: Any, key: str, buckets: int) -> None:
    page = await client.get(f"/partials/chart?range={key}")
    assert page.status_code == 200
    data = re.search(r"data-chart='([^']*)'", page.text)
    assert data
    import html
    import json

    chart = json.loads(html.unescape(data.group(1)))
    assert len(chart["at"]) == buckets
    assert all(len(values) == buckets for values in chart["series"].values())
    assert sum(chart["series"]["completed"]) == 1
    assert sum(chart["series"]["failed"]) == 1
    full = await client.get(f"/?range={key}")
    assert full.status_code == 200


async def test_bad_chart_range_is_400(client: httpx.AsyncClient) -> None:
    page = await client.get("/?range=year")
    assert page.status_code == 400
    assert "unknown range" in page.text


async def test_jobs_page_lists_every_job(client: httpx.AsyncClient, jobs: dict[str, JobRecord]) -> None:
    page = await client.get("/jobs")
    assert page.status_code == 200
    assert sorted(ids_on(page)) == sorted(job.id for job in jobs.values())
    assert ids_on(page) == sorted(ids_on(page), reverse=True)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("state=failed", ["failed"]),
        ("state=waiting", ["waiting", "scheduled"]),
        ("queue=images", ["running", "claimed", "canceled"]),
        ("job_class=Resize", ["running", "claimed", "canceled"]),
        ("job_class=SendEmail&state=completed", ["completed"]),
        ("search=bob%40example", ["failed"]),
        ("search=INVOICE", ["failed"]),
        ("queue=reports&last=1h", ["waiting", "scheduled"]),
        ("time_field=finished_at&last=24h", ["completed", "failed", "canceled"]),
        ("time_field=available_at&since=2000-01-01T00:00&until=2000-01-02T00:00", []),
    ],
)
async def test_job_filters(
    client: httpx.AsyncClient, jobs: dict[str, JobRecord], query: str, expected: list[str]
) -> None:
    page = await client.get(f"/jobs?{query}")
    assert page.status_code == 200
    assert sorted(ids_on(page)) == sorted(jobs[name].id for name in expected)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("state=lost", "unknown state"),
        ("time_field=id", "unknown time field"),
        ("last=1y", "unknown time range"),
        ("since=yesterday", "since must be a date"),
        ("since=2025-02-01T00:00&until=2025-01-01T00:00", "start of the time range is after its end"),
        ("limit=ten", "page size must be a whole number"),
        ("before=-3", "before must be between"),
        ("before=99999999999999999999999", "before must be between"),
        (f"search={'x' * 201}", "too long"),
    ],
)
async def test_bad_filters_are_400_with_a_message(
    client: httpx.AsyncClient, query: str, message: str
) -> None:
    page = await client.get(f"/jobs?{query}")
    assert page.status_code == 400
    assert message in page.text
    assert 'class="alert"' in page.text


async def make_many(sq: Sidequest, count: int) -> list[int]:
    records = (
        await sq.build(SendEmail).queue("bulk").enqueue_many([(f"u{i}@example.com",) for i in range(count)])
    )
    return [record.id for record in records]


async def test_keyset_pagination_older_and_newer(sq: Sidequest, client: httpx.AsyncClient) -> None:
    ids = sorted(await make_many(sq, 57), reverse=True)
    first = await client.get("/jobs?limit=20")
    assert ids_on(first) == ids[:20]
    assert 'rel="prev"' not in first.text
    older = re.search(r'href="(/jobs\?[^"]*before=\d+[^"]*)" *>Older', first.text.replace('rel="next" ', ""))
    assert older
    second = await client.get(older.group(1).replace("&amp;", "&"))
    assert ids_on(second) == ids[20:40]
    third = await client.get(f"/jobs?limit=20&before={ids[39]}")
    assert ids_on(third) == ids[40:]
    assert 'rel="next"' not in third.text
    newer = re.search(r'rel="prev" href="([^"]*)"', third.text)
    assert newer
    back = await client.get(newer.group(1).replace("&amp;", "&"))
    assert ids_on(back) == ids[20:40]
    newest = await client.get(f"/jobs?limit=20&after={ids[20]}")
    assert ids_on(newest) == ids[:20]
    assert 'rel="prev"' not in newest.text


async def test_pagination_keeps_filters_and_skips_gaps(sq: Sidequest, client: httpx.AsyncClient) -> None:
    kept: list[int] = []
    for i in range(30):
        await make_many(sq, 7)
        kept.extend(await make_many(sq, 1) if i % 2 else [])
        await sq.build(SendEmail).queue("sparse").enqueue(f"s{i}")
    sparse = sorted([j.id for j in await sq.jobs.list(queue="sparse", limit=100)], reverse=True)
    page = await client.get(f"/jobs?queue=sparse&limit=10&before={sparse[9]}")
    assert ids_on(page) == sparse[10:20]
    newer = re.search(r'rel="prev" href="([^"]*)"', page.text)
    assert newer and "queue=sparse" in newer.group(1)
    back = await client.get(newer.group(1).replace("&amp;", "&"))
    assert ids_on(back) == sparse[:10]


async def test_page_size_is_clamped(sq: Sidequest, client: httpx.AsyncClient) -> None:
    await make_many(sq, 230)
    assert len(ids_on(await client.get("/jobs?limit=100000"))) == 200
    assert len(ids_on(await client.get("/jobs?limit=0"))) == 1
    assert len(ids_on(await client.get("/jobs"))) == 50


async def test_job_detail_shows_everything(client: httpx.AsyncClient, jobs: dict[str, JobRecord]) -> None:
    failed = await client.get(f"/jobs/{jobs['failed'].id}")
    assert failed.status_code == 200
    text = failed.text
    assert "bob@example.com" in text and "&#34;subject&#34;: &#34;Invoice&#34;" in text
    assert (
        text.count("<details") == 2
        and "still refused" in text
        and "Traceback (most recent call last)" in text
    )
    assert "Attempt 2" in text and "Attempt 1" in text and "2 of 2" in text
    completed = (await client.get(f"/jobs/{jobs['completed'].id}")).text
    assert "&#34;sent&#34;: true" in completed and "Result" in completed
    running = (await client.get(f"/jobs/{jobs['running'].id}")).text
    assert "Lease holder" in running and "web-1:4242:ab12cd34" in running and "Lease expires" in running
    assert f"/jobs/{jobs['running'].id}/poll?v=" in running


@pytest.mark.parametrize(
    ("state", "shown", "hidden"),
    [
        ("waiting", {"cancel", "run", "snooze"}, {"rerun"}),
        ("claimed", {"cancel"}, {"run", "rerun", "snooze"}),
        ("running", {"cancel"}, {"run", "rerun", "snooze"}),
        ("completed", {"rerun"}, {"cancel", "run", "snooze"}),
        ("failed", {"rerun"}, {"cancel", "run", "snooze"}),
        ("canceled", {"rerun"}, {"cancel", "run", "snooze"}),
    ],
)
async def test_detail_actions_follow_the_state(
    client: httpx.AsyncClient, jobs: dict[str, JobRecord], state: str, shown: set[str], hidden: set[str]
) -> None:
    job = jobs[state]
    text = (await client.get(f"/jobs/{job.id}")).text
    for action in shown:
        assert f'action="/jobs/{job.id}/{action}"' in text
    for action in hidden:
        assert f'action="/jobs/{job.id}/{action}"' not in text


async def test_poll_reloads_only_when_the_job_changed(
    client: httpx.AsyncClient, sq: Sidequest, jobs: dict[str, JobRecord]
) -> None:
    job = jobs["waiting"]
    version = re.search(r"/poll\?v=([0-9a-f]+)", (await client.get(f"/jobs/{job.id}")).text)
    assert version
    same = await client.get(f"/jobs/{job.id}/poll?v={version.group(1)}")
    assert same.status_code == 200 and "hx-refresh" not in same.headers
    await sq.jobs.cancel(job.id)
    changed = await client.get(f"/jobs/{job.id}/poll?v={version.group(1)}")
    assert changed.headers["hx-refresh"] == "true"


async def test_queues_page(client: httpx.AsyncClient, jobs: Any) -> None:
    page = await client.get("/queues")
    assert page.status_code == 200
    for name in ("emails", "images", "reports"):
        assert f'action="/queues/{name}/pause"' in page.text
        assert f'action="/queues/{name}/update"' in page.text
    assert 'name="concurrency"' in page.text and 'name="priority"' in page.text


@pytest.mark.parametrize(
    "path", ["/jobs/424242", "/jobs/99999999999999999999999", "/jobs/abc", "/nothing", "/jobs/1/2/3"]
)
async def test_unknown_pages_are_404(client: httpx.AsyncClient, path: str) -> None:
    page = await client.get(path)
    assert page.status_code == 404
    assert "Not found" in page.text


async def test_empty_database_renders(client: httpx.AsyncClient) -> None:
    for path in ("/", "/jobs", "/queues", "/jobs?state=failed"):
        page = await client.get(path)
        assert page.status_code == 200, path
    assert "No jobs yet." in (await client.get("/jobs")).text
    assert "No queues yet." in (await client.get("/queues")).text


async def test_static_files_are_served(client: httpx.AsyncClient) -> None:
    for name in ("htmx.min.js", "app.js", "app.css", "favicon.svg"):
        response = await client.get(f"/static/{name}")
        assert response.status_code == 200, name
    assert (await client.get("/static/missing.js")).status_code == 404


def links(text: str) -> list[str]:
    return re.findall(r'(?:href|src|action|hx-get)="([^"]+)"', text)


@pytest.mark.parametrize("base", ["/ops/jobs", "/ops/jobs/"])
async def test_served_under_a_base_path(memory_sq: Sidequest, base: str) -> None:
    job = await raw_job(memory_sq)
    async with client_for(create_app(memory_sq, base_path=base)) as http:
        redirect = await http.get("/ops/jobs")
        assert redirect.status_code == 307 and redirect.headers["location"] == "/ops/jobs/"
        assert (await http.get("/jobs")).status_code == 404
        for path in ("/", "/jobs", f"/jobs/{job.id}", "/queues", "/static/app.css"):
            assert (await http.get("/ops/jobs" + path)).status_code == 200, path
        page = await http.get("/ops/jobs/jobs")
        assert all(link.startswith("/ops/jobs/") for link in links(page.text) if link.startswith("/"))
        assert [cookie.path for cookie in http.cookies.jar] == ["/ops/jobs/"]


@pytest.mark.parametrize("base_path", ["/", "/admin/queue"])
async def test_mounted_in_another_app(memory_sq: Sidequest, base_path: str) -> None:
    job = await raw_job(memory_sq)
    host = Starlette(routes=[Mount("/admin/queue", app=create_app(memory_sq, base_path=base_path))])
    async with client_for(host) as http:
        page = await http.get(f"/admin/queue/jobs/{job.id}")
        assert page.status_code == 200
        assert all(link.startswith("/admin/queue/") for link in links(page.text) if link.startswith("/"))
        assert (await http.get("/admin/queue/static/htmx.min.js")).status_code == 200
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token
        done = await http.post(f"/admin/queue/jobs/{job.id}/cancel", data={"csrf_token": token.group(1)})
        assert (
            done.status_code == 303 and done.headers["location"] == f"/admin/queue/jobs/{job.id}?done=cancel"
        )


def test_estimates_are_shown_to_three_significant_digits() -> None:
    from sidequest_dashboard._views import approximate

    assert [approximate(v) for v in (199_582, 49_836, 1_000_000, 999, 0, 7)] == [
        200_000,
        49_800,
        1_000_000,
        999,
        0,
        7,
    ]
