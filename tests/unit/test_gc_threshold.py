"""A running worker raises Python's young-generation collection threshold and puts it back."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator

import pytest
import sample_jobs as jobs
from sidequest import ConfigurationError, JobState, Sidequest
from sidequest.backend import MemoryBackend

DEFAULT = (700, 10, 10)
RAISED = (5_000, 10, 10)


OPENED: list[Sidequest] = []


@pytest.fixture(autouse=True)
async def collector() -> AsyncIterator[None]:
    """The interpreter's default setting during the test; the session's own afterwards (every
    engine closed first, so that a failed test leaves no worker holding the setting)."""
    before = gc.get_threshold()
    gc.set_threshold(*DEFAULT)
    yield
    while OPENED:
        await OPENED.pop().close()
    gc.set_threshold(*before)


def engine(**options: object) -> Sidequest:
    sq = Sidequest(MemoryBackend(), poll_interval=0.02, **options)  # type: ignore[arg-type]
    OPENED.append(sq)
    return sq


async def completed(sq: Sidequest, job_id: int) -> bool:
    for _ in range(300):
        if (await sq.jobs.get(job_id)).state == JobState.COMPLETED:
            return True
        await asyncio.sleep(0.01)
    return False


async def test_a_started_worker_raises_the_threshold_and_stop_puts_it_back() -> None:
    sq = engine()
    await sq.configure()
    assert gc.get_threshold() == DEFAULT  # configured to enqueue only: nothing changes
    await sq.start()
    assert gc.get_threshold() == RAISED
    record = await sq.build(jobs.Echo).enqueue(1)
    assert await completed(sq, record.id)  # jobs run as before
    await sq.stop()
    assert gc.get_threshold() == DEFAULT
    await sq.start()  # a second start raises it again
    assert gc.get_threshold() == RAISED
    await sq.close()
    assert gc.get_threshold() == DEFAULT


async def test_the_threshold_can_be_chosen_or_left_alone() -> None:
    chosen = engine(gc_threshold=20_000)
    await chosen.start()
    assert gc.get_threshold() == (20_000, 10, 10)
    await chosen.close()
    assert gc.get_threshold() == DEFAULT
    untouched = engine(gc_threshold=None)
    await untouched.start()
    assert gc.get_threshold() == DEFAULT
    await untouched.close()


async def test_a_higher_threshold_or_a_disabled_collector_is_left_alone() -> None:
    for setting in [(50_000, 5, 5), (0, 10, 10)]:
        gc.set_threshold(*setting)
        sq = engine()
        await sq.start()
        assert gc.get_threshold() == setting
        await sq.close()
        assert gc.get_threshold() == setting


async def test_an_application_threshold_is_raised_and_restored_as_it_was() -> None:
    gc.set_threshold(1_000, 3, 4)
    sq = engine()
    await sq.start()
    assert gc.get_threshold() == (5_000, 3, 4)  # only the youngest generation's changes
    await sq.close()
    assert gc.get_threshold() == (1_000, 3, 4)


async def test_workers_of_one_process_share_it_until_the_last_one_stops() -> None:
    first, second = engine(), engine(gc_threshold=8_000)
    await first.start()
    await second.start()
    assert gc.get_threshold() == (8_000, 10, 10)  # the largest asked for
    await first.close()
    assert gc.get_threshold() == (8_000, 10, 10)  # the second still runs
    await second.close()
    assert gc.get_threshold() == DEFAULT


async def test_a_setting_changed_while_the_worker_runs_is_kept() -> None:
    sq = engine()
    await sq.start()
    gc.set_threshold(2_000, 10, 10)  # the application's own choice, made meanwhile
    await sq.close()
    assert gc.get_threshold() == (2_000, 10, 10)


async def test_a_later_worker_does_not_override_a_setting_changed_meanwhile() -> None:
    first = engine()
    await first.start()
    gc.set_threshold(3_000, 10, 10)
    second = engine(gc_threshold=9_000)
    await second.start()
    assert gc.get_threshold() == (3_000, 10, 10)
    await second.close()
    await first.close()
    assert gc.get_threshold() == (3_000, 10, 10)


@pytest.mark.parametrize("value", [0, -5, 2.5, "5000", True])
def test_an_invalid_threshold_is_refused(value: object) -> None:
    with pytest.raises(ConfigurationError, match="gc_threshold must be an int ≥ 1 or None"):
        Sidequest("memory://", gc_threshold=value)  # type: ignore[arg-type]
