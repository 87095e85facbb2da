"""The dashboard, the morning briefing (早会, printable) and the prevention reviews (复盘)."""

from __future__ import annotations

from datetime import date

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from app.domain import calls as call_rules
from app.domain import charts
from app.domain import orders as order_rules
from app.domain.access import Principal
from app.domain.calls import FAMILIES
from app.i18n import _, format_date
from app.routes.forms import posted
from app.routes.guards import Me, requires
from app.services import briefing, dashboard, scope
from app.services.fieldwork import today

READERS = ("analyst", "supervisor", "admin")


class DashboardController(Controller):
    @get("/dashboard", name="dashboard", guards=[requires(*READERS)])
    async def overview(self, request: Request, me: Me) -> Template:
        tz = request.app.state.settings.time_zone
        data = await dashboard.overview(me, today(tz), tz)
        return Template(
            "dashboard/index.html",
            context={**data, "states": order_rules.STATES, "step_titles": order_rules.STEP_TITLES},
        )

    @get("/briefing", name="briefing", guards=[requires(*READERS, "officer")])
    async def briefing(self, request: Request, me: Me, day: FromQuery[str] = "") -> Template:
        tz = request.app.state.settings.time_zone
        try:
            chosen = date.fromisoformat(day)
        except ValueError:
            chosen = today(tz)
        data = await dashboard.briefing(me, chosen, tz)
        since = await briefing.since_last(me, chosen, tz)
        context = {"b": data, "since": since, "states": order_rules.STATES, "rules": call_rules.RULES}
        return Template("dashboard/briefing.html", context=context)


class ReviewsController(Controller):
    path = "/reviews"

    @get("/", name="reviews", guards=[requires(*READERS, "officer")])
    async def index(self, me: Me) -> Template:
        return Template("dashboard/reviews.html", context={"rows": await dashboard.reviews(me)})

    @get("/new", name="review_new", guards=[requires(*READERS, "officer")])
    async def new(self, request: Request, me: Me, place: FromQuery[str] = "", case: FromQuery[str] = "") -> Template:
        return await _form(request, me, {"place": place, "case": case}, {})

    @post("/new", name="review_create", guards=[requires(*READERS, "officer")], status_code=200)
    async def create(self, request: Request, me: Me) -> Template | Redirect:
        data = (await posted(request)).fields()
        review_id, errors = await dashboard.create_review(me, data, today(request.app.state.settings.time_zone))
        if review_id is None:
            return await _form(request, me, data, errors, status_code=422)
        return Redirect(f"/reviews/{review_id}", status_code=303)

    @get("/{review_id:int}", name="review", guards=[requires(*READERS, "officer")])
    async def detail(self, request: Request, me: Me, review_id: FromPath[int]) -> Template:
        tz = request.app.state.settings.time_zone
        row = await dashboard.review(me, review_id, today(tz), tz)
        if row is None:
            raise NotFoundException()
        chart = _review_chart(row) if row["windows"] else None
        return Template("dashboard/review.html", context={"r": row, "families": FAMILIES, "chart": chart})


def _percent_change(change: float | None) -> str:
    return "—" if change is None else f"{change * 100:+.0f}%"


def _review_chart(row: dict) -> dict:
    """The before/after bars of a review: calls at the place in the equal windows before and
    after the measures (all calls, and the case's family if it has one), with a table."""
    w = row["windows"]
    groups = [(_("All calls"), w["before"][2], w["after"][2], w["change"])]
    if w["family"]:
        groups.append((_(FAMILIES[row["family"]]), *w["family"]))
    before = _("%(days)s days before", days=w["days"])
    after = _("%(days)s days after", days=w["days"])
    windows = _(
        "Before: %(first)s – %(last)s; after: %(after_first)s – %(after_last)s.",
        first=format_date(w["before"][0]),
        last=format_date(w["before"][1]),
        after_first=format_date(w["after"][0]),
        after_last=format_date(w["after"][1]),
    )
    desc = " ".join(
        [windows]
        + [
            _(
                "%(group)s: %(counts)s (%(change)s).",
                group=label,
                counts=_("%(before)s before, %(after)s after", before=b, after=a),
                change=_percent_change(c),
            )
            for label, b, a, c in groups
        ]
    )
    title = _("Calls at this place before and after")
    series = [
        charts.Series(before, [float(g[1]) for g in groups]),
        charts.Series(after, [float(g[2]) for g in groups]),
    ]
    return {
        "title": title,
        "note": windows,
        "svg": charts.render("bar", title, desc, [g[0] for g in groups], series, _("calls"), chart_id="c-review"),
        "head": ["", before, after, _("Change (%)")],
        "rows": [[label, b, a, _percent_change(c)] for label, b, a, c in groups],
    }


async def _form(request: Request, me: Principal, values: dict, errors: dict, status_code: int = 200) -> Template:
    return Template(
        "dashboard/review_form.html",
        status_code=status_code,
        context={
            "values": values,
            "errors": errors,
            "places": await scope.places(me),
            "families": FAMILIES,
            "today": today(request.app.state.settings.time_zone).isoformat(),
        },
    )
