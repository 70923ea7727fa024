"""Fixtures for the dashboard route tests: an engine per backend, the app and an HTTP client."""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sidequest import JobRecord, Sidequest
from sidequest_dashboard import create_app

from .dashboard_seed import seed

HAVE_SQLITE = importlib.util.find_spec("sidequest_sqlite.backend") is not None


@pytest.fixture(params=["memory", "sqlite"])
async def sq(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Sidequest]:
    """A configured engine on each backend (SQLite once ``sidequest_sqlite.backend`` exists)."""
    if request.param == "sqlite" and not HAVE_SQLITE:
        pytest.skip("the SQLite backend (sidequest_sqlite.backend) is not available yet")
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
    engine = Sidequest(url)
    await engine.configure()
    try:
        yield engine
    finally:
        await engine.close()


@pytest.fixture
async def memory_sq() -> AsyncIterator[Sidequest]:
    engine = Sidequest("memory://")
    await engine.configure()
    try:
        yield engine
    finally:
        await engine.close()


@pytest.fixture
async def jobs(sq: Sidequest) -> dict[str, JobRecord]:
    return await seed(sq)


def client_for(app: Any, **kw: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver", follow_redirects=False, **kw
    )


@pytest.fixture
async def client(sq: Sidequest) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(create_app(sq)) as http:
        yield http
