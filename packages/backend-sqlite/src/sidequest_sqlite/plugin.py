"""Registers the ``sqlite`` URL scheme (kept tiny: the backend is imported lazily)."""

from sidequest.backend import BackendRegistry, hookimpl


@hookimpl
def sidequest_register_backends(registry: BackendRegistry) -> None:
    registry.register("sqlite", "sidequest_sqlite.backend:SQLiteBackend")
