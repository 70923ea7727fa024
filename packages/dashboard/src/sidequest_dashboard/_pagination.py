"""Keyset pagination over ``sq.jobs.list`` (newest first).

Older pages continue with ``before_id``. The engine has no ``after_id`` yet, so a newer
page is found by reading id windows just above the current page: ids are unique integers,
so a window ``(low, high]`` holds at most ``high - low`` jobs and one bounded ``list`` call
returns all of them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sidequest import JobRecord, Sidequest
from sidequest.backend import MAX_LIST_LIMIT

MAX_WINDOWS = 50

Fetch = Callable[[int | None, int], Awaitable[list[JobRecord]]]


@dataclass(frozen=True)
class Page:
    """One page of jobs, newest first, with the bounds of its neighbours."""

    jobs: list[JobRecord]
    newer: int | None = None
    """``after`` value of the newer page (None: this is the newest page)."""
    older: int | None = None
    """``before`` value of the older page (None: this is the oldest page)."""


async def load_page(
    sq: Sidequest, filters: dict[str, Any], *, before: int | None, after: int | None, limit: int
) -> Page:
    """The page ending below ``before``, or starting just above ``after``, or the newest."""

    async def fetch(before_id: int | None, count: int) -> list[JobRecord]:
        return await sq.jobs.list(**filters, before_id=before_id, limit=count)

    if after is not None:
        jobs, more = await _just_above(fetch, after, limit)
        if jobs:
            jobs.reverse()
            older = jobs[-1].id if await fetch(jobs[-1].id, 1) else None
            return Page(jobs, newer=jobs[0].id if more else None, older=older)
        before = None
    rows = await fetch(before, limit + 1)
    jobs = rows[:limit]
    older = jobs[-1].id if len(rows) > limit else None
    newer = None
    if before is not None:
        top = await fetch(None, 1)
        if top and top[0].id >= before:
            newer = jobs[0].id if jobs else before - 1
    return Page(jobs, newer=newer, older=older)


async def _just_above(fetch: Fetch, after: int, want: int) -> tuple[list[JobRecord], bool]:
    """The ``want`` lowest matching jobs with id > ``after`` (ascending) and whether more exist."""
    top = await fetch(None, 1)
    if not top or top[0].id <= after:
        return [], False
    top_id = top[0].id
    found: list[JobRecord] = []
    low, step = after, min(max(want + 1, 64), MAX_LIST_LIMIT)
    reached_top = False
    for _ in range(MAX_WINDOWS):
        high = min(low + step, top_id)
        rows = await fetch(high + 1, high - low)
        found.extend(sorted((r for r in rows if r.id > low), key=lambda r: r.id))
        reached_top = high >= top_id
        if len(found) > want or reached_top:
            break
        low, step = high, min(step * 2, MAX_LIST_LIMIT)
    return found[:want], len(found) > want or not reached_top
