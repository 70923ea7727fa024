"""MySQL / MariaDB backend for sidequest: ``Sidequest("mysql://user@host:3306/db")``.

``MySQLBackend`` is imported lazily, so loading the plugin at start-up stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .backend import MySQLBackend

__all__ = ["MySQLBackend"]


def __getattr__(name: str) -> Any:
    if name == "MySQLBackend":
        from .backend import MySQLBackend

        return MySQLBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
