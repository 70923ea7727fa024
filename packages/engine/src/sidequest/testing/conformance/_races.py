"""Concurrency: racing claimers, enqueuers, releasers and writers never double anything."""

from __future__ import annotations

import asyncio
import random
from typing import Any

from sidequest import DuplicateJobError
from sidequest._transitions import CANCEL, complete
from sidequest.backend import Backend, JobRecord, JobState

from ._fixtures import QUEUE, make_job, new_job, tick

CLAIMERS = 8
RACE_JOBS = 1000


class RaceTests:
    """Every state change is one atomic statement, so concurrent callers cannot both win."""

    async def test_racing_claimers_claim_every_job_exactly_once(self, backend: Backend) -> None:
        jobs = await backend.enqueue([new_job("race", args=(n,)) for n in range(RACE_JOBS)])
        seed = random.Random(1234)
        limits = [[seed.randint(1, 20) for _ in range(RACE_JOBS)] for _ in range(CLAIMERS)]

        async def claimer(worker: int) -> list[JobRecord]:
            taken: list[JobRecord] = []
            for limit in limits[worker]:
                batch = await backend.claim("race", limit, f"worker-{worker}", 60.0)
                if not batch:
                    break
                taken += batch
            return taken

        results = await asyncio.gather(*(claimer(w) for w in range(CLAIMERS)))
        ids = [job.id for taken in results for job in taken]
        assert len(ids) == len(set(ids)), "a job was claimed twice"
        assert sorted(ids) == sorted(j.id for j in jobs)
        tokens = [job.lease_token for taken in results for job in taken]
        assert len(set(tokens)) == RACE_JOBS
        for worker, taken in enumerate(results):
            assert all(job.claimed_by == f"worker-{worker}" for job in taken)
        counts = await backend.count_jobs()
        assert (counts.claimed, counts.waiting) == (RACE_JOBS, 0)

    async def test_racing_enqueues_store_one_unique_job(self, backend: Backend) -> None:
        config = {"type": "alive-job", "with_args": False}

        async def enqueue() -> Any:
            return await backend.enqueue([new_job(unique_digest="race", uniqueness_config=config)])

        outcomes = await asyncio.gather(*(enqueue() for _ in range(50)), return_exceptions=True)
        stored = [o[0] for o in outcomes if isinstance(o, list)]
        refused = [o for o in outcomes if isinstance(o, DuplicateJobError)]
        assert len(stored) == 1 and len(refused) == 49, outcomes
        assert all(error.existing_id == stored[0].id for error in refused)
        assert (await backend.count_jobs()).total == 1

    async def test_racing_enqueues_with_skip_duplicates(self, backend: Backend) -> None:
        outcomes = await asyncio.gather(
            *(backend.enqueue([new_job(unique_digest="skip")], skip_duplicates=True) for _ in range(20))
        )
        assert sorted(len(o) for o in outcomes) == [0] * 19 + [1]
        assert (await backend.count_jobs()).total == 1

    async def test_racing_releases_take_each_job_once(self, backend: Backend) -> None:
        await backend.enqueue([new_job() for _ in range(20)])
        assert len(await backend.claim(QUEUE, 20, "worker", 0.0)) == 20
        await tick()
        outcomes = await asyncio.gather(*(backend.release_expired() for _ in range(4)))
        ids = [job.id for released in outcomes for job in released]
        assert len(ids) == 20 and len(set(ids)) == 20
        assert (await backend.count_jobs()).waiting == 20

    async def test_racing_completes_only_one_wins(self, backend: Backend) -> None:
        running = await make_job(backend, JobState.RUNNING)
        outcomes = await asyncio.gather(
            *(backend.transition(running.id, complete(running, n)) for n in range(10))
        )
        winners = [o for o in outcomes if o is not None]
        assert len(winners) == 1
        assert await backend.get_job(running.id) == winners[0]

    async def test_cancel_racing_complete_only_one_wins(self, backend: Backend) -> None:
        running = await make_job(backend, JobState.RUNNING)
        cancel, done = await asyncio.gather(
            backend.transition(running.id, CANCEL),
            backend.transition(running.id, complete(running, "done")),
        )
        assert (cancel is None) != (done is None)
        final = await backend.get_job(running.id)
        assert final == (cancel or done)
        assert final is not None and final.state in (JobState.CANCELED, JobState.COMPLETED)
