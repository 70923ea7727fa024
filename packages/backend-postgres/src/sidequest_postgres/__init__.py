"""PostgreSQL backend for sidequest: ``Sidequest("postgresql://user@host/db?schema=jobs")``.

``PostgresBackend`` is imported lazily, so loading the plugin at start-up stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .backend import PostgresBackend

__all__ = ["PostgresBackend"]


def __getattr__(name: str) -> Any:
    if name == "PostgresBackend":
        from .backend import PostgresBackend

        return PostgresBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
