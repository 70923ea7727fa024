"""``BackendConformance``: every test a backend must pass. Subclass it and override ``backend``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from sidequest.backend import Backend, create_backend


class BackendConformance:
    """Base class of the conformance suite.

    Override the ``backend`` fixture to yield a migrated, empty backend; the default
    builds one from ``--sidequest-backend-url``.
    """

    @pytest.fixture
    async def backend(self, sidequest_backend_url: str) -> AsyncIterator[Backend]:
        backend = create_backend(sidequest_backend_url)
        await backend.migrate()
        await backend.truncate()
        try:
            yield backend
        finally:
            await backend.truncate()
            await backend.close()
