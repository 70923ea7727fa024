"""``create_app``: the dashboard as a Starlette (ASGI) application, mountable at any base path."""

from __future__ import annotations

import logging

from sidequest import (
    ConfigurationError,
    DuplicateJobError,
    InvalidStateError,
    JobNotFoundError,
    QueueNotFoundError,
    ScheduleNotFoundError,
    Sidequest,
)
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from ._filters import BadInput
from ._routes_jobs import job_routes
from ._routes_overview import overview_routes
from ._routes_queues import queue_routes
from ._routes_schedules import schedule_routes
from ._security import BasicAuthMiddleware, Csrf, SecurityHeadersMiddleware, parse_auth
from ._views import STATIC_DIR, Context, render

log = logging.getLogger("sidequest.dashboard")
TITLES = {400: "Bad request", 403: "Forbidden", 404: "Not found", 405: "Method not allowed", 409: "Conflict"}


def normalize_base_path(base_path: str) -> str:
    """``"dash/"`` → ``"/dash"``; ``"/"`` stays ``""``. Refuses anything that is not a path."""
    if not isinstance(base_path, str) or not base_path.startswith("/") or any(c in base_path for c in "?#\\"):
        raise ConfigurationError(f"base_path must be a URL path starting with '/', got {base_path!r}")
    return base_path.rstrip("/")


class BasePathMiddleware:
    """Serve the app under ``base`` when it is called directly (not already mounted there)."""

    def __init__(self, app: ASGIApp, base: str) -> None:
        self.app = app
        self.base = base

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.base:
            await self.app(scope, receive, send)
            return
        root = str(scope.get("root_path", "")).rstrip("/")
        if root.endswith(self.base):
            await self.app(scope, receive, send)
            return
        path = str(scope["path"])
        route = path[len(root) :] if root and path.startswith(root) else path
        if route == self.base:
            await RedirectResponse(root + self.base + "/", status_code=307)(scope, receive, send)
            return
        if not route.startswith(self.base + "/"):
            await Response("Not found.", status_code=404, media_type="text/plain")(scope, receive, send)
            return
        await self.app(dict(scope, root_path=root + self.base), receive, send)


def create_app(
    sq: Sidequest,
    *,
    base_path: str = "/",
    auth: tuple[str, str] | str | None = None,
    read_only: bool = False,
    secret: bytes | str | None = None,
) -> Starlette:
    """The dashboard for ``sq`` as an ASGI app.

    Mount it in any ASGI app (its links follow the mount's ``root_path``) or serve it
    directly; ``base_path`` is the prefix it answers under when served directly.
    ``auth=(user, password)`` (or ``"user:password"``) requires HTTP Basic auth on every route; ``read_only``
    hides and refuses every action. ``secret`` signs CSRF tokens (random per process by
    default; set it when several processes serve one dashboard behind a load balancer).
    """
    base = normalize_base_path(base_path)
    credentials = parse_auth(auth)
    ctx = Context(sq=sq, csrf=Csrf(secret), read_only=read_only)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        message = exc.detail if exc.status_code != 404 or exc.detail != "Not Found" else None
        return _error_page(ctx, request, exc.status_code, message, dict(exc.headers or {}))

    async def not_found(request: Request, exc: Exception) -> Response:
        return _error_page(ctx, request, 404, str(exc))

    async def bad_input(request: Request, exc: Exception) -> Response:
        return _error_page(ctx, request, 400, str(exc))

    async def conflict(request: Request, exc: Exception) -> Response:
        return _error_page(ctx, request, 409, str(exc))

    middleware = [Middleware(SecurityHeadersMiddleware)]
    if credentials is not None:
        middleware.append(Middleware(BasicAuthMiddleware, user=credentials[0], password=credentials[1]))
    middleware.append(Middleware(BasePathMiddleware, base=base))
    return Starlette(
        routes=[
            *overview_routes(ctx),
            *job_routes(ctx),
            *queue_routes(ctx),
            *schedule_routes(ctx),
            Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
        ],
        middleware=middleware,
        exception_handlers={
            HTTPException: http_error,
            JobNotFoundError: not_found,
            QueueNotFoundError: not_found,
            ScheduleNotFoundError: not_found,
            BadInput: bad_input,
            ConfigurationError: bad_input,
            InvalidStateError: conflict,
            DuplicateJobError: conflict,
        },
    )


def _error_page(
    ctx: Context, request: Request, status: int, message: str | None, headers: dict[str, str] | None = None
) -> Response:
    if request.url.path.startswith(str(request.scope.get("root_path", "")) + "/static/"):
        return Response(message or TITLES.get(status, "Error"), status_code=status, headers=headers)
    response = render(
        ctx,
        request,
        "error.html",
        status,
        nav="",
        status=status,
        title=TITLES.get(status, "Error"),
        message=message or "There is nothing at this address.",
    )
    response.headers.update(headers or {})
    return response
