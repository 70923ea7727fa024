"""Entry for ``pytest --pyargs sidequest.testing.conformance --sidequest-backend-url=URL``."""

from sidequest.testing import BackendConformance


class TestBackendConformance(BackendConformance):
    """The whole suite against the backend named on the command line."""
