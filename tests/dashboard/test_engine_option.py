"""``Sidequest(dashboard=...)`` starts the dashboard with the engine and stops it with it."""

from __future__ import annotations

import httpx
import pytest
from sidequest import ConfigurationError, Sidequest


async def test_dashboard_starts_and_stops_with_the_engine() -> None:
    sq = Sidequest("memory://", dashboard={"port": 0})
    await sq.start()
    try:
        url = sq.dashboard.url
        async with httpx.AsyncClient() as client:
            page = await client.get(url)
        assert page.status_code == 200
        assert "sidequest" in page.text.lower()
    finally:
        await sq.close()
    assert sq.dashboard is None
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as client:
            await client.get(url)


async def test_dashboard_refuses_a_public_address_without_auth() -> None:
    sq = Sidequest("memory://", dashboard={"host": "0.0.0.0", "port": 0})
    with pytest.raises(ConfigurationError, match="auth"):
        await sq.start()
    assert not sq.started, "a failed start leaves nothing running"
    await sq.close()


def test_dashboard_option_is_validated() -> None:
    with pytest.raises(ConfigurationError, match="dashboard"):
        Sidequest("memory://", dashboard="yes")  # type: ignore[arg-type]
