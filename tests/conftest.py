"""Shared fixtures: backend URLs for the real databases."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from backends import postgres_url_or_skip


@pytest.fixture
def postgres_url() -> str:
    return postgres_url_or_skip()
