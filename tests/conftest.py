"""Shared fixtures: backend URLs for the real databases."""

from __future__ import annotations

import os

import pytest

POSTGRES_ENV = "SIDEQUEST_TEST_POSTGRES_URL"
REQUIRE_ENV = "SIDEQUEST_REQUIRE_POSTGRES"


def postgres_url_or_skip() -> str:
    """The test server's URL; skips (or fails, when PostgreSQL is required) without one."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        if os.environ.get(REQUIRE_ENV):
            pytest.fail(f"{POSTGRES_ENV} is not set but {REQUIRE_ENV} says PostgreSQL tests must run")
        pytest.skip(f"set {POSTGRES_ENV} to run PostgreSQL tests")
    return url


@pytest.fixture
def postgres_url() -> str:
    return postgres_url_or_skip()
