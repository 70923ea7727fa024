"""Options of the PostgreSQL backend: parsed from the URL, overridden by keyword arguments."""

from __future__ import annotations

import hashlib
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from attrs import frozen
from sidequest import ConfigurationError
from sidequest.backend import mask_url

SCHEMES = frozenset({"postgresql", "postgres"})
DEFAULT_SCHEMA = "sidequest"
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_MAX_CHANNEL = 63

OWN_PARAMETERS = frozenset(
    {"schema", "pool_min", "pool_max", "notify", "statement_cache_size", "connect_timeout"}
)
"""Query parameters read by sidequest (removed before the URL reaches asyncpg)."""

DRIVER_PARAMETERS = frozenset(
    {
        "host",
        "port",
        "user",
        "password",
        "dbname",
        "database",
        "passfile",
        "service",
        "sslmode",
        "sslcert",
        "sslkey",
        "sslrootcert",
        "sslcrl",
        "sslpassword",
        "sslnegotiation",
        "ssl_min_protocol_version",
        "ssl_max_protocol_version",
        "target_session_attrs",
        "krbsrvname",
        "gsslib",
        "application_name",
    }
)
"""Query parameters passed through to asyncpg (libpq connection parameters)."""

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


@frozen(kw_only=True)
class PostgresOptions:
    """Everything the backend needs to connect, resolved and validated."""

    dsn: str | None
    """The URL handed to asyncpg (sidequest's own parameters removed); None with a given pool."""
    url: str
    """The URL with its password masked."""
    schema: str = DEFAULT_SCHEMA
    pool_min: int = 1
    pool_max: int = 10
    notify: bool = True
    statement_cache_size: int | None = None
    """None keeps asyncpg's default (100); 0 disables named prepared statements (PgBouncer)."""
    connect_timeout: float | None = None
    probe_interval: float = 15.0
    """Seconds between LISTEN self-probes on the listener connection."""

    @property
    def channel(self) -> str:
        """The NOTIFY channel, derived from the schema (a safe identifier of at most 63 bytes)."""
        return channel_name(self.schema)

    def pool_arguments(self) -> dict[str, Any]:
        """Keyword arguments for ``asyncpg.create_pool`` / ``asyncpg.connect`` besides the DSN."""
        extra: dict[str, Any] = {}
        if self.statement_cache_size is not None:
            extra["statement_cache_size"] = self.statement_cache_size
        if self.connect_timeout is not None:
            extra["timeout"] = self.connect_timeout
        return extra


def check_schema(name: object) -> str:
    """Refuse anything but a plain lower-case identifier (it is interpolated into SQL, quoted)."""
    if not isinstance(name, str) or not _SCHEMA_NAME.match(name):
        raise ConfigurationError(
            f"invalid PostgreSQL schema name {name!r}: use 1 to 63 characters among a-z, 0-9 "
            "and _, not starting with a digit"
        )
    if name.startswith("pg_"):
        raise ConfigurationError(f"invalid PostgreSQL schema name {name!r}: the pg_ prefix is reserved")
    return name


def quote_ident(name: str) -> str:
    """``"name"``: a validated identifier, quoted anyway (defence in depth)."""
    return '"' + name.replace('"', '""') + '"'


def channel_name(schema: str) -> str:
    name = f"sidequest_{schema}"
    if len(name) <= _MAX_CHANNEL:
        return name
    return "sidequest_" + hashlib.sha256(schema.encode()).hexdigest()[:32]


def parse_options(url: str | None, overrides: dict[str, Any]) -> PostgresOptions:
    """Read ``postgresql://…?schema=…&pool_max=…`` then apply keyword overrides."""
    values: dict[str, Any] = {}
    dsn: str | None = None
    masked = "postgresql://(pool)"
    if url is not None:
        if not isinstance(url, str):
            raise ConfigurationError(f"the PostgreSQL URL must be a string, got {url!r}")
        parts = urlsplit(url)
        if parts.scheme.lower() not in SCHEMES:
            raise ConfigurationError(f"not a PostgreSQL URL (scheme must be postgresql://): {mask_url(url)}")
        passthrough: list[tuple[str, str]] = []
        seen: set[str] = set()
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            if key in seen:
                raise ConfigurationError(f"query parameter {key!r} is given twice in {mask_url(url)}")
            seen.add(key)
            if key in OWN_PARAMETERS:
                values[key] = value
            elif key in DRIVER_PARAMETERS:
                passthrough.append((key, value))
            else:
                known = ", ".join(sorted(OWN_PARAMETERS | DRIVER_PARAMETERS))
                raise ConfigurationError(
                    f"unknown query parameter {key!r} in the PostgreSQL URL; known parameters: {known}"
                )
        dsn = urlunsplit(parts._replace(query=urlencode(passthrough)))
        masked = mask_url(url)
    values.update({k: v for k, v in overrides.items() if v is not None})
    options = PostgresOptions(
        dsn=dsn,
        url=masked,
        schema=check_schema(values.get("schema", DEFAULT_SCHEMA)),
        pool_min=_integer(values.get("pool_min", 1), "pool_min", minimum=0),
        pool_max=_integer(values.get("pool_max", 10), "pool_max", minimum=1),
        notify=_boolean(values.get("notify", True), "notify"),
        statement_cache_size=(
            None
            if "statement_cache_size" not in values
            else _integer(values["statement_cache_size"], "statement_cache_size", minimum=0)
        ),
        connect_timeout=(
            None if "connect_timeout" not in values else _number(values["connect_timeout"], "connect_timeout")
        ),
        probe_interval=_number(values.get("probe_interval", 15.0), "probe_interval"),
    )
    if options.pool_min > options.pool_max:
        raise ConfigurationError(
            f"pool_min ({options.pool_min}) must not exceed pool_max ({options.pool_max})"
        )
    return options


def _integer(value: object, name: str, *, minimum: int) -> int:
    if isinstance(value, bool):
        raise ConfigurationError(f"{name} must be an integer, got {value!r}")
    try:
        number = int(value) if isinstance(value, int | str) else None
    except ValueError:
        number = None
    if number is None or number < minimum:
        raise ConfigurationError(f"{name} must be an integer ≥ {minimum}, got {value!r}")
    return number


def _number(value: object, name: str) -> float:
    if isinstance(value, bool):
        raise ConfigurationError(f"{name} must be a number of seconds, got {value!r}")
    try:
        number = float(value) if isinstance(value, int | float | str) else None
    except ValueError:
        number = None
    if number is None or not number > 0 or number == float("inf"):
        raise ConfigurationError(f"{name} must be a positive number of seconds, got {value!r}")
    return number


def _boolean(value: object, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
        return value.lower() in _TRUE
    raise ConfigurationError(f"{name} must be true or false, got {value!r}")
