"""count_jobs_over_time (the reference countJobsOverTime cases, on the database clock)."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise

import pytest

from sidequest import ConfigurationError
from sidequest.backend import Backend, JobCounts, JobState, TimeBucket

from ._fixtures import assert_utc_ms, enqueue_one, make_job

UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400}


def _total(buckets: list[TimeBucket]) -> JobCounts:
    sums = {state.value: sum(getattr(b.counts, state.value) for b in buckets) for state in JobState}
    return JobCounts.from_pairs(sums)


def _check_buckets(buckets: list[TimeBucket], span: str, now: datetime) -> None:
    """``int(span[:-1])`` aligned UTC buckets, one unit apart, ascending, the last holding ``now``."""
    unit = timedelta(seconds=UNIT_SECONDS[span[-1]])
    assert len(buckets) == int(span[:-1])
    for bucket in buckets:
        assert isinstance(bucket.at, datetime) and isinstance(bucket.counts, JobCounts)
        assert_utc_ms(bucket.at, "bucket start")
        assert (bucket.at.second, bucket.at.microsecond) == (0, 0)
        if span[-1] in "hd":
            assert bucket.at.minute == 0
        if span[-1] == "d":
            assert bucket.at.hour == 0
    for earlier, later in pairwise(buckets):
        assert later.at - earlier.at == unit
    assert buckets[-1].at <= now < buckets[-1].at + unit + timedelta(seconds=1)


class OverTimeTests:
    """Buckets of one minute, hour or day ending now; each job in the bucket of its latest timestamp."""

    @pytest.mark.parametrize("span", ["invalid", "12x", "", "5", "m", "0m", "-1m", "1.5h", " 5m", "5M"])
    async def test_invalid_span_is_refused(self, backend: Backend, span: str) -> None:
        with pytest.raises(ConfigurationError):
            await backend.count_jobs_over_time(span)

    async def test_zero_buckets_without_jobs(self, backend: Backend) -> None:
        buckets = await backend.count_jobs_over_time("5m")
        _check_buckets(buckets, "5m", await backend.now())
        assert all(b.counts == JobCounts() for b in buckets)

    @pytest.mark.parametrize("span", ["3m", "2h", "4d"])
    async def test_number_of_buckets(self, backend: Backend, span: str) -> None:
        buckets = await backend.count_jobs_over_time(span)
        _check_buckets(buckets, span, await backend.now())

    async def test_buckets_count_by_state(self, backend: Backend) -> None:
        await enqueue_one(backend)
        await make_job(backend, JobState.COMPLETED)
        await make_job(backend, JobState.FAILED)
        buckets = await backend.count_jobs_over_time("5m")
        _check_buckets(buckets, "5m", await backend.now())
        assert _total(buckets) == JobCounts(waiting=1, completed=1, failed=1)

    async def test_hour_buckets(self, backend: Backend) -> None:
        await make_job(backend, JobState.RUNNING)
        buckets = await backend.count_jobs_over_time("24h")
        _check_buckets(buckets, "24h", await backend.now())
        assert _total(buckets) == JobCounts(running=1)

    async def test_day_buckets(self, backend: Backend) -> None:
        await make_job(backend, JobState.CANCELED)
        buckets = await backend.count_jobs_over_time("7d")
        _check_buckets(buckets, "7d", await backend.now())
        assert _total(buckets) == JobCounts(canceled=1)

    async def test_job_is_counted_in_the_bucket_of_its_latest_timestamp(self, backend: Backend) -> None:
        done = await make_job(backend, JobState.COMPLETED)
        assert done.completed_at is not None
        buckets = await backend.count_jobs_over_time("5m")
        for bucket in buckets:
            inside = bucket.at <= done.completed_at < bucket.at + timedelta(minutes=1)
            assert bucket.counts == (JobCounts(completed=1) if inside else JobCounts())

    async def test_completed_job_in_hour_buckets(self, backend: Backend) -> None:
        await make_job(backend, JobState.COMPLETED)
        buckets = await backend.count_jobs_over_time("2h")
        assert len(buckets) == 2
        assert _total(buckets) == JobCounts(completed=1)

    async def test_buckets_in_chronological_order(self, backend: Backend) -> None:
        buckets = await backend.count_jobs_over_time("10m")
        starts = [b.at for b in buckets]
        assert starts == sorted(set(starts))
        _check_buckets(buckets, "10m", await backend.now())

    async def test_every_state_in_the_buckets(self, backend: Backend) -> None:
        for state in JobState:
            await make_job(backend, state)
        buckets = await backend.count_jobs_over_time("3m")
        assert _total(buckets) == JobCounts.from_pairs(dict.fromkeys((s.value for s in JobState), 1))
        assert all(min(b.counts.as_dict().values()) >= 0 for b in buckets)

    @pytest.mark.parametrize("span", ["1m", "1h", "1d"])
    async def test_single_bucket(self, backend: Backend, span: str) -> None:
        buckets = await backend.count_jobs_over_time(span)
        _check_buckets(buckets, span, await backend.now())

    async def test_jobs_are_counted_once(self, backend: Backend) -> None:
        await enqueue_one(backend)
        await make_job(backend, JobState.COMPLETED)
        for span in ("5m", "3h", "2d"):
            assert _total(await backend.count_jobs_over_time(span)).total == 2
