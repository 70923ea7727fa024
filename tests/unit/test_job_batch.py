"""``JobBatch``: the jobs of one ``enqueue_many``, checked at once and built as they are read."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import pytest
from sidequest import InvalidPayloadError, Job, Sidequest
from sidequest.backend import JobBatch, JobFilter, MemoryBackend, NewJob

TEMPLATE = NewJob(queue="q", script="m", job_class="C", max_attempts=3)


def counting_batch(size: int) -> tuple[JobBatch, list[int]]:
    """A batch whose digest records the positions built (each job's digest is computed once)."""
    built: list[int] = []

    def digest(args: Sequence[Any], kwargs: Mapping[str, Any]) -> str:
        built.append(args[0])
        return f"d{args[0]}"

    return JobBatch(TEMPLATE, [((position,), {}) for position in range(size)], digest), built


def expected(position: int) -> NewJob:
    return attrs.evolve(TEMPLATE, args=(position,), unique_digest=f"d{position}")


def test_a_job_is_built_when_it_or_one_after_it_is_first_read() -> None:
    batch, built = counting_batch(10)
    assert len(batch) == 10 and built == []
    assert batch[2].args == (2,) and built == [0, 1, 2]
    assert batch[1].args == (1,) and built == [0, 1, 2]  # read again: not built again
    assert [job.args for job in batch[3:5]] == [(3,), (4,)] and built == [0, 1, 2, 3, 4]
    assert batch[-4].args == (6,) and built == list(range(7))
    assert [job.args[0] for job in batch] == list(range(10)) and built == list(range(10))


def test_slices_and_indexes_behave_as_a_lists() -> None:
    batch, _ = counting_batch(7)
    jobs = [expected(position) for position in range(7)]
    for index in (
        slice(None),
        slice(2, 5),
        slice(5, 2),
        slice(None, None, 2),
        slice(None, None, -3),
        slice(-2, 99),
    ):
        assert list(batch[index]) == jobs[index], index
    assert batch[-1] == jobs[-1] and batch.index(jobs[3]) == 3 and jobs[4] in batch
    assert list(reversed(batch)) == jobs[::-1]
    for outside in (7, -8):
        with pytest.raises(IndexError):
            batch[outside]


def test_every_job_holds_the_templates_objects_in_its_shared_fields() -> None:
    batch, _ = counting_batch(3)
    for job in batch:
        assert job.kwargs == {} and job.max_attempts == 3
        for field in (
            "queue",
            "script",
            "job_class",
            "constructor_args",
            "uniqueness_config",
            "backoff_strategy",
        ):
            assert getattr(job, field) is getattr(TEMPLATE, field), field
    assert JobBatch(TEMPLATE, [((1,), {"k": [1]})])[0].unique_digest is None  # no digest function


def test_an_empty_slice_builds_nothing() -> None:
    batch, built = counting_batch(5)
    assert list(batch[3:3]) == [] and list(batch[4:1]) == [] and built == []


class Note(Job):
    async def run(self, n: int) -> None:
        return None


async def test_enqueue_many_checks_every_payload_before_the_backend_sees_the_batch() -> None:
    backend = MemoryBackend()
    sq = Sidequest(backend, jobs=[Note])
    await sq.configure()
    seen: list[object] = []
    enqueue = backend.enqueue

    async def spy(jobs, **options):  # type: ignore[no-untyped-def]
        seen.append(jobs)
        return await enqueue(jobs, **options)

    backend.enqueue = spy  # type: ignore[method-assign]
    with pytest.raises(InvalidPayloadError, match=r"args\[0\]"):
        await sq.build(Note).queue("fresh").enqueue_many([(1,), (2,), (float("nan"),)])
    assert seen == [] and await backend.list_jobs(JobFilter()) == []
    assert "fresh" not in {queue.name for queue in await backend.list_queues()}

    records = await sq.build(Note).enqueue_many([(i,) for i in range(5)])
    assert [r.args for r in records] == [(i,) for i in range(5)]
    assert len(seen) == 1 and isinstance(seen[0], JobBatch)
    await sq.close()


async def test_an_empty_batch_stores_nothing_and_creates_no_queue() -> None:
    backend = MemoryBackend()
    sq = Sidequest(backend, jobs=[Note])
    await sq.configure()
    assert await sq.enqueue_jobs(JobBatch(TEMPLATE, [])) == []
    assert await backend.list_queues() == [] and await backend.list_jobs(JobFilter()) == []
    await sq.close()
