"""pytest plugin (auto-loaded through the ``pytest11`` entry point)."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sidequest")
    group.addoption(
        "--sidequest-backend-url",
        action="store",
        default=None,
        help="backend URL the sidequest conformance suite runs against (default memory://)",
    )


@pytest.fixture
def sidequest_backend_url(request: pytest.FixtureRequest) -> str:
    """The URL given with ``--sidequest-backend-url`` (``memory://`` when absent)."""
    return str(request.config.getoption("--sidequest-backend-url") or "memory://")

