"""Route guards. Until sign-in lands (people area), admin pages open only in demo mode,
which `qianmo demo` allows on localhost alone."""
from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.exceptions import PermissionDeniedException
from litestar.handlers import BaseRouteHandler


def admin_only(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    if not connection.app.state.settings.demo:
        raise PermissionDeniedException()
