"""Registers the ``mysql`` and ``mariadb`` URL schemes (the backend is imported lazily)."""

from sidequest.backend import BackendRegistry, hookimpl


@hookimpl
def sidequest_register_backends(registry: BackendRegistry) -> None:
    registry.register("mysql", "sidequest_mysql.backend:MySQLBackend")
    registry.register("mariadb", "sidequest_mysql.backend:MySQLBackend")
