"""``BackendConformance``: every test a backend must pass. Subclass it and override ``backend``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from sidequest.backend import Backend, create_backend

from ._claim import ClaimTests
from ._cleanup import CleanupTests
from ._counts import CountTests, EstimateTests, QueueCountTests
from ._fast_path import FastPathTests
from ._filters import FilterTests
from ._jobs import JobTests
from ._listing import ListingTests
from ._liveness import LivenessTests
from ._operations import OperationTests
from ._over_time import OverTimeTests
from ._payloads import PayloadTests
from ._queues import QueueTests
from ._races import RaceTests
from ._schedules import ScheduleTests
from ._transitions import TransitionTests
from ._uniqueness import UniquenessTests
from ._wakeup import WakeupTests


class BackendConformance(
    JobTests,
    PayloadTests,
    ClaimTests,
    TransitionTests,
    OperationTests,
    UniquenessTests,
    LivenessTests,
    RaceTests,
    QueueTests,
    ListingTests,
    FilterTests,
    CountTests,
    QueueCountTests,
    EstimateTests,
    OverTimeTests,
    CleanupTests,
    ScheduleTests,
    WakeupTests,
    FastPathTests,
):
    """Base class of the conformance suite.

    Override the ``backend`` fixture to yield a migrated, empty backend; the default
    builds one from ``--sidequest-backend-url``. Every "now" is the database's clock, so
    the tests create real situations (past and future ``available_at``, short sleeps,
    leases of zero seconds) instead of freezing time. The tests are ``async``: run them
    with pytest-asyncio, in its strict or auto mode.
    """

    pytestmark = pytest.mark.asyncio  # runs in pytest-asyncio's strict mode as well as auto

    @pytest_asyncio.fixture
    async def backend(self, sidequest_backend_url: str) -> AsyncIterator[Backend]:
        backend = create_backend(sidequest_backend_url)
        await backend.migrate()
        await backend.truncate()
        try:
            yield backend
        finally:
            await backend.truncate()
            await backend.close()
