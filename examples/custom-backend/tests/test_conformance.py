"""The engine's conformance suite against DictDBBackend."""

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sidequest import ConfigurationError
from sidequest.backend import Backend
from sidequest.testing import BackendConformance
from sidequest_dictdb.backend import DictDBBackend


class TestDictDB(BackendConformance):
    @pytest_asyncio.fixture
    async def backend(self) -> AsyncIterator[Backend]:
        backend = DictDBBackend("dictdb://")
        await backend.migrate()
        try:
            yield backend
        finally:
            await backend.truncate()
            await backend.close()


def test_refuses_other_schemes() -> None:
    with pytest.raises(ConfigurationError, match="dictdb://"):
        DictDBBackend("postgresql://x")
