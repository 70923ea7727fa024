"""Running a command: every failure becomes one line on stderr and an exit code, never a traceback."""

from __future__ import annotations

import asyncio
import os
import sys
import traceback
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar

import click
from click.exceptions import NoArgsIsHelpError

from .._errors import (
    BackendNotFoundError,
    InvalidStateError,
    JobNotFoundError,
    QueueNotFoundError,
    SidequestError,
)
from ._output import error_line

T = TypeVar("T")
USAGE = 2
DEBUG_ENV = "SIDEQUEST_DEBUG"


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on a new event loop (one per command)."""
    return asyncio.run(coro)


def _hint(exc: SidequestError) -> str:
    if isinstance(exc, JobNotFoundError):
        return " (list jobs with `sidequest jobs list`)"
    if isinstance(exc, QueueNotFoundError):
        return " (list queues with `sidequest queues list`)"
    if isinstance(exc, InvalidStateError):
        return " (see its state with `sidequest jobs show ID`)"
    return ""


def invoke(group: click.Group, args: Sequence[str] | None, prog_name: str = "sidequest") -> int:
    """Run ``group`` with ``args`` and return the process exit code."""
    try:
        result = group.main(
            args=list(args) if args is not None else None, prog_name=prog_name, standalone_mode=False
        )
    except NoArgsIsHelpError as exc:
        click.echo(exc.format_message())
        return 0
    except click.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx else prog_name
        error_line(f"{exc.format_message()} (see `{where} --help`)")
        return USAGE
    except click.ClickException as exc:
        error_line(exc.format_message())
        return exc.exit_code
    except click.Abort as exc:
        if isinstance(exc.__context__, KeyboardInterrupt):  # click's form of a Ctrl-C
            error_line("interrupted")
            return 130
        error_line("aborted; nothing was changed")
        return 1
    except KeyboardInterrupt:
        error_line("interrupted")
        return 130
    except BackendNotFoundError as exc:
        error_line(str(exc))
        return USAGE
    except SidequestError as exc:
        error_line(f"{exc}{_hint(exc)}")
        return USAGE
    except OSError as exc:
        error_line(f"{type(exc).__name__}: {exc}")
        return USAGE
    except Exception as exc:
        if os.environ.get(DEBUG_ENV):
            traceback.print_exc()
        error_line(f"unexpected error: {type(exc).__name__}: {exc} (set {DEBUG_ENV}=1 to see the traceback)")
        return 1
    return result if isinstance(result, int) else 0


def exit_with(group: click.Group, args: Sequence[str] | None = None) -> None:
    sys.exit(invoke(group, args))
