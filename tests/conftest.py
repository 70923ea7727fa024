"""Shared fixtures: backend URLs for the real databases; PostgreSQL required in CI."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from backends import REQUIRE_ENV, postgres_url_or_skip


@pytest.fixture
def postgres_url() -> str:
    return postgres_url_or_skip()


_postgres_passed = 0


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    global _postgres_passed
    is_postgres = "postgres" in report.nodeid or "/test_pg_" in report.nodeid
    if report.when == "call" and report.passed and is_postgres:
        _postgres_passed += 1


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """With SIDEQUEST_REQUIRE_POSTGRES set, a run in which no PostgreSQL test passed fails."""
    if os.environ.get(REQUIRE_ENV) and _postgres_passed == 0 and exitstatus == 0 and session.testscollected:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        print(f"\n{REQUIRE_ENV} is set but no PostgreSQL test passed: failing the run")
