"""Recurring jobs on PostgreSQL: stored schedules, compare-and-set advance, one job per tick."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pg_jobs
import pytest
from sidequest import ScheduleRecord, ScheduleState, Sidequest
from sidequest_postgres.backend import PostgresBackend

pytestmark = pytest.mark.postgres


def schedule(name: str, next_fire_at: datetime, **fields: object) -> ScheduleRecord:
    return ScheduleRecord(
        name=name,
        cron="*/5 * * * *",
        script="pg_jobs",
        job_class="Echo",
        next_fire_at=next_fire_at,
        **fields,  # type: ignore[arg-type]
    )


async def test_schedule_storage_and_compare_and_set(backend: PostgresBackend) -> None:
    at = datetime(2030, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)
    saved = await backend.save_schedule(
        schedule("b", at, args=(1, {"x": [2]}), kwargs={"k": 1e16}, tz="Europe/Berlin", no_overlap=True)
    )
    assert saved.next_fire_at == at.replace(microsecond=123000)
    assert saved.args == (1, {"x": [2]}) and saved.kwargs == {"k": 1e16} and saved.no_overlap
    await backend.save_schedule(schedule("a", at))
    replaced = await backend.save_schedule(schedule("b", at, queue="other"))
    assert replaced.queue == "other" and replaced.args == ()
    assert [s.name for s in await backend.list_schedules()] == ["a", "b"]

    later = saved.next_fire_at + timedelta(minutes=5)
    assert not await backend.advance_schedule(
        "b", expected_next_fire_at=later, next_fire_at=later, last_fired_at=None, last_job_id=None
    )
    assert await backend.advance_schedule(
        "b", expected_next_fire_at=saved.next_fire_at, next_fire_at=later, last_fired_at=at, last_job_id=7
    )
    assert not await backend.advance_schedule(  # a second node with the same view loses
        "b", expected_next_fire_at=saved.next_fire_at, next_fire_at=later, last_fired_at=at, last_job_id=8
    )
    stored = await backend.get_schedule("b")
    assert stored is not None
    assert (stored.next_fire_at, stored.last_job_id) == (later, 7)
    assert await backend.advance_schedule(
        "b",
        expected_next_fire_at=later,
        next_fire_at=later + timedelta(minutes=5),
        last_fired_at=None,
        last_job_id=None,
    )
    stored = await backend.get_schedule("b")
    assert stored is not None and stored.last_job_id == 7  # kept when not given

    paused = await backend.set_schedule_state("a", ScheduleState.PAUSED)
    assert paused is not None and paused.state == ScheduleState.PAUSED
    assert await backend.set_schedule_state("missing", ScheduleState.PAUSED) is None
    assert await backend.delete_schedule("a") and not await backend.delete_schedule("a")
    assert await backend.get_schedule("a") is None
    await backend.truncate()
    assert await backend.list_schedules() == []


async def test_engines_on_separate_connections_fire_each_tick_once(schema_url: str) -> None:
    engines = [
        Sidequest(schema_url, poll_interval=0.02, schedule_interval=0.05, backend_options={"pool_max": 2})
        for _ in range(3)
    ]
    try:
        await (
            engines[0].build(pg_jobs.Echo).queue("ticks").schedule("* * * * * *", "tick", name="every-second")
        )
        for sq in engines:
            await sq.start()
        await asyncio.sleep(3.2)
        for sq in engines:
            await sq.stop()
        fired = await engines[0].jobs.list(queue="ticks", limit=100)
        digests = [j.unique_digest for j in fired]
        assert 2 <= len(fired) <= 4
        assert len(set(digests)) == len(digests)
    finally:
        for sq in engines:
            await sq.close()
