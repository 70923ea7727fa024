"""``Dashboard``: uvicorn in the current event loop; ``serve``: the blocking standalone entry point."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import sys
from collections.abc import Generator
from types import TracebackType

import uvicorn
from sidequest import ConfigurationError, Sidequest

from ._security import check_exposure, parse_auth
from .app import create_app, normalize_base_path

log = logging.getLogger("sidequest.dashboard")
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8678


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to its host (the engine or ``serve``)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class Dashboard:
    """The dashboard served by uvicorn inside the running event loop.

    ``await dashboard.start()`` binds and serves (so ``Sidequest(dashboard=...)`` can run
    it next to the workers); ``await dashboard.stop()`` shuts it down. Binding beyond
    loopback without ``auth`` raises ``ConfigurationError`` unless ``insecure=True``.
    """

    def __init__(
        self,
        sq: Sidequest,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        base_path: str = "/",
        auth: tuple[str, str] | str | None = None,
        insecure: bool = False,
        *,
        read_only: bool = False,
        secret: bytes | str | None = None,
        log_level: str = "warning",
    ) -> None:
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ConfigurationError(f"dashboard port must be an int from 0 to 65535, got {port!r}")
        self.sq = sq
        self.host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
        self.port = port
        self.base_path = normalize_base_path(base_path)
        credentials = parse_auth(auth)
        check_exposure(host, credentials, insecure)
        self.app = create_app(sq, base_path=base_path, auth=credentials, read_only=read_only, secret=secret)
        self._log_level = log_level
        self._server: _EmbeddedServer | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        """The dashboard's address (the actual port once started with ``port=0``)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{self.base_path}/"

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Connect the engine, bind the socket and serve until ``stop()``."""
        if self.running:
            return
        await self.sq.configure()
        sock = self._bind()
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            lifespan="off",
            log_level=self._log_level,
            access_log=False,
            server_header=False,
            timeout_graceful_shutdown=5,
        )
        server = _EmbeddedServer(config)
        self._server = server
        self._task = asyncio.create_task(server.serve(sockets=[sock]), name="sidequest-dashboard")
        while not server.started:
            if self._task.done():
                sock.close()
                self._task.result()
                raise ConfigurationError(f"the dashboard could not start on {self.url}")
            await asyncio.sleep(0.01)
        log.info("sidequest dashboard listening on %s", self.url)

    async def stop(self) -> None:
        """Stop serving (open requests get up to 5 s)."""
        server, task = self._server, self._task
        self._server = self._task = None
        if server is None or task is None:
            return
        server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout=10)
        except TimeoutError:
            server.force_exit = True
            await task

    async def __aenter__(self) -> Dashboard:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def _bind(self) -> socket.socket:
        try:
            family, kind, proto, _, address = socket.getaddrinfo(
                self.host, self.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
            )[0]
            sock = socket.socket(family, kind, proto)
        except OSError as exc:
            raise ConfigurationError(f"cannot listen on {self.host}:{self.port}: {exc}") from exc
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
        except OSError as exc:
            sock.close()
            raise ConfigurationError(f"cannot listen on {self.host}:{self.port}: {exc.strerror}") from exc
        return sock


def serve(
    url: str,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    base_path: str = "/",
    auth: tuple[str, str] | str | None = None,
    insecure: bool = False,
    *,
    read_only: bool = False,
) -> None:
    """Serve the dashboard for the jobs stored at backend ``url`` until SIGINT/SIGTERM (blocking).

    ``auth`` is ``(user, password)`` or ``"user:password"``. This is what
    ``sidequest dashboard --url …`` runs; no worker is started.
    """
    credentials = parse_auth(auth)
    check_exposure(host, credentials, insecure)
    asyncio.run(_serve(url, host, port, base_path, credentials, insecure, read_only))


async def _serve(
    url: str,
    host: str,
    port: int,
    base_path: str,
    auth: tuple[str, str] | None,
    insecure: bool,
    read_only: bool,
) -> None:
    sq = Sidequest(url)
    dashboard = Dashboard(sq, host, port, base_path, auth, insecure, read_only=read_only)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stopping.set)
    try:
        await dashboard.start()
        print(f"sidequest dashboard on {dashboard.url} (Ctrl+C to stop)", file=sys.stderr, flush=True)
        await stopping.wait()
    finally:
        await dashboard.stop()
        await sq.close()
