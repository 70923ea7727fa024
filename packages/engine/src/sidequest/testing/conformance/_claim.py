"""claim: which jobs are taken, in which order, and what a claim writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
import pytest

from sidequest._transitions import release
from sidequest.backend import Backend, JobState

from ._fixtures import (
    LEASE,
    QUEUE,
    WORKER,
    apply,
    assert_times,
    enqueue_one,
    make_job,
    near,
    new_job,
)


class ClaimTests:
    """Reference claimPendingJob cases, plus ordering, leases and tokens."""

    async def test_claim_returns_the_job_with_every_field(self, backend: Backend) -> None:
        available_at = datetime(2021, 3, 4, 5, 6, 7, 891000, tzinfo=UTC)
        job = await enqueue_one(
            backend,
            args=("a", {"b": [1, 2]}),
            constructor_args=(3,),
            timeout=10.0,
            available_at=available_at,
            unique_digest="test",
            uniqueness_config={"type": "alive"},
        )
        before = await backend.now()
        (claimed,) = await backend.claim(QUEUE, 1, WORKER, LEASE)
        after = await backend.now()
        assert claimed.state == JobState.CLAIMED
        assert claimed.claimed_by == WORKER
        assert claimed.claimed_at is not None and before <= claimed.claimed_at <= after
        assert isinstance(claimed.lease_token, str) and claimed.lease_token
        assert near(claimed.lease_expires_at, claimed.claimed_at + timedelta(seconds=LEASE), 0.002)
        assert claimed.attempt == 0
        unclaimed = attrs.evolve(
            claimed,
            state=JobState.WAITING,
            claimed_at=None,
            claimed_by=None,
            lease_token=None,
            lease_expires_at=None,
        )
        assert unclaimed == job
        assert_times(claimed)
        assert await backend.get_job(job.id) == claimed

    @pytest.mark.parametrize(
        "state", [JobState.CANCELED, JobState.CLAIMED, JobState.COMPLETED, JobState.FAILED, JobState.RUNNING]
    )
    async def test_claim_takes_only_waiting_jobs(self, backend: Backend, state: JobState) -> None:
        job = await make_job(backend, state)
        assert await backend.claim(QUEUE, 10, WORKER, LEASE) == []
        assert await backend.get_job(job.id) == job

    async def test_claim_skips_every_state_but_waiting(self, backend: Backend) -> None:
        for state in (
            JobState.CANCELED,
            JobState.CLAIMED,
            JobState.COMPLETED,
            JobState.FAILED,
            JobState.RUNNING,
        ):
            await make_job(backend, state)
        assert await backend.claim(QUEUE, 10, WORKER, LEASE) == []

    async def test_claim_takes_only_the_given_queue(self, backend: Backend) -> None:
        await enqueue_one(backend, "default")
        other = await enqueue_one(backend, "default2")
        claimed = await backend.claim("default2", 2, WORKER, LEASE)
        assert [c.id for c in claimed] == [other.id]
        assert claimed[0].queue == "default2"

    async def test_claim_takes_several_jobs(self, backend: Backend) -> None:
        jobs = await backend.enqueue([new_job(), new_job()])
        claimed = await backend.claim(QUEUE, 10, WORKER, LEASE)
        assert sorted(c.id for c in claimed) == sorted(j.id for j in jobs)
        assert all(c.state == JobState.CLAIMED for c in claimed)

    async def test_claim_from_unknown_queue(self, backend: Backend) -> None:
        await enqueue_one(backend)
        assert await backend.claim("does_not_exist", 10, WORKER, LEASE) == []

    async def test_claim_takes_only_available_jobs(self, backend: Backend) -> None:
        ready = await enqueue_one(backend)
        await enqueue_one(backend, available_at=datetime(2150, 1, 1, tzinfo=UTC))
        await enqueue_one(backend, available_in=3600.0)
        claimed = await backend.claim(QUEUE, 10, WORKER, LEASE)
        assert [c.id for c in claimed] == [ready.id]

    async def test_claim_with_no_jobs(self, backend: Backend) -> None:
        assert await backend.claim(QUEUE, 1, WORKER, LEASE) == []

    async def test_claim_respects_the_limit(self, backend: Backend) -> None:
        await backend.enqueue([new_job() for _ in range(5)])
        assert len(await backend.claim(QUEUE, 1, WORKER, LEASE)) == 1
        assert len(await backend.claim(QUEUE, 3, WORKER, LEASE)) == 3
        assert len(await backend.claim(QUEUE, 3, WORKER, LEASE)) == 1
        assert await backend.claim(QUEUE, 3, WORKER, LEASE) == []
        assert (await backend.count_jobs()).claimed == 5

    async def test_claim_takes_oldest_available_at_then_lowest_id(self, backend: Backend) -> None:
        now = await backend.now()
        ages = [1, 3, 2, 5, 5]
        jobs = await backend.enqueue(
            [new_job(args=(n,), available_at=now - timedelta(seconds=s)) for n, s in enumerate(ages)]
        )
        order = []
        for _ in jobs:
            (claimed,) = await backend.claim(QUEUE, 1, WORKER, LEASE)
            order.append(claimed.args[0])
        assert order == [3, 4, 1, 2, 0]

    async def test_claim_limit_takes_the_oldest(self, backend: Backend) -> None:
        now = await backend.now()
        await backend.enqueue(
            [new_job(args=(s,), available_at=now - timedelta(seconds=s)) for s in (1, 4, 2, 3)]
        )
        claimed = await backend.claim(QUEUE, 2, WORKER, LEASE)
        assert sorted(c.args[0] for c in claimed) == [3, 4]

    async def test_each_claim_gets_a_fresh_lease_token(self, backend: Backend) -> None:
        await backend.enqueue([new_job() for _ in range(3)])
        first = await backend.claim(QUEUE, 3, WORKER, LEASE)
        tokens = {c.lease_token for c in first}
        assert len(tokens) == 3 and None not in tokens
        await apply(backend, first[0].id, release(first[0]))
        (again,) = await backend.claim(QUEUE, 1, "worker-b", LEASE)
        assert again.id == first[0].id
        assert again.lease_token not in tokens
        assert again.claimed_by == "worker-b"

    @pytest.mark.parametrize("lease", [0.5, 12.5, 3600.0])
    async def test_claim_sets_the_lease(self, backend: Backend, lease: float) -> None:
        await enqueue_one(backend)
        (claimed,) = await backend.claim(QUEUE, 1, WORKER, lease)
        assert claimed.claimed_at is not None
        assert near(claimed.lease_expires_at, claimed.claimed_at + timedelta(seconds=lease), 0.002)

    async def test_claim_does_not_need_a_queue_row(self, backend: Backend) -> None:
        job = await enqueue_one(backend, "no-such-queue-row")
        assert await backend.get_queue("no-such-queue-row") is None
        assert [c.id for c in await backend.claim("no-such-queue-row", 1, WORKER, LEASE)] == [job.id]
