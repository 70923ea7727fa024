"""The backend's ``timestamptz`` codec: asyncpg's values exactly, each distinct value decoded once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import asyncpg
import pytest
from pg_support import connected
from sidequest.backend import NewJob
from sidequest_postgres import _timestamps
from sidequest_postgres.backend import PostgresBackend

pytestmark = pytest.mark.postgres

PARAMETERS: list[Any] = [
    datetime(2026, 11, 29, 14, 15, 16, 123456, tzinfo=UTC),
    datetime(2026, 11, 29, 14, 15, 16, 123000, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(1970, 1, 1, tzinfo=timezone(timedelta(hours=-8))),
    datetime(1900, 2, 28, 1, 2, 3, 4, tzinfo=UTC),
    datetime(2100, 3, 1, tzinfo=UTC),
    datetime(2026, 6, 1, 12, 0),  # naive: the local zone, as asyncpg reads it
    date(2026, 6, 1),  # a date: midnight in the local zone
    datetime.max,  # asyncpg's stand-in for infinity
    datetime.min,
    datetime.max.replace(tzinfo=UTC),  # the same instants, aware: also sent as ±infinity
    datetime.min.replace(tzinfo=UTC),
    datetime(9999, 12, 31, 18, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-5))),
]
LITERALS = [
    "2026-11-29 14:15:16.123456+00",
    "2000-01-01 00:00:00+00",
    "1999-12-31 23:59:59.999999+00",
    "1583-01-01 00:00:00+00",
    "2262-04-11 23:47:16.854775+00",
    "infinity",
    "-infinity",
]


@pytest.fixture
async def coded(postgres_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection with the backend's codec (``conn`` has asyncpg's own: the reference)."""
    async with connected(postgres_url) as connection:
        await _timestamps.install(connection)
        yield connection


@pytest.mark.parametrize("value", PARAMETERS, ids=repr)
async def test_parameters_are_stored_and_read_as_asyncpg_does(
    conn: asyncpg.Connection, coded: asyncpg.Connection, value: Any
) -> None:
    sql = "SELECT $1::timestamptz::text, $1::timestamptz"
    expected = await conn.fetchrow(sql, value)
    got = await coded.fetchrow(sql, value)
    assert got[0] == expected[0]  # the same value reached the server
    assert got[1] == expected[1]
    assert repr(got[1]) == repr(expected[1])  # and came back with the same zone (or none)


@pytest.mark.parametrize("literal", LITERALS)
async def test_stored_values_read_as_asyncpg_reads_them(
    conn: asyncpg.Connection, coded: asyncpg.Connection, literal: str
) -> None:
    sql = f"SELECT '{literal}'::timestamptz, ARRAY['{literal}'::timestamptz, NULL]"
    expected = await conn.fetchrow(sql)
    got = await coded.fetchrow(sql)
    assert repr(tuple(got)) == repr(tuple(expected))


async def test_a_wrong_parameter_type_fails_as_with_asyncpg(
    conn: asyncpg.Connection, coded: asyncpg.Connection
) -> None:
    for connection in (conn, coded):
        with pytest.raises(asyncpg.DataError, match="expected a datetime.date or datetime.datetime"):
            await connection.fetchval("SELECT $1::timestamptz", "2026-01-01")


async def test_a_repeated_value_is_decoded_once(coded: asyncpg.Connection) -> None:
    first, second, other = await coded.fetchrow(
        "SELECT t, t, t + interval '1 ms' FROM (SELECT clock_timestamp() AS t) AS s"
    )
    assert first is second
    assert other - first == timedelta(milliseconds=1)


def test_the_cache_stays_bounded() -> None:
    for micros in range(3 * _timestamps.CACHE_SIZE):
        assert _timestamps.decode((micros,)) == datetime(2000, 1, 1, tzinfo=UTC) + timedelta(
            microseconds=micros
        )
    assert len(_timestamps._decoded) <= _timestamps.CACHE_SIZE


async def test_the_backend_pool_uses_it(backend: PostgresBackend, conn: asyncpg.Connection) -> None:
    """The jobs of one claim share their claim times (one decoded value), equal to what
    asyncpg itself reads from the rows."""
    jobs = [NewJob(queue="default", script="tests", job_class="Job", args=(i,)) for i in range(3)]
    await backend.enqueue(jobs)
    claimed = await backend.claim_and_start("default", 3, "worker", 60.0)
    assert len(claimed) == 3
    assert claimed[0].claimed_at is claimed[1].claimed_at is claimed[2].claimed_at
    assert claimed[0].lease_expires_at is claimed[2].lease_expires_at
    stored = await conn.fetch(
        f'SELECT id, claimed_at, attempted_at, lease_expires_at, inserted_at FROM "{backend.schema}"'
        ".sidequest_jobs ORDER BY id"
    )
    for record, row in zip(claimed, stored, strict=True):
        assert (record.id, record.claimed_at, record.attempted_at, record.lease_expires_at) == tuple(row[:4])
        assert record.inserted_at == row["inserted_at"]
