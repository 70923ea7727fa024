"""Testing helpers: the backend conformance suite and a pytest plugin.

Subclass :class:`BackendConformance` and override its ``backend`` fixture, or run
``pytest --pyargs sidequest.testing.conformance --sidequest-backend-url=URL``.
"""

from .conformance.base import BackendConformance

__all__ = ["BackendConformance"]
