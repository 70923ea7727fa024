"""Large batches as several statements in one transaction, overlapping Python and the server.

A batch of 1,000 jobs costs about as much Python time (encoding the rows, building the
records) as server time (heap, index and WAL writes). As one statement the two happen one
after the other; split into parts, the next part is encoded and the previous part's
records are built while the server writes the current one. The parts share one
transaction, so the batch stays all or nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from typing import Any, TypeAlias, TypeVar

from asyncpg import Connection, Record
from asyncpg.pool import PoolConnectionProxy

PART_SIZE = 250
"""Jobs per statement when a batch is written in parts."""
PIPELINE_FROM = 2 * PART_SIZE
"""Batches at least this large are written in parts (smaller ones gain nothing)."""

_BEGIN = "BEGIN; SET LOCAL plan_cache_mode = force_generic_plan"
"""One round trip. Left to itself PostgreSQL plans the insert anew for every call (a custom
plan, for which it folds the whole JSON parameter: EXPLAIN shows about 0.9 ms of planning
per 1,000 rows); the generic plan is the same for every part (measured: about 10 % more
jobs per second). ``SET LOCAL`` ends with the transaction."""

AnyConnection: TypeAlias = "Connection[Record] | PoolConnectionProxy[Record]"
Item = TypeVar("Item")
Out = TypeVar("Out")


async def fetch_in_parts(
    connection: AnyConnection,
    sql: str,
    items: Sequence[Item],
    encode: Callable[[Sequence[Item]], Any],
    decode: Callable[[Sequence[Item], list[Record]], list[Out]],
    extra: Sequence[Any] = (),
) -> list[Out]:
    """Run ``sql`` once per part of ``items`` (parameters ``encode(part), *extra``) in one
    transaction, and return ``decode(part, rows)`` of every part, in order.

    Encoding part *n + 1* and decoding part *n − 1* run while the server executes part *n*;
    the first part is encoded while ``BEGIN`` travels and the last one decoded while the
    server commits. On any error (or cancellation) before ``COMMIT`` the statement in
    flight is waited for, then the transaction rolls back: nothing of the batch is
    written. Once ``COMMIT`` is sent its outcome stands: a cancellation arriving during it
    is raised after the commit is over (the batch may then be stored, as with any
    cancelled commit).
    """
    # each part is sliced when it is encoded: a ``JobBatch`` builds its jobs then
    parts = (items[i : i + PART_SIZE] for i in range(0, len(items), PART_SIZE))
    out: list[Out] = []
    in_flight: asyncio.Task[Any] = asyncio.ensure_future(connection.execute(_BEGIN))
    try:
        await asyncio.sleep(0)  # BEGIN reaches the socket
        last = next(parts)
        parameter = encode(last)  # while BEGIN travels
        await asyncio.shield(in_flight)
        in_flight = _start(connection, sql, parameter, extra)
        await asyncio.sleep(0)  # the statement reaches the socket before we go on computing
        for part in parts:
            parameter = encode(part)  # the server is busy with the previous part meanwhile
            rows = await asyncio.shield(in_flight)
            in_flight = _start(connection, sql, parameter, extra)
            await asyncio.sleep(0)
            out.extend(decode(last, rows))
            last = part
        rows = await asyncio.shield(in_flight)
    except BaseException:
        await _settle(in_flight)  # the connection is free before the rollback
        with contextlib.suppress(BaseException):
            await connection.execute("ROLLBACK")  # (a pool connection is also reset on release)
        raise
    committing = asyncio.ensure_future(connection.execute("COMMIT"))
    try:
        await asyncio.sleep(0)  # COMMIT reaches the socket
        out.extend(decode(last, rows))  # while the server commits
        await asyncio.shield(committing)
    except BaseException:
        await _settle(committing)
        raise
    return out


async def _settle(task: asyncio.Task[Any]) -> None:
    """Wait for ``task`` to be over, whatever happens meanwhile (a second cancellation
    included: the connection is never left with a statement in flight), and retrieve its
    error (the error that matters is the one being raised)."""
    while not task.done():
        with contextlib.suppress(BaseException):
            await asyncio.wait([task])
    if not task.cancelled():
        task.exception()


def _start(
    connection: AnyConnection, sql: str, parameter: Any, extra: Sequence[Any]
) -> asyncio.Task[list[Record]]:
    """The statement as a task, held by the caller before anything can cancel it: a task the
    error path did not know of would still own the connection during the rollback."""
    return asyncio.ensure_future(connection.fetch(sql, parameter, *extra))
