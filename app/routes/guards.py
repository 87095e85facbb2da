"""Route guards: who may reach a route. What they may see inside it is the services' job
(unit scoping), so a guard only checks that the person holds one of the roles.

One guard per route: on the controller when all its routes share it, else on each route.
Litestar hands every guard its own copy of the route handler, so a controller guard plus a
route guard cost two copies per request (~6 % of logging a contact)."""
from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers import BaseRouteHandler

from app.domain.access import Principal


def principal(connection: ASGIConnection) -> Principal | None:
    return connection.scope.get("user")


def requires(*roles: str):
    """Signed in (else 401: the sign-in page) and holding one of `roles` (else 403)."""

    # async: Litestar would run a plain function in a worker thread, twice per request.
    async def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        user = principal(connection)
        if user is None:
            raise NotAuthorizedException()
        if roles and not user.has(*roles):
            raise PermissionDeniedException()

    return guard


signed_in = requires()
admin_only = requires("admin")
