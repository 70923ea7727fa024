"""Registers ``dictdb://``. Keep this module tiny: sidequest imports it at start-up."""

from sidequest.backend import BackendRegistry, hookimpl


@hookimpl
def sidequest_register_backends(registry: BackendRegistry) -> None:
    registry.register("dictdb", "sidequest_dictdb.backend:DictDBBackend")
