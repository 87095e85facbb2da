"""The per-browser key of the public rate limits.

Thousands of phones may share one client address (a carrier's CGNAT, an estate's Wi-Fi), so a
limit per address alone lets neighbours throttle each other. Each browser carries a random id in
a cookie signed with the app's secret key (HttpOnly, SameSite=Lax, Secure on https): the strict
limits count per browser, and generous ones per address stay as the backstop against a script
that drops its cookie. A browser without a valid cookie gets a new one with the page it asked
for; that request has no browser to count against yet (current_browser is ""), so a script that
drops its cookie meets the address's limit only and leaves no row per request behind."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from contextvars import ContextVar

from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

BROWSER_COOKIE = "qianmo_browser"
# Machines (API keys), files and the health check need no browser key.
_NO_BROWSER = re.compile(r"^/(static/|sw\.js$|healthz$|api/|open311/|schema)")
BROWSER_DAYS = 365
# The browser id the request came with ("" if none, or not signed by us): read by the limit
# helpers (routes) and services/volunteers.register, like current_request.
current_browser: ContextVar[str] = ContextVar("qianmo_browser", default="")


def sign(secret: str, *parts: str) -> str:
    """A short signature of `parts` under the app's secret key, safe in cookies and URLs."""
    mac = hmac.new(secret.encode(), "\x1f".join(parts).encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:18]).decode()


def signed(secret: str, signature: str, *parts: str) -> bool:
    return hmac.compare_digest(signature.encode(), sign(secret, *parts).encode())


def browser_of(cookie: str, secret: str) -> str:
    """The browser id in a cookie value, or "" when it is missing or not signed by us."""
    browser, _, signature = cookie.partition(".")
    return browser if browser and signed(secret, signature, "browser", browser) else ""


class BrowserKey(ASGIMiddleware):
    """Sets current_browser for the request; gives a browser without a valid cookie a new one."""

    scopes = (ScopeType.HTTP,)
    should_bypass_for_scope = staticmethod(lambda scope: bool(_NO_BROWSER.match(scope["path"])))

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        connection: ASGIConnection = ASGIConnection(scope)
        settings = connection.app.state.settings
        browser = browser_of(connection.cookies.get(BROWSER_COOKIE, ""), settings.secret_key)
        if browser:
            current_browser.set(browser)
            await next_app(scope, receive, send)
            return
        current_browser.set("")
        browser = secrets.token_urlsafe(12)
        cookie = Cookie(
            key=BROWSER_COOKIE,
            value=f"{browser}.{sign(settings.secret_key, 'browser', browser)}",
            max_age=BROWSER_DAYS * 86400,
            httponly=True,
            samesite="lax",
            secure=settings.secure_cookies,
        ).to_encoded_header()

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), cookie]
            await send(message)

        await next_app(scope, receive, send_with_cookie)
