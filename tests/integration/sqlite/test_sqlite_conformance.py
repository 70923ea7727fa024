"""The backend conformance suite on SQLite: a fresh temporary file, and ``:memory:``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sidequest.backend import Backend
from sidequest.testing import BackendConformance
from sidequest_sqlite import SQLiteBackend


class TestSQLiteConformance(BackendConformance):
    """Every conformance test against a new SQLite file (WAL mode)."""

    @pytest.fixture
    async def backend(self, tmp_path: Path) -> AsyncIterator[Backend]:
        backend = SQLiteBackend(f"sqlite:///{tmp_path / 'conformance.sqlite3'}")
        await backend.migrate()
        await backend.truncate()
        try:
            yield backend
        finally:
            await backend.truncate()
            await backend.close()


class TestSQLiteMemoryConformance(BackendConformance):
    """Every conformance test against a private in-memory database."""

    @pytest.fixture
    async def backend(self) -> AsyncIterator[Backend]:
        backend = SQLiteBackend("sqlite://:memory:")
        await backend.migrate()
        try:
            yield backend
        finally:
            await backend.close()
