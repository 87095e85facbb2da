"""Public pages of the shell: home, language switch, health, offline page, service worker."""

from __future__ import annotations

from pathlib import Path

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import File, Redirect, Template

from app.domain.redirects import safe_next
from app.i18n import LOCALE_COOKIE, LOCALES
from app.routes.forms import posted
from app.routes.guards import principal
from app.services import agency, agency_calls, health, org, people

STATIC_DIR = Path(__file__).parent.parent / "static"
ONE_YEAR = 365 * 24 * 3600


def _switched(request: Request, chosen: str, next_path: str) -> Redirect:
    response = Redirect(safe_next(next_path), status_code=303)
    if chosen in LOCALES:
        response.set_cookie(
            LOCALE_COOKIE,
            chosen,
            max_age=ONE_YEAR,
            httponly=True,
            samesite="lax",
            secure=request.app.state.settings.secure_cookies,
        )
    return response


class HomeController(Controller):
    @get("/", name="home")
    async def home(self, request: Request) -> Template:
        me = principal(request)
        counts = await org.counts() if me and me.has("admin") else None
        matters = None
        if me and me.has(agency.ROLE) and me.agency_ids:
            matters = {**await agency.counts(me), **await agency_calls.counts(me)}
        return Template("home/index.html", context={"counts": counts, "matters": matters})

    @get("/locale/{chosen:str}", name="locale", status_code=303)
    async def set_locale(self, request: Request, chosen: FromPath[str], next: FromQuery[str] = "/") -> Redirect:
        """A plain link (works on error pages, which carry no CSRF token): this browser's cookie only."""
        return _switched(request, chosen, next)

    @post("/locale/{chosen:str}", name="locale_save", status_code=303)
    async def save_locale(self, request: Request, chosen: FromPath[str]) -> Redirect:
        """The header's switch for a signed-in person: also remembered on every device they use."""
        me = principal(request)
        if chosen in LOCALES and me:
            await people.set_locale(me.id, chosen)
        return _switched(request, chosen, (await posted(request)).text("next", "/"))

    @get("/offline", name="offline")
    async def offline(self) -> Template:
        return Template("home/offline.html")

    @get("/sw.js", name="service_worker", include_in_schema=False)
    async def service_worker(self) -> File:
        # Served from the root so that it controls every page, not just /static/.
        return File(
            STATIC_DIR / "js" / "sw.js",
            media_type="text/javascript",
            content_disposition_type="inline",
            headers={"Cache-Control": "no-cache"},
        )

    @get("/healthz", name="healthz")
    async def healthz(self) -> Response[dict[str, str]]:
        ok = await health.database_ok()
        return Response({"status": "ok" if ok else "database unavailable"}, status_code=200 if ok else 503)
