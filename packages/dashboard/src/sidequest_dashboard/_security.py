"""Basic auth, CSRF tokens, same-origin checks, security headers and the loopback rule."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import secrets
from urllib.parse import urlsplit

from sidequest import ConfigurationError
from starlette.datastructures import FormData, Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSRF_COOKIE = "sidequest_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
}


def check_auth(auth: tuple[str, str] | None) -> tuple[str, str] | None:
    """Validate a ``(user, password)`` pair (the user may not contain ``:``)."""
    if auth is None:
        return None
    if (
        not isinstance(auth, tuple)
        or len(auth) != 2
        or not all(isinstance(part, str) and part for part in auth)
    ):
        raise ConfigurationError("dashboard auth must be a (user, password) tuple of non-empty strings")
    if ":" in auth[0]:
        raise ConfigurationError("the dashboard user name cannot contain ':' (HTTP Basic auth splits on it)")
    return auth


def parse_auth(value: str | tuple[str, str] | None) -> tuple[str, str] | None:
    """``"user:password"`` (or a tuple, or None) as a validated ``(user, password)`` pair."""
    if not isinstance(value, str):
        return check_auth(value)
    user, sep, password = value.partition(":")
    if not sep:
        raise ConfigurationError("dashboard auth must be given as 'user:password'")
    return check_auth((user, password))


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IP literals (``127.0.0.0/8``, ``::1``)."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, auth: tuple[str, str] | None, insecure: bool) -> None:
    """Refuse to listen beyond loopback without auth, unless ``insecure`` is set."""
    if auth is None and not insecure and not is_loopback(host):
        raise ConfigurationError(
            f"refusing to serve the dashboard on {host!r} without authentication: anyone who can "
            "reach it could cancel and rerun jobs. Pass auth=(user, password), bind to 127.0.0.1, "
            "or pass insecure=True if something in front of it (a proxy, a VPN) already protects it."
        )


class BasicAuthMiddleware:
    """Require HTTP Basic credentials on every request (pages, actions and static files)."""

    def __init__(self, app: ASGIApp, user: str, password: str, realm: str = "sidequest") -> None:
        self.app = app
        self._user = user.encode()
        self._password = password.encode()
        self._challenge = f'Basic realm="{realm}", charset="UTF-8"'

    def authorized(self, header: str | None) -> bool:
        """Constant-time check of an ``Authorization`` header value."""
        if not header:
            return False
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        user, sep, password = decoded.partition(b":")
        user_ok = hmac.compare_digest(user, self._user)
        password_ok = hmac.compare_digest(password, self._password)
        return bool(sep) & user_ok & password_ok

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.authorized(Headers(scope=scope).get("authorization")):
            await self.app(scope, receive, send)
            return
        response = PlainTextResponse(
            "Authentication required.", status_code=401, headers={"WWW-Authenticate": self._challenge}
        )
        await response(scope, receive, send)


class SecurityHeadersMiddleware:
    """Add CSP and friends to every response; HTML is never cached."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if headers.get("content-type", "").startswith("text/html"):
                    headers["cache-control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)


class Csrf:
    """Signed double-submit tokens: a random cookie nonce and its HMAC under a server secret."""

    def __init__(self, secret: bytes | str | None = None) -> None:
        if secret is None:
            secret = secrets.token_bytes(32)
        self._secret = secret.encode() if isinstance(secret, str) else bytes(secret)

    @staticmethod
    def new_nonce() -> str:
        return secrets.token_urlsafe(32)

    @staticmethod
    def valid_nonce(nonce: str | None) -> bool:
        return nonce is not None and 32 <= len(nonce) <= 64 and nonce.isascii()

    def token_for(self, nonce: str) -> str:
        digest = hmac.new(self._secret, b"sidequest-csrf:" + nonce.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def verify(self, nonce: str | None, token: str | None) -> bool:
        if not self.valid_nonce(nonce) or not token:
            return False
        assert nonce is not None
        return hmac.compare_digest(self.token_for(nonce).encode(), token.encode(errors="replace"))


def cross_origin_reason(request: Request) -> str | None:
    """Why this mutating request is not same-origin, or None when it is.

    Browsers send ``Sec-Fetch-Site``; it decides alone when present. Otherwise an ``Origin``
    header must name this host. Requests with neither come from non-browser clients, which
    cannot be forged by a web page (the CSRF token is still required).
    """
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        if site.lower() in ("same-origin", "none"):
            return None
        return f"the request came from another site (Sec-Fetch-Site: {site})"
    origin = request.headers.get("origin")
    if origin is None:
        return None
    host = request.headers.get("host", "").lower()
    try:
        netloc = urlsplit(origin).netloc.lower()
    except ValueError:
        netloc = ""
    if origin == "null" or not netloc or netloc != host:
        return "the request came from another origin"
    return None


async def guarded_form(request: Request, csrf: Csrf, *, read_only: bool) -> FormData:
    """The POSTed form, once the request passed the read-only, same-origin and CSRF checks.

    Raises ``HTTPException(403)`` with the reason otherwise.
    """
    if read_only:
        raise HTTPException(403, "This dashboard is read-only: actions are disabled.")
    reason = cross_origin_reason(request)
    if reason is not None:
        raise HTTPException(403, f"Refused: {reason}.")
    form = await request.form(max_files=0, max_fields=500, max_part_size=64 * 1024)
    field = form.get(CSRF_FIELD)
    token = field if isinstance(field, str) else request.headers.get(CSRF_HEADER)
    if not csrf.verify(request.cookies.get(CSRF_COOKIE), token):
        raise HTTPException(
            403, "Refused: the security token is missing or stale. Reload the page and try again."
        )
    return form
