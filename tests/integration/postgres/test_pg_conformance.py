"""The backend conformance suite (``sidequest.testing``) against PostgreSQL, one schema per test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pg_support import drop_schema, new_schema, with_schema
from sidequest.backend import Backend
from sidequest.testing import BackendConformance
from sidequest_postgres.backend import PostgresBackend

pytestmark = pytest.mark.postgres


class TestPostgresConformance(BackendConformance):
    @pytest.fixture
    async def backend(self, postgres_url: str) -> AsyncIterator[Backend]:
        schema = new_schema()
        pg = PostgresBackend(with_schema(postgres_url, schema), pool_max=4)
        try:
            await pg.migrate()
            yield pg
        finally:
            await pg.close()
            await drop_schema(postgres_url, schema)
