"""Route guards: who may reach a route. What they may see inside it is the services' job
(unit scoping), so a guard only checks that the person holds one of the roles.

One guard per route: on the controller when all its routes share it, else on each route.
Litestar hands every guard its own copy of the route handler, so a controller guard plus a
route guard cost two copies per request (~6 % of logging a contact).

A guarded route takes the signed-in person as `me: Me` (a Principal, never None: the guard's
promise in the signature; the `me` dependency, given to every route in app/main.py). `principal`
stays for the few public pages that look whether someone is signed in."""

from __future__ import annotations

from litestar.connection import ASGIConnection, Request
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers import BaseRouteHandler

from app.domain.access import Principal


def principal(connection: ASGIConnection) -> Principal | None:
    return connection.scope.get("user")


# async, like the guards: Litestar would run a plain function in a worker thread.
async def signed_in_principal(request: Request) -> Principal:
    """The `me` of a guarded route. The guard ran first, so None cannot reach here; on a route
    someone forgot to guard, asking for `me` still keeps out whoever is not signed in."""
    user = principal(request)
    if user is None:
        raise NotAuthorizedException()
    return user


DEPENDENCIES = {"me": Provide(signed_in_principal)}
# The type of a route's `me` parameter: a Principal, which Litestar takes from DEPENDENCIES.
Me = NamedDependency[Principal]


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
