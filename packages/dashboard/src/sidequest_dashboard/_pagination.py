"""Keyset pagination over ``sq.jobs.list`` (newest first), and a text search bounded in time.

Older pages continue with ``before_id``. A newer page is the ``limit`` lowest matching ids
above ``after_id`` (``order="oldest"``, one query), shown newest first.

A text search (``search``) cannot use an index: the database reads the arguments of every
row until the page is full, which on a large table with few matches is a scan of the
whole table. So a search reads id windows of ``SEARCH_WINDOW`` ids, one query each (every
other filter applies too), starting at the cursor, until the page is full, the oldest (or
newest) job is reached, or the next window would end after ``SEARCH_BUDGET`` seconds. When
it stops early the page says which ids it searched (``Page.searched``) and its older (or
newer) link continues from the window's bound. Both constants are read at each call, so
tests can shrink them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sidequest import JobRecord, Sidequest

SEARCH_WINDOW = 100_000
"""Ids read by one query of a text search."""
SEARCH_BUDGET = 0.2
"""Seconds a text search may spend on one page before it stops and offers to continue."""


@dataclass(frozen=True)
class Searched:
    """The ids (``low``–``high``, inclusive) a text search read before its time budget ran out."""

    low: int
    high: int
    newer: bool = False
    """True when it went towards newer jobs (continue with ``after=high``, else ``before=low``)."""


@dataclass(frozen=True)
class Page:
    """One page of jobs, newest first, with the bounds of its neighbours."""

    jobs: list[JobRecord]
    newer: int | None = None
    """``after`` value of the newer page (None: this is the newest page)."""
    older: int | None = None
    """``before`` value of the older page (None: this is the oldest page)."""
    searched: Searched | None = None
    """Set when a text search stopped early: which ids it read (the links continue from there)."""


async def load_page(
    sq: Sidequest, filters: dict[str, Any], *, before: int | None, after: int | None, limit: int
) -> Page:
    """The page ending below ``before``, or starting just above ``after``, or the newest."""
    if filters.get("search"):
        return await _search_page(sq, filters, before=before, after=after, limit=limit)

    async def fetch(**bounds: Any) -> list[JobRecord]:
        return await sq.jobs.list(**filters, **bounds)

    if after is not None:
        rows = await fetch(after_id=after, order="oldest", limit=limit + 1)
        if rows:
            jobs = rows[:limit][::-1]
            older = jobs[-1].id if await fetch(before_id=jobs[-1].id, limit=1) else None
            return Page(jobs, newer=jobs[0].id if len(rows) > limit else None, older=older)
        before = None
    rows = await fetch(before_id=before, limit=limit + 1)
    jobs = rows[:limit]
    older = jobs[-1].id if len(rows) > limit else None
    newer = None
    if before is not None:
        above = jobs[0].id if jobs else before - 1
        if await fetch(after_id=above, order="oldest", limit=1):
            newer = above
    return Page(jobs, newer=newer, older=older)


async def _search_page(
    sq: Sidequest, filters: dict[str, Any], *, before: int | None, after: int | None, limit: int
) -> Page:
    """``load_page`` for a text search: id windows until full, the end of the table, or the budget."""
    started = time.monotonic()
    window, budget = max(1, SEARCH_WINDOW), SEARCH_BUDGET
    newest = await sq.jobs.list(limit=1)
    oldest = await sq.jobs.list(limit=1, order="oldest")
    if not newest or not oldest:
        return Page([])
    top, bottom = newest[0].id, oldest[0].id

    def out_of_time(last: float) -> bool:
        """Whether one more window (as long as the last one) would end after the budget."""
        return time.monotonic() - started + last > budget

    async def read(**bounds: Any) -> tuple[list[JobRecord], float]:
        began = time.monotonic()
        rows = await sq.jobs.list(**filters, **bounds)
        return rows, time.monotonic() - began

    if after is not None and after < top:
        found: list[JobRecord] = []
        low = after  # exclusive
        while True:
            high = min(low + window, top)  # inclusive
            rows, spent = await read(
                after_id=low, before_id=high + 1, order="oldest", limit=limit + 1 - len(found)
            )
            found += rows
            if len(found) > limit or high >= top:
                break
            if out_of_time(spent):
                jobs = found[::-1]
                below = jobs[-1].id if jobs else after + 1
                return Page(jobs, newer=high, older=below, searched=Searched(after + 1, high, newer=True))
            low = high
        if found:
            jobs = found[:limit][::-1]
            below = jobs[-1].id
            newer = jobs[0].id if len(found) > limit else None
            return Page(jobs, newer=newer, older=below if below > bottom else None)
        # nothing newer matches: the newest page is the one just below, without a newer link
        before, top = after + 1, after

    cursor = top + 1 if before is None else min(before, top + 1)  # exclusive
    found = []
    high = cursor
    while True:
        low = max(high - window, bottom)  # inclusive
        rows, spent = await read(before_id=high, after_id=low - 1, limit=limit + 1 - len(found))
        found += rows
        if len(found) > limit or low <= bottom:
            break
        if out_of_time(spent):
            jobs = found
            newer = (jobs[0].id if jobs else cursor - 1) if cursor <= top else None
            return Page(jobs, newer=newer, older=low, searched=Searched(low, cursor - 1))
        high = low
    jobs = found[:limit]
    newer = (jobs[0].id if jobs else cursor - 1) if cursor <= top else None
    return Page(jobs, newer=newer, older=jobs[-1].id if len(found) > limit else None)
