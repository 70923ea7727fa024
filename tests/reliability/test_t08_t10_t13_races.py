"""T8 stale-release vs completion race, T10 uniqueness race, T13 fuzzed payloads."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rel_jobs import Work
from sidequest import DuplicateJobError, InvalidPayloadError, JobState, Sidequest
from sidequest._transitions import complete, start
from sidequest.backend import Backend, NewJob, create_backend


@pytest.fixture
async def backend(url: str) -> AsyncIterator[Backend]:
    value = create_backend(url)
    await value.migrate()
    try:
        yield value
    finally:
        await value.close()


async def test_t8_release_never_reverts_a_completion(backend: Backend) -> None:
    # Each lost race also parks one more job with the "drain" claimer: enqueue enough for both.
    await backend.enqueue([NewJob(queue="race", script="m", job_class="C") for _ in range(600)])
    completed = released = 0
    for _ in range(300):
        (job,) = await backend.claim("race", 1, "worker-a", 0.0)
        running = await backend.transition(job.id, start(job))
        assert running is not None
        await asyncio.sleep(0.002)  # the lease is now expired
        done, taken = await asyncio.gather(
            backend.transition(job.id, complete(running, "ok")), backend.release_expired()
        )
        final = await backend.get_job(job.id)
        assert final is not None
        if done is not None:
            completed += 1
            assert final.state == JobState.COMPLETED and final.result == "ok"
            assert job.id not in [t.id for t in taken]
        else:
            released += 1
            assert final.state == JobState.WAITING and final.result is None
            await backend.transition(job.id, complete(running, "late"))  # still rejected
            assert (await backend.get_job(job.id)).state == JobState.WAITING  # type: ignore[union-attr]
            await backend.claim("race", 1, "drain", 30)  # take it out of the way
    assert completed + released == 300


async def test_t10_concurrent_unique_enqueues_store_one(url: str) -> None:
    engines = [Sidequest(url) for _ in range(5)]
    for sq in engines:
        await sq.configure()
    try:

        async def attempt(sq: Sidequest) -> int | None:
            try:
                return (await sq.build(Work).unique(with_args=True).enqueue("K")).id
            except DuplicateJobError as exc:
                assert exc.existing_id is not None
                return None

        outcomes = await asyncio.gather(*(attempt(engines[i % 5]) for i in range(100)))
        stored = [o for o in outcomes if o is not None]
        assert len(stored) == 1
        batch = (
            await engines[0]
            .build(Work)
            .unique(with_args=True)
            .enqueue_many([("K",), ("L",), ("L",)], skip_duplicates=True)
        )
        assert [r.args for r in batch] == [("L",)]
        assert len(await engines[0].jobs.list(job_class="Work")) == 2
    finally:
        for sq in engines:
            await sq.close()


json_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True), st.text()
)
payloads = st.recursive(
    st.one_of(json_leaf, st.binary(max_size=4), st.tuples(st.integers())),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.one_of(st.text(), st.integers()), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=payloads)
async def test_t13_payloads_round_trip_or_are_refused(url: str, value: object) -> None:
    sq = Sidequest(url)
    try:
        try:
            record = await sq.build(Work).enqueue(value)
        except InvalidPayloadError as exc:
            assert exc.path.startswith("args")
            return
        stored = await sq.jobs.get(record.id)
        assert list(stored.args) == [value]
        assert type(stored.args[0]) is type(value)
    finally:
        await sq.close()
