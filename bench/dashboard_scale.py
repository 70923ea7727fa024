"""The dashboard's queries at scale: 1 M completed + 100 k failed + 10 k waiting jobs in PostgreSQL.

    uv run python bench/dashboard_scale.py [--url postgresql://postgres@127.0.0.1:5432/test] [--keep]

Seeds a fresh schema with INSERT … SELECT generate_series (not timed), runs VACUUM ANALYZE
(what autovacuum has done to any table that grew to a million rows in production), then
times (20 runs each, p50/p95) what the dashboard's pages ask through the operations API:
the first page of /jobs (no filter, by state, by queue, by class, by text in args), a deep
keyset page, the overview counts and the jobs-over-time chart; then the pages themselves,
rendered in-process by the ASGI app (``create_app``, read-only) through httpx: ``/``,
``/jobs`` (plain, by state, by text, and the text search's "search older jobs" step) and
``/queues``.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import re
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import httpx
from sidequest import Sidequest
from sidequest_dashboard import create_app

TARGETS: dict[str, float | None] = {"list": 0.300, "count": 0.100, "page": 0.300, "reference": None}
"""p95 targets of what the dashboard does; ``reference`` rows time the plain API for comparison."""
PAGES = ("/", "/jobs", "/jobs?state=failed", "/jobs?search=user4242", "/queues")
SEARCH_OLDER = re.compile(r'href="([^"]*)">Search older jobs<')


async def seed(conn: asyncpg.Connection, schema: str) -> None:
    table = f'"{schema}".sidequest_jobs'
    common = (
        "queue, state, script, class, args, attempt, max_attempts, inserted_at, available_at,"
        " attempted_at, completed_at, failed_at"
    )
    started = time.perf_counter()
    await conn.execute(
        f"""INSERT INTO {table} ({common})
        SELECT (ARRAY['default','emails','reports','images'])[1 + g % 4], 'completed', 'app.jobs',
               (ARRAY['SendEmail','BuildReport','Resize'])[1 + g % 3], jsonb_build_array(g, 'user' || g),
               1, 5, now() - (g || ' seconds')::interval, now() - (g || ' seconds')::interval,
               now() - (g || ' seconds')::interval, now() - (g || ' seconds')::interval, NULL
        FROM generate_series(1, 1000000) AS g"""
    )
    await conn.execute(
        f"""INSERT INTO {table} ({common})
        SELECT 'default', 'failed', 'app.jobs', 'Flaky', jsonb_build_array(g), 5, 5,
               now() - (g || ' seconds')::interval, now(), now() - (g || ' seconds')::interval, NULL,
               now() - (g || ' seconds')::interval
        FROM generate_series(1, 100000) AS g"""
    )
    await conn.execute(
        f"""INSERT INTO {table} ({common})
        SELECT 'emails', 'waiting', 'app.jobs', 'SendEmail', jsonb_build_array(g), 0, 5,
               now(), now() + interval '1 day', NULL, NULL, NULL
        FROM generate_series(1, 10000) AS g"""
    )
    await conn.execute(f"VACUUM ANALYZE {table}")
    print(f"seeded 1,110,000 jobs in {time.perf_counter() - started:.1f} s")


async def timed(name: str, kind: str, action: Callable[[], Awaitable[Any]], runs: int = 20) -> None:
    await action()  # warm the statement cache
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await action()
        samples.append(time.perf_counter() - started)
    samples.sort()
    p50 = statistics.median(samples)
    p95 = samples[int(0.95 * (len(samples) - 1))]
    target = TARGETS[kind]
    if target is None:
        verdict = "(reference: not what the dashboard does)"
    else:
        verdict = "ok" if p95 <= target else f"over the {target * 1000:.0f} ms target"
    print(f"{name:<44} p50 {p50 * 1000:7.1f} ms   p95 {p95 * 1000:7.1f} ms   {verdict}")


async def time_pages(sq: Sidequest) -> None:
    """The dashboard's pages, rendered by the ASGI app in this process (no network, no server)."""
    app = create_app(sq, read_only=True)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as http:

        async def get(path: str) -> str:
            response = await http.get(path)
            if response.status_code != 200:
                raise RuntimeError(f"GET {path} answered {response.status_code}")
            return response.text

        paths = list(PAGES)
        more = SEARCH_OLDER.search(await get("/jobs?search=user4242"))
        if more:
            paths.append(html.unescape(more.group(1)))
        for path in paths:
            await timed(f"page: {path}", "page", lambda path=path: get(path))


async def main(url: str, keep: bool) -> None:
    schema = f"sq_dash_{uuid.uuid4().hex[:8]}"
    sq = Sidequest(f"{url}{'&' if '?' in url else '?'}schema={schema}")
    await sq.configure()
    conn = await asyncpg.connect(url)
    try:
        await seed(conn, schema)
        deep = (await sq.jobs.list(limit=1, state="completed"))[0].id - 500_000
        await timed("list: first page, no filter", "list", lambda: sq.jobs.list(limit=50))
        await timed("list: state=failed", "list", lambda: sq.jobs.list(state="failed", limit=50))
        await timed("list: state=waiting", "list", lambda: sq.jobs.list(state="waiting", limit=50))
        await timed("list: queue=reports", "list", lambda: sq.jobs.list(queue="reports", limit=50))
        await timed("list: class=Resize", "list", lambda: sq.jobs.list(job_class="Resize", limit=50))
        await timed(
            "list: text in args, whole table", "reference", lambda: sq.jobs.list(search="user4242", limit=50)
        )
        await timed(
            "list: keyset page 500 k rows deep", "list", lambda: sq.jobs.list(before_id=deep, limit=50)
        )
        await timed("count: by state, estimated (overview)", "count", lambda: sq.jobs.count(exact=False))
        await timed(
            "count: by queue, estimated (queues page)", "count", lambda: sq.jobs.count_by_queue(exact=False)
        )
        await timed("count: by state, exact (API default)", "reference", lambda: sq.jobs.count())
        await timed("count: by queue, exact (API default)", "reference", lambda: sq.jobs.count_by_queue())
        await timed("count: over time, last hour", "count", lambda: sq.jobs.count_over_time("60m"))
        await timed("count: over time, last day", "count", lambda: sq.jobs.count_over_time("24h"))
        await time_pages(sq)
    finally:
        await sq.close()
        if not keep:
            await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await conn.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--keep", action="store_true")
    options = parser.parse_args()
    asyncio.run(main(options.url, options.keep))
