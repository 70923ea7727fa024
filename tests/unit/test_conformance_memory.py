"""The backend conformance suite (``sidequest.testing``) against the memory backend."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator

import pytest
from sidequest.backend import Backend, MemoryBackend
from sidequest.testing import BackendConformance


class TestMemoryConformance(BackendConformance):
    """Every conformance test against a fresh ``MemoryBackend``."""

    @pytest.fixture
    async def backend(self) -> AsyncIterator[Backend]:
        backend = MemoryBackend()
        await backend.migrate()
        try:
            yield backend
        finally:
            await backend.close()


def test_no_conformance_test_shadows_another() -> None:
    """Two mixins defining the same test name would silently drop one of the tests."""
    names = Counter(
        name for mixin in BackendConformance.__mro__[1:] for name in vars(mixin) if name.startswith("test_")
    )
    assert [name for name, count in names.items() if count > 1] == []
