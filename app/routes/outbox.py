"""The offline outbox's server side: a fresh CSRF token for replays, and the outbox page.

The outbox itself lives on the phone (IndexedDB, app/static/js/outbox.js); the server only
renders the page's shell in the person's language and hands out tokens. Both are public: a
resident's report or a volunteer's registration made without signal waits in the same outbox
on a phone nobody signed in on, and is sent from there (docs/decisions.md, "Public forms offline").
"""

from __future__ import annotations

from litestar import Controller, Request, Response, get
from litestar.response import Template
from litestar.utils.scope.state import ScopeState

from app.routes.guards import principal

NO_STORE = {"Cache-Control": "no-store"}


class OutboxController(Controller):
    @get("/csrf", name="csrf_token")
    async def csrf(self, request: Request) -> Response[dict[str, object]]:
        """A token that validates against the CSRF cookie the browser holds after this answer.

        Litestar's CSRF middleware, on a safe request, uses the cookie's token (or makes a new
        one and sets the cookie on this very response) and puts it on the scope; templates'
        csrf_token() reads the same value. The person's id (null when nobody is signed in)
        tells a replaying service worker whose entries it may send: a signed-out phone sends
        only the public forms' entries."""
        token = ScopeState.from_scope(request.scope).csrf_token
        me = principal(request)
        return Response({"token": token, "person": me.id if me else None}, headers=NO_STORE)

    @get("/outbox", name="outbox")
    async def outbox(self) -> Template:
        # The list itself is drawn by app.js from IndexedDB; this is the translated shell.
        return Template("outbox/index.html")
