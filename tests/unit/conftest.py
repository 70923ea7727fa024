"""Fixtures shared by the unit tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sample_jobs


@pytest.fixture
def tracked() -> Iterator[None]:
    """``sample_jobs.Tracked``'s records, empty before and after the test."""
    sample_jobs.Tracked.reset()
    yield
    sample_jobs.Tracked.reset()
