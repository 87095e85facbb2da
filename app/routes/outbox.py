"""The offline outbox's server side: a fresh CSRF token for replays, and the outbox page.

The outbox itself lives on the phone (IndexedDB, app/static/js/outbox.js); the server only
renders the page's shell in the person's language and hands out tokens.
"""

from __future__ import annotations

from litestar import Controller, Request, Response, get
from litestar.response import Template
from litestar.utils.scope.state import ScopeState

from app.routes.guards import Me, signed_in

NO_STORE = {"Cache-Control": "no-store"}


class OutboxController(Controller):
    guards = [signed_in]

    @get("/csrf", name="csrf_token")
    async def csrf(self, request: Request, me: Me) -> Response[dict[str, object]]:
        """A token that validates against the CSRF cookie the browser holds after this answer.

        Litestar's CSRF middleware, on a safe request, uses the cookie's token (or makes a new
        one and sets the cookie on this very response) and puts it on the scope; templates'
        csrf_token() reads the same value. The person's id tells a replaying service worker
        whose session this is, so that it sends only that person's entries."""
        token = ScopeState.from_scope(request.scope).csrf_token
        return Response({"token": token, "person": me.id if me else None}, headers=NO_STORE)

    @get("/outbox", name="outbox")
    async def outbox(self) -> Template:
        # The list itself is drawn by outbox.js from IndexedDB; this is the translated shell.
        return Template("outbox/index.html")
