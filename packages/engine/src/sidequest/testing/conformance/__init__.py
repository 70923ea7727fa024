"""The backend conformance suite (run with ``pytest --pyargs sidequest.testing.conformance``)."""
