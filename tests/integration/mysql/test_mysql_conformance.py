"""The backend conformance suite (``sidequest.testing``) against MySQL/MariaDB.

One database per test class (migrated once), emptied before every test; a second class
runs the whole suite on the code path for servers without ``INSERT … RETURNING`` (MySQL).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from mysql_support import create_database, drop_database, mysql_url_or_skip, new_database, with_database
from sidequest.backend import Backend
from sidequest.testing import BackendConformance
from sidequest_mysql.backend import MySQLBackend

pytestmark = pytest.mark.mysql_server


async def _prepare(url: str, database: str) -> None:
    await create_database(url, database)
    backend = MySQLBackend(with_database(url, database))
    try:
        await backend.migrate()
    finally:
        await backend.close()


@pytest.fixture(scope="class")
def class_database_url() -> Iterator[str]:
    """A database migrated once for the whole class (its own event loop: sync fixture)."""
    url = mysql_url_or_skip()
    name = new_database()
    asyncio.run(_prepare(url, name))
    try:
        yield with_database(url, name)
    finally:
        asyncio.run(drop_database(url, name))


class TestMySQLConformance(BackendConformance):
    returning: bool | None = None

    @pytest_asyncio.fixture
    async def backend(self, class_database_url: str) -> AsyncIterator[Backend]:
        mysql = MySQLBackend(class_database_url, pool_max=10, returning=self.returning)
        try:
            await mysql.truncate()
            yield mysql
        finally:
            await mysql.close()


class TestMySQLConformanceWithoutReturning(TestMySQLConformance):
    """Row-by-row inserts read back by id: what runs on MySQL 8, which has no RETURNING."""

    returning = False
