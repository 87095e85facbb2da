"""Error pages in the user's language; never a stack trace."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import quote

import litestar
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR, HTTP_503_SERVICE_UNAVAILABLE
from litestar.types import ExceptionHandlersMap

from app.db import unavailable
from app.i18n import N_, gettext
from app.middleware import route_of

log = logging.getLogger("qianmo.error")

MESSAGES = {
    400: (N_("Something in the request was not right"), N_("Please go back and check what you entered.")),
    401: (N_("Please sign in"), N_("This page is for signed-in staff.")),
    403: (N_("Not allowed"), N_("Your role does not give access to this page.")),
    404: (N_("Page not found"), N_("The page does not exist, or you cannot see it.")),
    405: (N_("Not allowed"), N_("This address does not accept that kind of request.")),
    413: (N_("Too large"), N_("The file or form is larger than allowed.")),
    429: (N_("Too many requests"), N_("Please wait a minute and try again.")),
    500: (N_("Something went wrong"), N_("The problem has been logged. Please try again in a moment.")),
    503: (N_("Service unavailable"), N_("Please try again in a moment.")),
}


def _render(request: Request, status: int, api_detail: str = "") -> Response:
    title, detail = MESSAGES.get(status, MESSAGES[500] if status >= 500 else MESSAGES[400])
    if request.url.path.startswith(("/api/", "/open311/")):
        # Another program reads this: say exactly what was wrong (never for a 500).
        message = api_detail if api_detail and status < 500 else gettext(title)
        if request.url.path.startswith("/open311/"):
            # The GeoReport v2 error list, in the format the resource's suffix asked for.
            from app.routes.api.open311 import error

            return error("xml" if ".xml" in request.url.path else "json", status, message)
        body = {"status_code": status, "detail": message}
        return Response(body, status_code=status, media_type=MediaType.JSON)
    return Template(
        "errors/error.html",
        context={"status": status, "title": title, "detail": detail},
        status_code=status,
    )


def http_error(request: Request, exc: HTTPException) -> Response:
    if exc.status_code == 401 and request.method == "GET" and not request.url.path.startswith(("/api/", "/open311/")):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return Redirect(f"/signin?next={quote(target)}", status_code=303)
    response = _render(request, exc.status_code, str(exc.detail or ""))
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


# For programs (JSON under /api and /open311, in English like the API's other details); people
# get the 400 page in their language.
UNREADABLE = "The request body could not be read: text that is not UTF-8, or JSON nested too deeply"
LITESTAR = str(Path(litestar.__file__).parent)


def unreadable_body(request: Request, exc: Exception) -> Response:
    """Litestar could not read the body as what it says it is: bytes outside the declared charset
    (or a charset that does not exist), JSON nested deeper than the decoder's recursion limit.
    The sender's mistake, so a 400 on every route and in every layer (the CSRF check reads a form
    before any route does). The same errors raised anywhere else are ours: a 500."""
    if not _raised_in(exc, LITESTAR) or (isinstance(exc, LookupError) and type(exc) is not LookupError):
        return server_error(request, exc)  # our bug, or a KeyError/IndexError (LookupError's kin)
    log.info("unreadable request body on %s %s: %s", request.method, route_of(request.scope), type(exc).__name__)
    return _render(request, 400, UNREADABLE)


def _raised_in(exc: Exception, folder: str) -> bool:
    """Whether the innermost Python frame of the traceback is in `folder`."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and tb.tb_frame.f_code.co_filename.startswith(folder)


def server_error(request: Request, exc: Exception) -> Response:
    if unavailable(exc):  # the database is down or too slow: "try again in a moment", not a bug
        log.warning("database unavailable on %s %s: %r", request.method, route_of(request.scope), exc)
        response = _render(request, HTTP_503_SERVICE_UNAVAILABLE)
        response.headers["Retry-After"] = "5"
        return response
    log.exception("unhandled error on %s %s", request.method, route_of(request.scope))
    return _render(request, HTTP_500_INTERNAL_SERVER_ERROR)


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    HTTPException: http_error,
    UnicodeError: unreadable_body,
    RecursionError: unreadable_body,
    LookupError: unreadable_body,
    Exception: server_error,
}
