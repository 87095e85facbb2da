"""The dashboard, the morning briefing (早会, printable) and the prevention reviews (复盘)."""
from __future__ import annotations

from datetime import date

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from app.domain import orders as order_rules
from app.routes.guards import principal, requires
from app.services import dashboard, scope
from app.services.fieldwork import today

READERS = ("analyst", "supervisor", "admin")


class DashboardController(Controller):
    @get("/dashboard", name="dashboard", guards=[requires(*READERS)])
    async def overview(self, request: Request) -> Template:
        tz = request.app.state.settings.time_zone
        data = await dashboard.overview(principal(request), today(tz), tz)  # type: ignore[arg-type]
        return Template("dashboard/index.html", context={**data, "states": order_rules.STATES,
                                                         "step_titles": order_rules.STEP_TITLES})

    @get("/briefing", name="briefing", guards=[requires(*READERS, "officer")])
    async def briefing(self, request: Request, day: FromQuery[str] = "") -> Template:
        tz = request.app.state.settings.time_zone
        try:
            chosen = date.fromisoformat(day)
        except ValueError:
            chosen = today(tz)
        data = await dashboard.briefing(principal(request), chosen, tz)  # type: ignore[arg-type]
        return Template("dashboard/briefing.html", context={"b": data, "states": order_rules.STATES})


class ReviewsController(Controller):
    path = "/reviews"

    @get("/", name="reviews", guards=[requires(*READERS, "officer")])
    async def index(self, request: Request) -> Template:
        return Template("dashboard/reviews.html", context={"rows": await dashboard.reviews(principal(request))})  # type: ignore[arg-type]

    @get("/new", name="review_new", guards=[requires(*READERS, "officer")])
    async def new(self, request: Request, place: FromQuery[str] = "") -> Template:
        return await _form(request, {"place": place}, {})

    @post("/new", name="review_create", guards=[requires(*READERS, "officer")], status_code=200)
    async def create(self, request: Request) -> Template | Redirect:
        data = {k: str(v) for k, v in (await request.form()).items()}
        review_id, errors = await dashboard.create_review(principal(request), data,  # type: ignore[arg-type]
                                                          today(request.app.state.settings.time_zone))
        if review_id is None:
            return await _form(request, data, errors, status_code=422)
        return Redirect(f"/reviews/{review_id}", status_code=303)

    @get("/{review_id:int}", name="review", guards=[requires(*READERS, "officer")])
    async def detail(self, request: Request, review_id: FromPath[int]) -> Template:
        tz = request.app.state.settings.time_zone
        row = await dashboard.review(principal(request), review_id, today(tz), tz)  # type: ignore[arg-type]
        if row is None:
            raise NotFoundException()
        return Template("dashboard/review.html", context={"r": row})


async def _form(request: Request, values: dict, errors: dict, status_code: int = 200) -> Template:
    return Template("dashboard/review_form.html", status_code=status_code, context={
        "values": values, "errors": errors, "places": await scope.places(principal(request)),  # type: ignore[arg-type]
        "today": today(request.app.state.settings.time_zone).isoformat()})
