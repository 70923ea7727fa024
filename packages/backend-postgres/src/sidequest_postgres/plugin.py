"""Registers the ``postgresql`` and ``postgres`` URL schemes (the backend is imported lazily)."""

from sidequest.backend import BackendRegistry, hookimpl


@hookimpl
def sidequest_register_backends(registry: BackendRegistry) -> None:
    registry.register("postgresql", "sidequest_postgres.backend:PostgresBackend")
    registry.register("postgres", "sidequest_postgres.backend:PostgresBackend")
