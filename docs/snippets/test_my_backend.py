"""test_my_backend.py: run the conformance suite against your backend (pytest + pytest-asyncio)."""

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from backend_plugin import MyBackend
from sidequest.backend import Backend
from sidequest.testing import BackendConformance


class TestMyBackend(BackendConformance):
    """Every conformance test, run against a fresh MyBackend."""

    @pytest_asyncio.fixture
    async def backend(self) -> AsyncIterator[Backend]:
        backend = MyBackend("mydb://test")
        await backend.migrate()
        try:
            yield backend
        finally:
            await backend.truncate()
            await backend.close()


@pytest.mark.asyncio
async def test_my_backend_speaks_the_protocol() -> None:
    backend = MyBackend("mydb://test")
    assert isinstance(backend, Backend)
    assert backend.url == "mydb://test"
