"""A running worker raises Python's young-generation collection threshold and puts it back."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sample_jobs as jobs
from sidequest import ConfigurationError, JobState, Sidequest, _gc
from sidequest.backend import MemoryBackend

OPENED: list[Sidequest] = []


@pytest.fixture(autouse=True)
async def collector() -> AsyncIterator[None]:
    """Python 3.11's default setting during the test, the session's own afterwards; no
    worker may hold the setting before the test or after its engines are closed."""
    assert _gc._raised is None, "a worker of an earlier test still holds the collector setting"
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    while OPENED:
        await OPENED.pop().close()
    held = _gc._raised
    gc.set_threshold(*before)
    assert held is None, "a closed worker still holds the collector setting"


def first() -> int:
    """The youngest generation's threshold (the only value a worker changes)."""
    return gc.get_threshold()[0]


def engine(backend: MemoryBackend | None = None, **options: Any) -> Sidequest:
    sq = Sidequest(backend or MemoryBackend(), poll_interval=0.02, **options)
    OPENED.append(sq)
    return sq


async def completed(sq: Sidequest, job_id: int) -> bool:
    for _ in range(300):
        if (await sq.jobs.get(job_id)).state == JobState.COMPLETED:
            return True
        await asyncio.sleep(0.01)
    return False


async def test_a_started_worker_raises_the_threshold_and_stop_puts_it_back() -> None:
    older = gc.get_threshold()[1:]
    sq = engine()
    await sq.configure()
    assert first() == 700  # configured to enqueue only: nothing changes
    await sq.start()
    assert first() == 5_000
    assert gc.get_threshold()[1:] == older  # the older generations are not touched
    record = await sq.build(jobs.Echo).enqueue(1)
    assert await completed(sq, record.id)  # jobs run as before
    await sq.stop()
    assert first() == 700
    await sq.start()  # a second start raises it again
    assert first() == 5_000
    await sq.close()
    assert first() == 700


async def test_the_threshold_can_be_chosen_or_left_alone() -> None:
    chosen = engine(gc_threshold=20_000)
    await chosen.start()
    assert first() == 20_000
    await chosen.close()
    assert first() == 700
    untouched = engine(gc_threshold=None)
    await untouched.start()
    assert first() == 700
    await untouched.close()


async def test_a_higher_threshold_or_a_disabled_collector_is_left_alone() -> None:
    for value in (50_000, 0):
        gc.set_threshold(value, 5, 5)
        sq = engine()
        await sq.start()
        assert gc.get_threshold()[:2] == (value, 5)
        await sq.close()
        assert gc.get_threshold()[:2] == (value, 5)


async def test_collection_turned_off_stays_off() -> None:
    gc.disable()
    try:
        sq = engine()
        await sq.start()
        assert not gc.isenabled()
        await sq.close()
        assert not gc.isenabled()
        assert first() == 700
    finally:
        gc.enable()


async def test_an_application_threshold_is_raised_and_restored_as_it_was() -> None:
    gc.set_threshold(1_000, 3, 4)
    sq = engine()
    await sq.start()
    assert gc.get_threshold()[:2] == (5_000, 3)
    await sq.close()
    assert gc.get_threshold()[:2] == (1_000, 3)


async def test_workers_of_one_process_share_it_until_the_last_one_stops() -> None:
    first_worker, second_worker = engine(), engine(gc_threshold=8_000)
    untouched = engine(gc_threshold=None)
    await first_worker.start()
    await untouched.start()
    await second_worker.start()
    assert first() == 8_000  # the largest asked for
    await first_worker.stop()
    await first_worker.stop()  # a second stop releases nothing more
    await untouched.close()
    assert first() == 8_000  # the second still runs
    await second_worker.close()
    assert first() == 700


async def test_a_setting_changed_while_the_worker_runs_is_kept() -> None:
    sq = engine()
    await sq.start()
    assert first() == 5_000
    gc.set_threshold(2_000, 10, 10)  # the application's own choice, made meanwhile
    await sq.close()
    assert first() == 2_000


async def test_older_generations_changed_meanwhile_keep_their_new_values() -> None:
    sq = engine()
    await sq.start()
    gc.set_threshold(5_000, 20, 30)  # only the older generations change
    await sq.close()
    assert gc.get_threshold()[:2] == (700, 20)


async def test_a_later_worker_does_not_override_a_setting_changed_meanwhile() -> None:
    first_worker = engine()
    await first_worker.start()
    gc.set_threshold(3_000, 10, 10)
    second_worker = engine(gc_threshold=9_000)
    await second_worker.start()
    assert first() == 3_000
    await second_worker.close()
    await first_worker.close()
    assert first() == 3_000


class SlowSchedules(MemoryBackend):
    """Reading the schedules takes a while: a second ``start()`` overtakes the first."""

    async def list_schedules(self, *args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(0.01)
        return await super().list_schedules(*args, **kwargs)


async def test_concurrent_starts_of_one_engine_hold_it_once() -> None:
    sq = engine(SlowSchedules())
    await asyncio.gather(sq.start(), sq.start())
    assert first() == 5_000
    assert sum(task.get_name() == "sidequest-dispatcher" for task in asyncio.all_tasks()) == 1
    await sq.close()
    assert first() == 700


class FailsToUnsubscribe(MemoryBackend):
    def unsubscribe(self, callback: Any) -> None:
        raise RuntimeError("unsubscribe failed")


async def test_a_failing_stop_still_puts_the_setting_back() -> None:
    sq = engine(FailsToUnsubscribe())
    await sq.start()
    assert first() == 5_000
    with pytest.raises(RuntimeError, match="unsubscribe failed"):
        await sq.stop()
    assert first() == 700
    OPENED.remove(sq)


@pytest.mark.parametrize("value", [0, -5, 2**31, 2.5, "5000", True])
def test_an_invalid_threshold_is_refused(value: object) -> None:
    with pytest.raises(ConfigurationError, match=r"gc_threshold must be an int from 1 to 2,147,483,647"):
        Sidequest("memory://", gc_threshold=value)  # type: ignore[arg-type]
