"""Logging helpers for applications: ``configure_logging`` and the JSON-lines formatter.

sidequest logs through the stdlib ``logging`` module under the ``sidequest`` logger (jobs
log under ``sidequest.job`` with their id, class, attempt and queue as extra fields).
"""

from ._logging import LEVELS, JsonFormatter, configure_logging

__all__ = ["LEVELS", "JsonFormatter", "configure_logging"]
