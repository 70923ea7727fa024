"""The ``sidequest`` command (also ``python -m sidequest``): worker, admin commands and demo."""

from __future__ import annotations

from collections.abc import Sequence

import click

from ._admin import backends, migrate, queues, rollback
from ._dashboard import dashboard
from ._demo import demo
from ._jobs import jobs
from ._run import exit_with, invoke
from ._schedules import schedules
from ._worker import worker

__all__ = ["cli", "invoke", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="sidequest", prog_name="sidequest")
def cli() -> None:
    """sidequest: background jobs kept in the database you already run.

    Start with `sidequest demo`, run jobs with `sidequest worker myapp:sq`, and inspect
    them with `sidequest jobs list --url URL`. Admin commands connect with --url (env
    SIDEQUEST_URL) or --app (env SIDEQUEST_APP). Errors exit with status 2.
    """


for command in (worker, demo, jobs, queues, schedules, dashboard, migrate, rollback, backends):
    cli.add_command(command)


def main(args: Sequence[str] | None = None) -> None:
    """Entry point of the ``sidequest`` script: run the command line and exit with its status."""
    exit_with(cli, args)
