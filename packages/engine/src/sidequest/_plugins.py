"""Backend plugins: pluggy hooks, entry-point discovery and the URL-scheme registry."""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
from collections.abc import Callable
from typing import Any, cast
from urllib.parse import urlsplit

import pluggy
from attrs import frozen

from ._backend import Backend
from ._errors import BackendNotFoundError, ConfigurationError

PROJECT = "sidequest"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

BackendFactory = Callable[..., Backend]


@frozen
class BackendEntry:
    """One registered URL scheme."""

    scheme: str
    factory: str | BackendFactory
    """A callable ``(url, **options) -> Backend`` or its ``"module:attribute"`` path (lazy)."""
    distribution: str
    version: str

    def load(self) -> BackendFactory:
        if not isinstance(self.factory, str):
            return self.factory
        module, _, attribute = self.factory.partition(":")
        return cast(BackendFactory, getattr(importlib.import_module(module), attribute))


class BackendRegistry:
    """Maps URL schemes to backend factories; plugins fill it through the hook."""

    def __init__(self) -> None:
        self._entries: dict[str, BackendEntry] = {}
        self._distribution = "unknown"

    def register(
        self, scheme: str, factory: str | BackendFactory, *, distribution: str | None = None
    ) -> None:
        """Serve URLs of ``scheme`` with ``factory`` (a callable or ``"module:attr"``)."""
        dist = distribution or self._distribution
        self._entries[scheme.lower()] = BackendEntry(scheme.lower(), factory, dist, _version(dist))

    def entries(self) -> list[BackendEntry]:
        return sorted(self._entries.values(), key=lambda e: e.scheme)

    def create(self, url: str, **options: Any) -> Backend:
        """Build the backend for ``url``; unknown schemes raise ``BackendNotFoundError``."""
        scheme = urlsplit(url).scheme.lower() if "://" in url else ""
        if not scheme:
            raise ConfigurationError(
                f"backend URL {url!r} has no scheme; use e.g. sqlite:///sidequest.sqlite3, "
                "postgresql://user@host/db or memory://"
            )
        entry = self._entries.get(scheme)
        if entry is None:
            raise BackendNotFoundError(scheme, list(self._entries))
        return entry.load()(url, **options)


class BackendSpec:
    """The hook a backend plugin implements."""

    @hookspec
    def sidequest_register_backends(self, registry: BackendRegistry) -> None:
        """Register URL schemes with ``registry.register(scheme, factory)``."""


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


_registry: BackendRegistry | None = None


def registry() -> BackendRegistry:
    """The process-wide registry: built-ins plus every installed ``sidequest`` entry point."""
    global _registry
    if _registry is None:
        built = BackendRegistry()
        built.register("memory", "sidequest._memory:MemoryBackend", distribution="sidequest")
        manager = pluggy.PluginManager(PROJECT)
        manager.add_hookspecs(BackendSpec)
        for dist in importlib.metadata.distributions():
            for ep in dist.entry_points:
                if ep.group == PROJECT:
                    _register_plugin(manager, built, dist.metadata["Name"] or ep.name, ep)
        _registry = built
    return _registry


def _register_plugin(
    manager: pluggy.PluginManager,
    built: BackendRegistry,
    distribution: str,
    ep: importlib.metadata.EntryPoint,
) -> None:
    try:
        plugin = ep.load()
    except Exception as exc:  # a broken plugin must not hide the others
        logging.getLogger("sidequest").warning(
            "could not load sidequest plugin %r from %s: %s", ep.name, distribution, exc
        )
        return
    if manager.is_registered(plugin):
        return
    manager.register(plugin, name=f"{distribution}:{ep.name}")
    others = [p for p in manager.get_plugins() if p is not plugin]
    built._distribution = distribution
    manager.subset_hook_caller("sidequest_register_backends", others)(registry=built)


def create_backend(url: str, **options: Any) -> Backend:
    """Build a backend from its URL through the registry."""
    return registry().create(url, **options)
