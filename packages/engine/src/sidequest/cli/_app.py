"""Finding the ``Sidequest`` to work with: an APP import string or a database URL."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import click
from attrs import frozen

from .._backend_support import mask_url
from .._engine import Sidequest
from .._errors import SidequestError
from ._output import CliError, remember_secret

F = TypeVar("F", bound=Callable[..., Any])
APP_HELP = "module:attribute naming a Sidequest instance, e.g. myapp.tasks:sq"


def load_app(spec: str) -> Sidequest:
    """Import ``module:attribute`` (the current directory first on ``sys.path``, like uvicorn)."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute or not all(part.isidentifier() for part in attribute.split(".")):
        raise CliError(f"APP {spec!r} must look like 'module:attribute' ({APP_HELP})")
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        target: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
            raise CliError(
                f"cannot import module {module_name!r} for APP {spec!r}: no such module in {cwd} "
                "or on sys.path; run from your project's directory or fix the name"
            ) from exc
        raise CliError(f"importing {module_name!r} failed: {exc}; install the missing package") from exc
    except SyntaxError as exc:
        raise CliError(
            f"importing {module_name!r} failed: {exc.msg} ({exc.filename}, line {exc.lineno})"
        ) from exc
    except SidequestError as exc:
        raise CliError(f"importing {module_name!r} failed: {exc}") from exc
    except Exception as exc:
        raise CliError(f"importing {module_name!r} failed: {type(exc).__name__}: {exc}") from exc
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise CliError(f"module {module_name!r} has no attribute {attribute!r} (APP {spec!r})")
        target = getattr(target, part)
    if not isinstance(target, Sidequest):
        raise CliError(
            f"APP {spec!r} names a {type(target).__name__} object, not a Sidequest instance; "
            f"point it at e.g. `sq = Sidequest(...)` in {module_name}"
        )
    return target


@frozen
class Target:
    """Which database a command works on: a URL, or the ``Sidequest`` of an APP."""

    url: str | None = None
    app: str | None = None

    def engine(self, *, migrate: bool = False) -> Sidequest:
        """The app's instance, or a new one for the URL (migrating only when asked, the
        app's included: an admin command never changes its schema by accident)."""
        if self.app is not None:
            sq = load_app(self.app)
            if not migrate:
                sq._migrate = False
            return sq
        assert self.url is not None
        remember_secret(self.url)
        return Sidequest(self.url, migrate=migrate)

    def describe(self) -> str:
        return (
            f"the database at {mask_url(self.url)}" if self.url is not None else f"the database of {self.app}"
        )


def connection_options(func: F) -> F:
    """Add ``--url`` (env ``SIDEQUEST_URL``) and ``--app`` (env ``SIDEQUEST_APP``) to a command."""
    func = click.option(
        "--app",
        "app",
        envvar="SIDEQUEST_APP",
        metavar="MODULE:ATTR",
        help=f"Use the database of this app's Sidequest ({APP_HELP}). Env: SIDEQUEST_APP.",
    )(func)
    return click.option(
        "--url",
        "url",
        envvar="SIDEQUEST_URL",
        metavar="URL",
        help="Database URL, e.g. postgresql://user@host/db or sqlite:///jobs.sqlite3. Env: SIDEQUEST_URL.",
    )(func)


def resolve_target(ctx: click.Context, url: str | None, app: str | None) -> Target:
    """``--url``/``--app`` given on the command line win over the environment; URL over APP."""
    explicit = click.core.ParameterSource.COMMANDLINE
    url_cli = ctx.get_parameter_source("url") == explicit
    app_cli = ctx.get_parameter_source("app") == explicit
    if url_cli and app_cli:
        raise click.UsageError("give either --url or --app, not both")
    if app_cli or (app and not url):
        return Target(app=app)
    if url:
        return Target(url=url)
    raise click.UsageError(
        "no database given: pass --url URL (or set SIDEQUEST_URL), or --app module:attribute "
        "(or set SIDEQUEST_APP)"
    )


def check_sqlite_file(url: str) -> None:
    """Refuse a ``sqlite:///`` path that does not exist (instead of creating an empty database)."""
    parts = urlsplit(url)
    if parts.scheme != "sqlite":
        return
    path = unquote(parts.path[1:] if parts.path.startswith("/") else parts.path)
    if not path or path == ":memory:" or parts.netloc:
        return
    if not Path(path).exists():
        if not Path(path).parent.is_dir():
            raise CliError(
                f"no directory {Path(path).parent} for the SQLite database {path} (from {mask_url(url)}): "
                "check --url"
            )
        raise CliError(
            f"no SQLite database at {path} (from {mask_url(url)}): check --url, "
            f"or create it with `sidequest migrate --url {mask_url(url)}`"
        )


async def connect(sq: Sidequest, where: str) -> None:
    """Configure ``sq``; a driver's connection error becomes a one-line ``CliError``."""
    try:
        await sq.configure()
        await sq.backend.now()  # backends may connect lazily: reach the server now
    except SidequestError:
        await _quiet_close(sq)
        raise
    except Exception as exc:
        await _quiet_close(sq)
        raise _unreachable(where, exc) from exc


def _unreachable(where: str, exc: Exception) -> CliError:
    return CliError(
        f"cannot open {where}: {type(exc).__name__}: {exc} "
        "(check the URL, that the server is running and that you may connect)"
    )


async def _quiet_close(sq: Sidequest) -> None:
    try:
        await sq.close()
    except Exception:
        pass


@asynccontextmanager
async def session(target: Target, *, create: bool = False) -> AsyncIterator[Sidequest]:
    """A configured ``Sidequest`` for ``target``, closed afterwards; connection errors become one line.

    ``create``: allow a new SQLite file and migrate a URL target's schema.
    """
    if target.url is not None and not create:
        check_sqlite_file(target.url)
    sq = target.engine(migrate=create)
    if target.app is not None and not create:
        check_sqlite_file(sq.backend_url)
    where = target.describe()
    await connect(sq, where)
    try:
        yield sq
    except (SidequestError, click.ClickException, click.Abort):
        raise
    except OSError as exc:
        raise _unreachable(where, exc) from exc
    except Exception as exc:
        hint = "" if create else "; if the schema is missing run `sidequest migrate`"
        raise CliError(f"database error ({where}): {type(exc).__name__}: {exc}{hint}") from exc
    finally:
        await _quiet_close(sq)
