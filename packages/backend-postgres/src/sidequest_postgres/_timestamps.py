"""``timestamptz`` values decoded once per distinct value on the backend's own connections.

asyncpg builds a new ``datetime`` for every timestamp it reads (about 0.7 µs each, the
largest part of decoding a claimed row). Most timestamps a worker reads repeat: every job
of one claim has the same ``claimed_at``, ``attempted_at`` and ``lease_expires_at``, and
the jobs of one batch the same ``inserted_at`` and ``available_at``. This codec keeps the
last few hundred decoded values, keyed by the stored microseconds, and hands the same
(immutable) ``datetime`` back for a repeat.

Values are exactly asyncpg's own: the same UTC ``datetime`` for every finite value, the
same naive ``datetime.max`` / ``datetime.min`` stand-ins for ``infinity`` and
``-infinity``, and the same encoding of parameters (aware values in any zone, naive ones
and dates in the local zone). An application pool handed to ``from_pool`` keeps asyncpg's
codec: it is the application's to configure.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

_PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_PG_INFINITY = 0x7FFFFFFFFFFFFFFF
_PG_NEGATIVE_INFINITY = -0x8000000000000000
_INFINITY_MICROS = 252_455_615_999_999_999
"""9999-12-31 23:59:59.999999 UTC: asyncpg sends any value at that instant as ``infinity``."""
_NEGATIVE_INFINITY_MICROS = -63_082_281_600_000_000
"""0001-01-01 00:00 UTC, sent as ``-infinity``."""
INFINITY = datetime(9999, 12, 31, 23, 59, 59, 999999)
"""asyncpg's stand-in for ``infinity`` (naive, like asyncpg's)."""
NEGATIVE_INFINITY = datetime(1, 1, 1)
"""asyncpg's stand-in for ``-infinity``."""
CACHE_SIZE = 256
"""Distinct values kept; the cache starts over when full (a claim needs a handful)."""

_decoded: dict[int, datetime] = {}


def decode(value: tuple[int]) -> datetime:
    """Microseconds since 2000-01-01 UTC (asyncpg's tuple form) → ``datetime``."""
    micros = value[0]
    moment = _decoded.get(micros)
    if moment is None:
        if micros == _PG_INFINITY:
            moment = INFINITY
        elif micros == _PG_NEGATIVE_INFINITY:
            moment = NEGATIVE_INFINITY
        else:
            moment = _PG_EPOCH + timedelta(microseconds=micros)
        if len(_decoded) >= CACHE_SIZE:
            _decoded.clear()
        _decoded[micros] = moment
    return moment


def encode(value: Any) -> tuple[int]:
    """A ``datetime`` or ``date`` parameter → asyncpg's tuple form, as asyncpg encodes it."""
    if not isinstance(value, datetime):
        if not isinstance(value, date):
            raise TypeError(
                f"expected a datetime.date or datetime.datetime instance, got {type(value).__name__!r}"
            )
        value = datetime(value.year, value.month, value.day, tzinfo=datetime.now(UTC).astimezone().tzinfo)
    if value == INFINITY:
        return (_PG_INFINITY,)
    if value == NEGATIVE_INFINITY:
        return (_PG_NEGATIVE_INFINITY,)
    delta = value.astimezone(UTC) - _PG_EPOCH
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    if micros == _INFINITY_MICROS:
        return (_PG_INFINITY,)
    if micros == _NEGATIVE_INFINITY_MICROS:
        return (_PG_NEGATIVE_INFINITY,)
    return (micros,)


async def install(connection: Any) -> None:
    """Use this codec for ``timestamptz`` on ``connection`` (the pool's ``init`` hook)."""
    await connection.set_type_codec(
        "timestamptz", schema="pg_catalog", encoder=encode, decoder=decode, format="tuple"
    )
