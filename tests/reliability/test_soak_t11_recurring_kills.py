"""T11 recurring jobs across nodes: 5 engine processes share schedules firing every second,
one process is SIGKILLed (and restarted) every ~10 s, then every process is down for 10 s.

Pass: exactly one job per tick while any node is alive (0 duplicates, 0 missing ticks) and,
for the outage, what the catch-up policy prescribes: ``latest`` one job standing for all the
missed ticks, ``all`` one job for each of them.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import time
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path

import pytest
from harness import all_jobs
from sidequest import JobState
from soak_jobs import real_time
from soak_support import (
    SoakWorker,
    report,
    soak_database,
    stop_all,
    verify,
    wait_terminal,
)

pytestmark = [pytest.mark.soak, pytest.mark.slow]

NODES = 5
RUN = 60.0
OUTAGE = 10.0
AFTER = 15.0
SCHEDULES = [
    {"cron": "* * * * * *", "name": "every-second-latest", "catch_up": "latest"},
    {"cron": "* * * * * *", "name": "every-second-all", "catch_up": "all"},
]


def gaps(ticks: list[float]) -> list[tuple[float, float]]:
    """(previous, next) for every step between consecutive ticks that is not one second."""
    return [(a, b) for a, b in itertools.pairwise(ticks) if abs(b - a - 1.0) > 1e-6]


@pytest.mark.timeout(600)
@pytest.mark.parametrize("kind", ["postgres", "sqlite"])
async def test_t11_one_job_per_tick_across_killed_nodes(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path, ledger: Path
) -> None:
    base = request.getfixturevalue("pg_base") if kind == "postgres" else None
    seed = int(os.environ.get("SIDEQUEST_SOAK_SEED", time.time_ns() % 2**32))
    rng = random.Random(seed)

    def node(index: int) -> SoakWorker:
        return SoakWorker(db.url, 4, ledger, name=f"node{index}", schedules=SCHEDULES)

    async with soak_database(kind, tmp_path, base) as (db, client):
        nodes = [await node(i).start() for i in range(NODES)]
        began = real_time()
        kills: list[float] = []
        while real_time() - began < RUN - 10:
            await asyncio.sleep(rng.uniform(8, 12))
            index = rng.randrange(NODES)
            kills.append(nodes[index].kill())
            await nodes[index].wait()
            nodes[index] = await node(index).start()
        await asyncio.sleep(max(0.0, RUN - (real_time() - began)))
        down_at = real_time()
        for each in nodes:
            each.kill()
        for each in nodes:
            await each.wait()
        await asyncio.sleep(OUTAGE)
        up_at = real_time()
        nodes = [await node(i).start() for i in range(NODES)]
        await asyncio.sleep(AFTER)
        for item in SCHEDULES:
            await client.schedules.pause(str(item["name"]))
        paused_at = real_time()
        stored_ids = list(await all_jobs(client))
        await wait_terminal(client, stored_ids, 60)
        stats = await stop_all(nodes)
        verdict = await verify(client, db, stored_ids, ledger)

        ticks: dict[str, list[float]] = defaultdict(list)
        for job in verdict.stored.values():
            config = job.uniqueness_config or {}
            ticks[str(config["schedule"])].append(datetime.fromisoformat(str(config["fire_at"])).timestamp())
        duplicates = {name: [t for t, n in Counter(found).items() if n > 1] for name, found in ticks.items()}
        for found in ticks.values():
            found.sort()
        latest, every = ticks["every-second-latest"], ticks["every-second-all"]
        figures = {
            "seed": seed,
            "nodes": NODES,
            "single_kills": len(kills),
            "jobs_latest": len(latest),
            "jobs_all": len(every),
            "duplicates": {name: len(found) for name, found in duplicates.items()},
            "gaps_latest": [(round(a - began, 1), round(b - a, 1)) for a, b in gaps(latest)],
            "gaps_all": [(round(a - began, 1), round(b - a, 1)) for a, b in gaps(every)],
            "outage": (round(down_at - began, 1), round(up_at - down_at, 1)),
            "tick_jobs_completed": sum(1 for j in verdict.stored.values() if j.state == JobState.COMPLETED),
        }
        report(f"T11 recurring jobs across killed nodes ({kind})", figures)
        assert [s["returncode"] for s in stats] == [0] * NODES
        assert not any(duplicates.values()), f"ticks enqueued twice: {duplicates}"
        # ``all``: every tick from the first to the pause has its job, the outage's included
        assert not gaps(every), f"catch_up='all' missed ticks: {gaps(every)}"
        assert every[0] <= began + 2 and every[-1] >= paused_at - 2
        # ``latest``: one tick per second while a node was up; one job for the whole outage
        outage_gaps = gaps(latest)
        assert len(outage_gaps) == 1, (
            f"catch_up='latest': ticks missing while nodes were alive: {outage_gaps}"
        )
        last_before, first_after = outage_gaps[0]
        assert down_at - 2 <= last_before <= down_at, "the gap is not the outage"
        assert up_at - 1 <= first_after <= up_at + 5, (
            "the outage's catch-up job is not the latest missed tick"
        )
        assert latest[0] <= began + 2 and latest[-1] >= paused_at - 2
