"""``sqlite://`` URLs: a file path (relative or absolute) or ``:memory:``."""

from __future__ import annotations

import os
from urllib.parse import unquote

from attrs import frozen
from sidequest import ConfigurationError

MEMORY = ":memory:"
_FORMS = (
    "use sqlite:///relative/path.db (relative to the working directory), "
    "sqlite:////absolute/path.db or sqlite://:memory:"
)


@frozen
class Target:
    """Where the database lives: an absolute file path, or None for a private in-memory one."""

    path: str | None

    @property
    def memory(self) -> bool:
        return self.path is None


def parse_url(url: str) -> Target:
    """Parse a ``sqlite://`` URL; anything else raises ``ConfigurationError``."""
    if not isinstance(url, str):
        raise ConfigurationError(f"SQLite backend URL must be a string, got {url!r}")
    scheme, sep, rest = url.partition("://")
    if scheme.lower() != "sqlite" or not sep:
        raise ConfigurationError(f"not a SQLite URL: {url!r}; {_FORMS}")
    if "?" in rest or "#" in rest:
        raise ConfigurationError(
            f"SQLite URL {url!r} has a query or fragment; pass options as "
            "Sidequest(backend_options={...}) instead"
        )
    if rest in (MEMORY, "/" + MEMORY):
        return Target(None)
    if not rest.startswith("/"):
        host = rest.split("/", 1)[0]
        raise ConfigurationError(
            f"SQLite URL {url!r} names a host ({host!r}); SQLite files are local: {_FORMS}"
        )
    path = unquote(rest[1:])
    if not path or path.endswith("/"):
        raise ConfigurationError(f"SQLite URL {url!r} names no database file; {_FORMS}")
    if "\x00" in path:
        raise ConfigurationError(f"SQLite URL {url!r} contains a NUL character")
    return Target(os.path.abspath(path))
