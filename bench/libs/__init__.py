"""Library adapters, by key."""

from __future__ import annotations

import importlib

from .base import Adapter

ADAPTERS = {
    "sidequest-pg": ("bench.libs.sidequest_pg", "SidequestPostgres"),
    "sidequest-sqlite": ("bench.libs.sidequest_sqlite", "SidequestSqlite"),
    "sidequest-mysql": ("bench.libs.sidequest_mysql", "SidequestMysql"),
    "pgqueuer": ("bench.libs.pgqueuer_lib", "PgQueuerAdapter"),
    "procrastinate": ("bench.libs.procrastinate_lib", "ProcrastinateAdapter"),
    "huey": ("bench.libs.huey_lib", "HueyAdapter"),
}
LIBS = tuple(ADAPTERS)


def get_adapter(key: str) -> type[Adapter]:
    """The adapter class (its library is imported only now)."""
    module, name = ADAPTERS[key]
    cls: type[Adapter] = getattr(importlib.import_module(module), name)
    return cls
