"""The outermost layer: request id, client IP, locale, security headers, one log line.

It wraps Litestar's whole ASGI handler (not a route middleware) so that 404s for
unknown paths and static files get the same headers and log line.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from datetime import timedelta

from litestar.connection import ASGIConnection
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from app import metrics
from app.domain.access import SessionPolicy
from app.i18n import LOCALE_COOKIE, negotiate, set_locale
from app.offline import kept_offline
from app.request_context import RequestMeta, current_request
from app.services.auth import resolve_session

log = logging.getLogger("qianmo.request")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:{tiles}; "
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; worker-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def csp(tile_origin: str = "") -> str:
    """The policy; a configured basemap's tile server (settings.map_tile_origin) joins img-src."""
    return CSP.format(tiles=f" {tile_origin}" if tile_origin else "")


SECURITY_HEADERS = [
    (b"content-security-policy", csp().encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"geolocation=(self), camera=(self), microphone=()"),
]
# Only when the public address is https: over plain http it would lock a host out of http.
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
# Stylesheets, scripts, images and the manifest are not documents: the policies above govern
# nothing there, and ~450 bytes on each of a page's eight or so files were a tenth of a
# resident's first load. nosniff still matters (a script or stylesheet must carry its own
# type). SVG can be opened as a document, and /sw.js is a worker (its CSP applies): both, and
# every HTML page or error, keep the full set.
ASSET_HEADERS = [(b"x-content-type-options", b"nosniff")]
ASSET_TYPES = (
    b"text/css",
    b"text/javascript",
    b"image/png",
    b"image/jpeg",
    b"image/webp",
    b"application/manifest+json",
)
WORKER = "/sw.js"


def _asset(path: str, headers: list[tuple[bytes, bytes]]) -> bool:
    if path == WORKER:
        return False
    kind = next((v for k, v in headers if k.lower() == b"content-type"), b"")
    return kind.startswith(ASSET_TYPES)


_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


WANTED = {b"x-request-id", b"cookie", b"accept-language", b"x-outbox-replay"}


def _headers(scope: Scope) -> dict[str, str]:
    """The few request headers this layer reads (decoding all of them cost more than the rest)."""
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", []) if k in WANTED}


def _cookie(header: str, name: str) -> str | None:
    # A plain split: SimpleCookie parses every cookie, and chokes on some real-world headers.
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value.strip('"')
    return None


def _locale_from(headers: dict[str, str]) -> str:
    return negotiate(_cookie(headers.get("cookie", ""), LOCALE_COOKIE), headers.get("accept-language"))


NO_ROUTE = "(no route)"


def route_of(scope: Scope) -> str:
    """The matched route's pattern (`/invite/{token}`), never the path itself: paths carry
    invitation tokens, tracking codes and import tokens, query strings names and phones.
    Litestar puts the pattern in the scope once it has routed; an unknown path has none."""
    return scope.get("path_template") or NO_ROUTE


class RequestContext:
    def __init__(self, app: ASGIApp, https: bool = False, tile_origin: str = "") -> None:
        self.app = app
        headers = SECURITY_HEADERS
        if tile_origin:
            headers = [(b"content-security-policy", csp(tile_origin).encode()), *SECURITY_HEADERS[1:]]
        self.headers = [*headers, HSTS] if https else headers
        self.asset_headers = [*ASSET_HEADERS, HSTS] if https else ASSET_HEADERS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        incoming = headers.get("x-request-id", "")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        client = scope.get("client")
        current_request.set(RequestMeta(request_id=request_id, ip=client[0] if client else "", lookups={}))
        set_locale(_locale_from(headers))
        started = time.perf_counter()
        status = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                message["headers"] = [
                    *headers,
                    *(self.asset_headers if _asset(scope["path"], headers) else self.headers),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            seconds, route = time.perf_counter() - started, route_of(scope)
            metrics.observe_request(str(scope.get("method")), route, status, seconds, "x-outbox-replay" in headers)
            log.info(
                json.dumps(
                    {
                        "method": scope.get("method"),
                        "path": route,
                        "status": status,
                        "duration_ms": round(seconds * 1000, 1),
                        "request_id": request_id,
                    }
                )
            )


SESSION_COOKIE = "qianmo_session"


class SessionAuth(AbstractAuthenticationMiddleware):
    """Puts the signed-in Principal (or None) on scope["user"]; guards decide what it may do."""

    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        token = connection.cookies.get(SESSION_COOKIE)
        principal = None
        if token:
            settings = connection.app.state.settings
            policy = SessionPolicy(
                idle=timedelta(hours=settings.session_idle_hours), absolute=timedelta(days=settings.session_max_days)
            )
            principal = await resolve_session(token, policy)
        return AuthenticationResult(user=principal, auth=token if principal else None)


NO_STORE = b"no-store"
# Kept by the service worker for offline use (app/offline.py), revalidated by any other cache.
KEPT_OFFLINE = b"private, no-cache"


class PrivateCache:
    """Every answer to a signed-in request (pages, fragments, photos, exports, redirects,
    errors) carries `Cache-Control: no-store`, replacing whatever the route set, so that neither
    the browser nor the service worker keeps it once the session ends; except the few pages the
    worker keeps for offline use on purpose (app/offline.kept_offline). Signed in means
    SessionAuth found a live session (scope["user"]); it sets that before any route runs, and
    this layer looks when the answer starts."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_private(message: Message) -> None:
            if message["type"] == "http.response.start" and scope.get("user") is not None:
                value = KEPT_OFFLINE if kept_offline(scope["path"], scope.get("query_string", b"")) else NO_STORE
                message["headers"] = [
                    *(h for h in message.get("headers", []) if h[0].lower() != b"cache-control"),
                    (b"cache-control", value),
                ]
            await send(message)

        await self.app(scope, receive, send_private)
