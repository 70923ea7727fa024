"""``mysql://user:password@host:3306/database?pool_max=10`` → connection options."""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from sidequest import ConfigurationError
from sidequest.backend import mask_url

SCHEMES = ("mysql", "mariadb")
DEFAULT_PORT = 3306
_INTEGER_OPTIONS = {"pool_min": 1, "pool_max": 10}
_FLOAT_OPTIONS = {"connect_timeout": 10.0}
_TEXT_OPTIONS = ("unix_socket", "ssl_ca")
OPTION_NAMES = (*_INTEGER_OPTIONS, *_FLOAT_OPTIONS, *_TEXT_OPTIONS, "ssl")
_TRUE = {"1", "true", "yes", "on", "required"}
_FALSE = {"0", "false", "no", "off", "disabled", ""}


@dataclass(frozen=True)
class MySQLOptions:
    """Everything needed to open connections, parsed once from the URL and keyword options."""

    url: str
    """The URL with its password masked (safe to print)."""
    host: str
    port: int
    user: str
    password: str
    database: str
    pool_min: int = 1
    pool_max: int = 10
    connect_timeout: float = 10.0
    unix_socket: str | None = None
    ssl: ssl.SSLContext | None = None
    """TLS for every connection (``ssl=true`` verifies the server against the system CAs or ``ssl_ca``)."""

    def connect_arguments(self) -> dict[str, Any]:
        """Keyword arguments for ``asyncmy.connect`` / ``asyncmy.create_pool``."""
        arguments: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password,
            "database": self.database,
            "connect_timeout": self.connect_timeout,
        }
        if self.unix_socket:
            arguments["unix_socket"] = self.unix_socket
        if self.ssl is not None:
            arguments["ssl"] = self.ssl
        return arguments


def parse_options(url: str, overrides: Mapping[str, Any]) -> MySQLOptions:
    """Parse ``url``; keyword ``overrides`` (None values ignored) win over its query string."""
    try:
        parts = urlsplit(url)
        port = parts.port or DEFAULT_PORT
    except ValueError as exc:
        raise ConfigurationError(f"invalid MySQL URL {mask_url(url)!r}: {exc}") from None
    if parts.scheme.lower() not in SCHEMES:
        raise ConfigurationError(f"a MySQL URL starts with mysql:// or mariadb://, got {mask_url(url)!r}")
    database = unquote(parts.path.lstrip("/"))
    if not database or "/" in database:
        raise ConfigurationError(
            f"the MySQL URL {mask_url(url)!r} must name one database: mysql://user@host:3306/database"
        )
    values: dict[str, Any] = dict(parse_qsl(parts.query, keep_blank_values=True))
    values.update({key: value for key, value in overrides.items() if value is not None})
    unknown = sorted(set(values) - set(OPTION_NAMES))
    if unknown:
        raise ConfigurationError(
            f"unknown MySQL backend option(s) {', '.join(unknown)}; known: {', '.join(OPTION_NAMES)}"
        )
    options: dict[str, Any] = {}
    for name, default in _INTEGER_OPTIONS.items():
        options[name] = _number(values, name, default, int)
    for name, fallback in _FLOAT_OPTIONS.items():
        options[name] = _number(values, name, fallback, float)
    if options["pool_min"] < 0 or options["pool_max"] < 1 or options["pool_min"] > options["pool_max"]:
        raise ConfigurationError("MySQL pool sizes need 0 <= pool_min <= pool_max and pool_max >= 1")
    if options["connect_timeout"] <= 0:
        raise ConfigurationError("connect_timeout must be a positive number of seconds")
    return MySQLOptions(
        url=mask_url(url),
        host=parts.hostname or "localhost",
        port=port,
        user=unquote(parts.username or "root"),
        password=unquote(parts.password or ""),
        database=database,
        unix_socket=str(values["unix_socket"]) if values.get("unix_socket") else None,
        ssl=_tls(values.get("ssl"), values.get("ssl_ca")),
        **options,
    )


def _tls(value: Any, cafile: Any) -> ssl.SSLContext | None:
    """``ssl=true`` (or an ``ssl_ca`` file) → a verifying context; an ``SSLContext`` is used as is."""
    if isinstance(value, ssl.SSLContext):
        return value
    if isinstance(value, bool):
        enabled = value
    elif value is None:
        enabled = cafile is not None
    elif str(value).lower() in _TRUE:
        enabled = True
    elif str(value).lower() in _FALSE:
        enabled = False
    else:
        raise ConfigurationError(f"ssl must be true or false (or an ssl.SSLContext), got {value!r}")
    if not enabled:
        return None
    try:
        return ssl.create_default_context(cafile=str(cafile) if cafile else None)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(f"cannot use ssl_ca={cafile!r}: {exc}") from None


def _number(values: Mapping[str, Any], name: str, default: Any, kind: type) -> Any:
    raw = values.get(name)
    if raw is None:
        return default
    if isinstance(raw, bool):
        raise ConfigurationError(f"{name} must be a number, got {raw!r}")
    try:
        return kind(raw)
    except (TypeError, ValueError):
        raise ConfigurationError(f"{name} must be a number, got {raw!r}") from None
