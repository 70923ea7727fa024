"""``sidequest dashboard``: serve the web dashboard for a database, without running jobs."""

from __future__ import annotations

import asyncio
import signal

import click

from .._errors import ConfigurationError
from ._app import Target, connection_options, resolve_target, session
from ._output import CliError
from ._run import run_async


async def serve_dashboard(
    target: Target,
    *,
    host: str,
    port: int,
    base_path: str,
    auth: str | None,
    insecure: bool,
    read_only: bool,
) -> None:
    """Serve until SIGINT/SIGTERM; prints the address once it listens."""
    try:
        from sidequest_dashboard import Dashboard, check_exposure, parse_auth
    except ImportError as exc:
        raise CliError("the dashboard is not installed: pip install 'sidequest[dashboard]'") from exc
    # the dashboard's own checks, told in this command's options rather than its Python arguments
    try:
        credentials = parse_auth(auth)
    except ConfigurationError:
        raise CliError(
            "--auth must be USER:PASSWORD, both parts non-empty (or SIDEQUEST_DASHBOARD_AUTH)"
        ) from None
    try:
        check_exposure(host, credentials, insecure)
    except ConfigurationError:
        raise CliError(
            f"refusing to serve the dashboard on {host!r} without authentication: anyone who can reach "
            "it could cancel and rerun jobs. Pass --auth USER:PASSWORD, --host 127.0.0.1, or --insecure "
            "if something in front of it (a proxy, a VPN) already protects it"
        ) from None
    async with session(target) as sq:
        dashboard = Dashboard(sq, host, port, base_path, credentials, insecure, read_only=read_only)
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stopping.set)
        try:
            await dashboard.start()
            click.echo(f"dashboard: {dashboard.url} (Ctrl-C to stop)")
            await stopping.wait()
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)
            await dashboard.stop()


@click.command()
@connection_options
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8678, show_default=True, help="0: any free port."
)
@click.option("--base-path", default="/", show_default=True, help="Serve under this path prefix.")
@click.option(
    "--auth",
    envvar="SIDEQUEST_DASHBOARD_AUTH",
    metavar="USER:PASSWORD",
    help="Require HTTP Basic auth (needed beyond 127.0.0.1). Env: SIDEQUEST_DASHBOARD_AUTH.",
)
@click.option(
    "--insecure", is_flag=True, help="Allow a non-loopback host without --auth (behind a proxy or VPN)."
)
@click.option("--read-only", is_flag=True, help="Show jobs and queues, but offer no actions.")
@click.pass_context
def dashboard(
    ctx: click.Context,
    url: str | None,
    app: str | None,
    host: str,
    port: int,
    base_path: str,
    auth: str | None,
    insecure: bool,
    read_only: bool,
) -> None:
    """Serve the web dashboard of a database (no jobs are run).

    Bound to 127.0.0.1 by default; another host needs --auth (or --insecure).
    """
    target = resolve_target(ctx, url, app)
    run_async(
        serve_dashboard(
            target,
            host=host,
            port=port,
            base_path=base_path,
            auth=auth,
            insecure=insecure,
            read_only=read_only,
        )
    )
