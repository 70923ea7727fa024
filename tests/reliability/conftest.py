"""Fixtures for the fault tests: a fresh database per test (SQLite file, PostgreSQL schema)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1]))

from backends import backend_url, postgres_url_or_skip
from sidequest import Sidequest
from soak_support import cluster_unavailable, own_cluster


@pytest.fixture(params=["sqlite", "postgres"])
async def url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    async with backend_url(request.param, tmp_path) as value:
        yield value


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    path = tmp_path / "ledger"
    path.mkdir()
    return path


@pytest.fixture
async def client(url: str) -> AsyncIterator[Sidequest]:
    """A configure-only engine: enqueues and inspects, never runs jobs."""
    sq = Sidequest(url)
    await sq.configure()
    try:
        yield sq
    finally:
        await sq.close()


@pytest.fixture(autouse=True)
def no_leftover_workers() -> Iterator[None]:
    """Kill the worker processes a test started and did not stop (e.g. after a failed assert)."""
    from harness import kill_leftovers

    yield
    kill_leftovers()


@pytest.fixture(scope="module")
def pg_base() -> Iterator[str]:
    """The soak tests' PostgreSQL: a cluster of their own when one can be made, else the test server."""
    if cluster_unavailable() is not None:
        yield postgres_url_or_skip()
        return
    with own_cluster() as cluster:
        yield cluster.url
