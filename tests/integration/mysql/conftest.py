"""Fixtures for the MySQL/MariaDB tests: a fresh database per test, dropped afterwards.

The server is named by ``SIDEQUEST_TEST_MYSQL_URL``; without it (or when it is unreachable)
the tests skip, unless ``SIDEQUEST_REQUIRE_MYSQL`` is set: then they fail, and so does a run
in which no MySQL test passed. Without ``sidequest-mysql`` installed nothing here is collected.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from sidequest_mysql.backend import MySQLBackend

REQUIRE_ENV = "SIDEQUEST_REQUIRE_MYSQL"

if importlib.util.find_spec("sidequest_mysql") is None:
    if os.environ.get(REQUIRE_ENV):
        raise RuntimeError(f"{REQUIRE_ENV} is set but sidequest-mysql is not installed")
    collect_ignore_glob = ["test_mysql_*.py"]


@pytest.fixture
def mysql_url() -> str:
    from mysql_support import mysql_url_or_skip

    return mysql_url_or_skip()


@pytest.fixture
async def database(mysql_url: str) -> AsyncIterator[str]:
    """A fresh, empty database's name (dropped with everything in it afterwards)."""
    from mysql_support import create_database, drop_database, new_database

    name = new_database()
    await create_database(mysql_url, name)
    try:
        yield name
    finally:
        await drop_database(mysql_url, name)


@pytest.fixture
def database_url(mysql_url: str, database: str) -> str:
    from mysql_support import with_database

    return with_database(mysql_url, database)


@pytest.fixture
async def backend(database_url: str) -> AsyncIterator[MySQLBackend]:
    """A migrated backend on a fresh database (small pool: the server is shared)."""
    from sidequest_mysql.backend import MySQLBackend

    mysql = MySQLBackend(database_url, pool_max=4)
    await mysql.migrate()
    try:
        yield mysql
    finally:
        await mysql.close()


_passed = 0


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "mysql_server: needs the MySQL/MariaDB server named by SIDEQUEST_TEST_MYSQL_URL"
    )


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    global _passed
    if report.when == "call" and report.passed and "mysql_server" in report.keywords:
        _passed += 1


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """With ``SIDEQUEST_REQUIRE_MYSQL`` set, a run in which no MySQL test passed fails."""
    if os.environ.get(REQUIRE_ENV) and _passed == 0 and exitstatus == 0 and session.testscollected:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        print(f"\n{REQUIRE_ENV} is set but no MySQL test passed: failing the run")
