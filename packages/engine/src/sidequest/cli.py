"""The ``sidequest`` command (``python -m sidequest``)."""

from __future__ import annotations

import click

from ._plugins import registry


@click.group()
@click.version_option(package_name="sidequest")
def main() -> None:
    """sidequest: background jobs in your database."""


@main.command()
def backends() -> None:
    """List the installed backends: URL scheme, distribution and version."""
    for entry in registry().entries():
        click.echo(f"{entry.scheme:<12} {entry.distribution:<22} {entry.version}")
