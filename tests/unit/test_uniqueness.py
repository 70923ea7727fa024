"""Uniqueness digests (reference §3.2) and their enforcement through the engine."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
import sample_jobs as jobs
from sidequest import ConfigurationError, DuplicateJobError, Sidequest
from sidequest._uniqueness import digest, uniqueness_config, window_start

MOMENT = datetime(2023, 1, 18, 14, 37, 21, 123000, tzinfo=UTC)  # a Wednesday


@pytest.mark.parametrize(
    ("period", "expected"),
    [
        ("second", "2023-01-18T14:37:21.000Z"),
        ("minute", "2023-01-18T14:37:00.000Z"),
        ("hour", "2023-01-18T14:00:00.000Z"),
        ("day", "2023-01-18T00:00:00.000Z"),
        ("week", "2023-01-15T00:00:00.000Z"),
        ("month", "2023-01-01T00:00:00.000Z"),
    ],
)
def test_window_start(period: str, expected: str) -> None:
    assert window_start(MOMENT, period) == expected


def test_digest_keys_match_the_reference() -> None:
    alive = uniqueness_config(True)
    common = {"job_class": "SendEmail", "kwargs": {}, "constructor_args": [], "available_at": MOMENT}
    assert digest(alive, args=[1], **common) == hashlib.sha256(b"SendEmail").hexdigest()  # type: ignore[arg-type]
    with_args = uniqueness_config(True, with_args=True)
    key = 'SendEmail::args=[1,{"a":2}]::ctor=[]'
    assert digest(with_args, args=[1, {"a": 2}], **common) == hashlib.sha256(key.encode()).hexdigest()  # type: ignore[arg-type]
    window = uniqueness_config(True, period="day")
    key = "SendEmail::time=2023-01-18T00:00:00.000Z"
    assert digest(window, args=[], **common) == hashlib.sha256(key.encode()).hexdigest()  # type: ignore[arg-type]
    assert digest(None, args=[], **common) is None  # type: ignore[arg-type]


def test_unknown_period_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="fortnight"):
        uniqueness_config(True, period="fortnight")


async def test_alive_uniqueness_by_class_and_by_args() -> None:
    async with Sidequest("memory://") as sq:
        first = await sq.build(jobs.Echo).unique().enqueue(1)
        with pytest.raises(DuplicateJobError) as caught:
            await sq.build(jobs.Echo).unique().enqueue(2)
        assert caught.value.existing_id == first.id
        await sq.build(jobs.Echo).unique(with_args=True).enqueue(3)
        await sq.build(jobs.Echo).unique(with_args=True).enqueue(4)
        with pytest.raises(DuplicateJobError):
            await sq.build(jobs.Echo).unique(with_args=True).enqueue(4)
        await sq.jobs.cancel(first.id)
        await sq.build(jobs.Echo).unique().enqueue(5)


async def test_fixed_window_holds_after_finishing_and_bulk_skips() -> None:
    async with Sidequest("memory://") as sq:
        job = await sq.build(jobs.Echo).unique(period="hour").enqueue()
        await sq.jobs.cancel(job.id)
        with pytest.raises(DuplicateJobError):
            await sq.build(jobs.Echo).unique(period="hour").enqueue()
        builder = sq.build(jobs.Echo).unique(with_args=True)
        records = await builder.enqueue_many([(1,), (2,), (1,)], skip_duplicates=True)
        assert [r.args for r in records] == [(1,), (2,)]
        with pytest.raises(DuplicateJobError):
            await builder.enqueue_many([(3,), (1,)])
        assert not await sq.jobs.list(args=[3])
