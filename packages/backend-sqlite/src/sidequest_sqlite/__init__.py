"""SQLite backend for sidequest: ``Sidequest("sqlite:///jobs.sqlite3")``.

``SQLiteBackend`` is imported lazily so that the plugin entry point stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .backend import SQLiteBackend

__all__ = ["SQLiteBackend"]


def __getattr__(name: str) -> Any:
    if name == "SQLiteBackend":
        from .backend import SQLiteBackend

        return SQLiteBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
