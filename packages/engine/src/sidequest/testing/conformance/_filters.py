"""list_jobs beyond the reference: search, exact args, keyset pages and order, limits, time fields."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from sidequest import ConfigurationError
from sidequest.backend import MAX_LIST_LIMIT, Backend, JobFilter, JobState

from ._fixtures import MS, enqueue_one, make_job, new_job, tick


async def _ids(backend: Backend, **criteria: Any) -> list[int]:
    return [job.id for job in await backend.list_jobs(JobFilter(**criteria))]


class FilterTests:
    """The rest of the ``JobFilter`` contract."""

    async def test_search_is_a_case_insensitive_substring_of_args_and_kwargs(self, backend: Backend) -> None:
        in_args = await enqueue_one(backend, args=("a haystack with a NeedLe inside",))
        in_kwargs = await enqueue_one(backend, kwargs={"note": "NEEDLE"})
        in_key = await enqueue_one(backend, kwargs={"needle_count": 3})
        await enqueue_one(backend, args=("nothing here",), constructor_args=("needle",))
        await enqueue_one(backend, job_class="Needle", queue="needle")
        assert await _ids(backend, search="needle") == [in_key.id, in_kwargs.id, in_args.id]
        assert await _ids(backend, search="NeEdLe") == [in_key.id, in_kwargs.id, in_args.id]
        ete = await enqueue_one(backend, args=("été",))
        assert await _ids(backend, search="été") == [ete.id]

    async def test_search_treats_wildcards_literally(self, backend: Backend) -> None:
        percent = await enqueue_one(backend, args=("50% off",))
        underscore = await enqueue_one(backend, args=("a_b",))
        await enqueue_one(backend, args=("500 off", "axb"))
        assert await _ids(backend, search="50%") == [percent.id]
        assert await _ids(backend, search="a_b") == [underscore.id]
        assert await _ids(backend, search="%") == [percent.id]

    async def test_args_must_match_exactly(self, backend: Backend) -> None:
        nested = await enqueue_one(backend, args=({"b": 1, "a": [1, "x"]}, 2))
        empty = await enqueue_one(backend)
        number = await enqueue_one(backend, args=(1,))
        flag = await enqueue_one(backend, args=(True,))
        assert await _ids(backend, args=({"a": [1, "x"], "b": 1}, 2)) == [nested.id]
        assert await _ids(backend, args=({"a": [1, "x"], "b": 1},)) == []
        assert await _ids(backend, args=()) == [empty.id]
        assert await _ids(backend, args=(1,)) == [number.id]
        assert await _ids(backend, args=(True,)) == [flag.id]
        assert len(await _ids(backend, args=None)) == 4

    async def test_keyset_pages_cover_every_job_once(self, backend: Backend) -> None:
        jobs = await backend.enqueue([new_job() for _ in range(10)])
        expected = sorted((j.id for j in jobs), reverse=True)
        seen: list[int] = []
        before_id = None
        for _ in range(len(jobs)):
            page = await _ids(backend, before_id=before_id, limit=3)
            if not page:
                break
            seen += page
            before_id = page[-1]
        assert seen == expected
        assert await _ids(backend, before_id=expected[4]) == expected[5:]

    async def test_after_id_keeps_higher_ids_newest_first(self, backend: Backend) -> None:
        jobs = await backend.enqueue([new_job() for _ in range(6)])
        ids = sorted(j.id for j in jobs)
        assert await _ids(backend, after_id=ids[2]) == ids[:2:-1]
        assert await _ids(backend, after_id=ids[-1]) == []
        assert await _ids(backend, after_id=0) == ids[::-1]
        assert await _ids(backend, after_id=ids[2], limit=2) == [ids[5], ids[4]]

    async def test_after_id_and_before_id_make_a_window(self, backend: Backend) -> None:
        jobs = await backend.enqueue([new_job(args=(n,)) for n in range(8)])
        ids = sorted(j.id for j in jobs)
        assert await _ids(backend, after_id=ids[1], before_id=ids[6]) == [ids[5], ids[4], ids[3], ids[2]]
        window = {"after_id": ids[1], "before_id": ids[6], "order": "oldest"}
        assert await _ids(backend, **window) == ids[2:6]
        assert await _ids(backend, **window, limit=2, offset=1) == ids[3:5]
        assert await _ids(backend, after_id=ids[3], before_id=ids[4]) == []
        assert await _ids(backend, after_id=ids[5], before_id=ids[2]) == []
        odd = await _ids(backend, after_id=ids[0], before_id=ids[7], args=(3,))
        assert odd == [ids[3]]

    async def test_oldest_order_pages_forward_from_after_id(self, backend: Backend) -> None:
        jobs = await backend.enqueue([new_job(queue="a" if n % 2 else "b") for n in range(12)])
        ids = sorted(j.id for j in jobs)
        assert await _ids(backend, order="oldest", after_id=ids[3], limit=3) == ids[4:7]
        assert await _ids(backend, order="oldest", limit=2) == ids[:2]
        assert await _ids(backend, order="newest", limit=2) == [ids[11], ids[10]]
        in_a = [i for n, i in enumerate(ids) if n % 2]
        seen: list[int] = []
        after_id = 0
        while page := await _ids(backend, queues=("a",), order="oldest", after_id=after_id, limit=4):
            seen += page
            after_id = page[-1]
        assert seen == in_a

    async def test_an_unknown_order_is_refused(self, backend: Backend) -> None:
        await enqueue_one(backend)
        with pytest.raises(ConfigurationError, match="newest"):
            JobFilter(order="random()")  # type: ignore[arg-type]
        unchecked = JobFilter()
        object.__setattr__(unchecked, "order", "id; DROP TABLE jobs")  # bypasses the validator
        with pytest.raises(ConfigurationError):
            await backend.list_jobs(unchecked)

    async def test_offset_skips_jobs(self, backend: Backend) -> None:
        jobs = await backend.enqueue([new_job() for _ in range(5)])
        newest_first = sorted((j.id for j in jobs), reverse=True)
        assert await _ids(backend, offset=2, limit=2) == newest_first[2:4]
        assert await _ids(backend, offset=5) == []

    async def test_default_limit_is_50(self, backend: Backend) -> None:
        await backend.enqueue([new_job() for _ in range(60)])
        assert len(await _ids(backend)) == 50

    @pytest.mark.parametrize(("limit", "expected"), [(0, 1), (-5, 1), (1, 1), (7, 7)])
    async def test_small_limits_are_clamped_to_one(self, backend: Backend, limit: int, expected: int) -> None:
        await backend.enqueue([new_job() for _ in range(10)])
        assert len(await _ids(backend, limit=limit)) == expected

    async def test_large_limits_are_clamped_to_the_maximum(self, backend: Backend) -> None:
        await backend.enqueue([new_job() for _ in range(MAX_LIST_LIMIT + 1)])
        assert len(await _ids(backend, limit=MAX_LIST_LIMIT * 5)) == MAX_LIST_LIMIT

    async def test_underscore_in_a_pattern_is_literal(self, backend: Backend) -> None:
        exact = await enqueue_one(backend, "a_c")
        await enqueue_one(backend, "abc")
        await enqueue_one(backend, "a_")
        assert await _ids(backend, queues=("a_%c",)) == [exact.id]
        assert await _ids(backend, queues=("a_c",)) == [exact.id]
        assert len(await _ids(backend, queues=("a%",))) == 3

    async def test_patterns_and_exact_values_mix(self, backend: Backend) -> None:
        for queue in ("email-queue", "report-queue", "notification"):
            await enqueue_one(backend, queue)
        assert len(await _ids(backend, queues=("email%", "notification"))) == 2

    async def test_time_range_on_attempted_at_skips_unattempted_jobs(self, backend: Backend) -> None:
        running = await make_job(backend, JobState.RUNNING)
        waiting = await enqueue_one(backend)
        assert running.attempted_at is not None
        assert await _ids(backend, since=running.attempted_at - timedelta(hours=1)) == [running.id]
        assert await _ids(backend, until=waiting.inserted_at + timedelta(hours=1)) == [running.id]

    async def test_time_range_on_inserted_at(self, backend: Backend) -> None:
        first = await enqueue_one(backend)
        await tick()
        second = await enqueue_one(backend)
        assert first.inserted_at < second.inserted_at
        assert await _ids(backend, time_field="inserted_at", since=second.inserted_at) == [second.id]
        assert await _ids(backend, time_field="inserted_at", until=first.inserted_at) == [first.id]
        both = await _ids(
            backend, time_field="inserted_at", since=first.inserted_at, until=second.inserted_at
        )
        assert both == [second.id, first.id]

    async def test_time_range_on_available_at(self, backend: Backend) -> None:
        now = await backend.now()
        soon = await enqueue_one(backend, available_at=now + timedelta(minutes=5))
        later = await enqueue_one(backend, available_at=now + timedelta(hours=5))
        window = {"since": now + timedelta(minutes=1), "until": now + timedelta(hours=1)}
        assert await _ids(backend, time_field="available_at", **window) == [soon.id]
        assert await _ids(backend, time_field="available_at", since=later.available_at) == [later.id]

    async def test_time_range_on_finished_at(self, backend: Backend) -> None:
        completed = await make_job(backend, JobState.COMPLETED)
        await tick()
        failed = await make_job(backend, JobState.FAILED)
        await tick()
        canceled = await make_job(backend, JobState.CANCELED)
        await enqueue_one(backend)
        assert completed.completed_at is not None and canceled.canceled_at is not None
        start, end = completed.completed_at, canceled.canceled_at
        finished = await _ids(backend, time_field="finished_at", since=start, until=end)
        assert finished == [canceled.id, failed.id, completed.id]
        assert await _ids(backend, time_field="finished_at", since=start + MS, until=end - MS) == [failed.id]
