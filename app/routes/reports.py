"""Resident reports: the public pages (poster form /r/{code}, general form /report, tracking
/t/{code}), staff triage (/reports) and the admin pages for categories and QR posters
(/admin/reports). Public forms are plain posts (no htmx needed), rate limited per client."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Annotated

from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import File, Redirect, Template

from app.browser import current_browser, sign, signed
from app.domain import reports as rules
from app.domain.access import Principal
from app.domain.photos import MAX_BYTES
from app.i18n import N_, get_locale, gettext
from app.request_context import current_request
from app.routes.forms import FORM, posted, replay_accepted, replay_refusal, replayed
from app.routes.guards import Me, admin_only, requires
from app.routes.uploads import form_fields, form_photo, photo_response
from app.services import push, ratelimit, report_lists, report_posters, reports
from app.services.audit import actor_of

NO_STORE = {"Cache-Control": "no-store"}
POSTER_ROLES = ("admin", "officer")
TOO_MANY = N_("You have sent several reports in a short time. Please wait a minute and send again.")
SENT = N_("Your report was received. Keep the tracking code to follow it.")
POSTER_GONE = N_("This poster is no longer in use. Please send your report from the general form.")
LOOKUP_WINDOW = timedelta(minutes=1)  # tracking look-ups are counted per minute


# --- the public form --------------------------------------------------------------------------


async def _form(
    request: Request,
    action: str,
    where: reports.Where | None,
    values: dict,
    errors: dict | None = None,
    similar: list | None = None,
    status_code: int = 200,
    poster: bool = True,
) -> Template:
    context = {
        "action": action,
        "where": where,
        "values": values,
        "errors": errors or {},
        "similar": similar or [],
        "categories": await report_lists.categories(),
        "max_photo": MAX_BYTES,
        "honeypot": rules.HONEYPOT,
        "from_poster": poster,
        "places": None if poster else await reports.public_places(),
        "max_description": rules.MAX_DESCRIPTION,
        "statuses": rules.STATUSES,
    }
    return Template("reports/form.html", context=context, status_code=status_code, headers=NO_STORE)


async def _submit(
    request: Request, action: str, where: reports.Where | None, poster: bool
) -> Template | Redirect | Response:
    raw = {"client_uuid": str(uuid.uuid4()), **await form_fields(request)}
    settings = request.app.state.settings
    replay = replayed(request)
    if not await _report_allowed(request):
        if replay:  # the outbox keeps it waiting and tries again later
            return replay_refusal({"form": TOO_MANY}, status_code=429)
        return await _form(request, action, where, raw, {"form": TOO_MANY}, status_code=429, poster=poster)
    if replay and rules.join_choice(raw) is None:
        # Queued without seeing the open reports nearby: a report of its own (staff see the
        # repeat) rather than a question nobody is there to answer.
        raw["join"] = "new"
    if where is None:  # mark every field at once, not the place first and the rest next time
        errors = rules.check_submission(raw, await report_lists.category_codes()).errors
        if replay:
            return replay_refusal({"place": N_("Choose where the problem is"), **errors})
        return await _form(
            request,
            action,
            where,
            raw,
            {"place": N_("Choose where the problem is"), **errors},
            status_code=422,
            poster=poster,
        )
    photo = await form_photo(request)  # only for a post that may go ahead: decoding is the costly part
    outcome = await reports.submit(
        where, raw, photo, settings.upload_dir, get_locale(), source="qr" if poster else "web"
    )
    if outcome.errors:
        if replay:
            return replay_refusal(outcome.errors)
        return await _form(
            request, action, where, raw, outcome.errors, similar=outcome.similar, status_code=422, poster=poster
        )
    if outcome.similar:
        return await _form(request, action, where, raw, similar=outcome.similar, poster=poster)
    flag = "joined" if outcome.joined else "new"
    receipt = f"/t/{outcome.tracking}?{flag}=1&receipt={_receipt(request, outcome.tracking)}"
    if replay:  # the outbox shows the code and keeps the link to follow the report
        return replay_accepted(code=outcome.tracking, url=receipt, message=gettext(SENT))
    return Redirect(receipt, status_code=303)


async def _report_allowed(request: Request) -> bool:
    """A burst per browser; per client address (shared by many phones) a generous one, against
    a script that drops its cookie. A browser over its burst costs its address nothing."""
    settings = request.app.state.settings
    ip, browser = current_request.get().ip or "unknown", current_browser.get()
    return (
        not browser
        or await ratelimit.allow_burst(f"report:browser:{browser}", settings.report_burst, settings.report_per_minute)
    ) and await ratelimit.allow_burst(
        f"report:ip:{ip}", settings.report_address_burst, settings.report_address_per_minute
    )


def _receipt(request: Request, tracking: str) -> str:
    """What the receipt's link carries: the tracking code signed for the browser that filed it."""
    return sign(request.app.state.settings.secret_key, "receipt", tracking, current_browser.get())


async def _poster_where(code: str) -> tuple[dict | None, reports.Where | None]:
    poster = await report_posters.by_code(code)
    if poster is None or poster["retired_at"] is not None:
        return poster, None
    return poster, await reports.where_of_poster(poster)


def _gone(poster: dict | None) -> Template:
    """Unknown code: 404; a retired poster (or its place closed): 410. Both link to the general form."""
    return Template(
        "reports/poster_gone.html", context={"retired": poster is not None}, status_code=404 if poster is None else 410
    )


class ReportPublicController(Controller):
    """Pages for residents: no sign-in, rate limited, in Chinese unless they pick English."""

    path = "/"
    include_in_schema = False

    @get("/r/{code:str}", name="report_poster_form")
    async def poster_form(self, request: Request, code: FromPath[str]) -> Template:
        poster, where = await _poster_where(code)
        if where is None:
            return _gone(poster)
        return await _form(request, f"/r/{poster['code']}", where, {"client_uuid": str(uuid.uuid4())})  # type: ignore[index]  # a where means a poster

    @post("/r/{code:str}", name="report_poster_submit", status_code=200)
    async def poster_submit(self, request: Request, code: FromPath[str]) -> Template | Redirect | Response:
        poster, where = await _poster_where(code)
        if where is None:
            return replay_refusal({"form": POSTER_GONE}, status_code=410) if replayed(request) else _gone(poster)
        return await _submit(request, f"/r/{poster['code']}", where, poster=True)  # type: ignore[index]  # a where means a poster

    @get("/report", name="report_general_form")
    async def general_form(self, request: Request, place: FromQuery[int | None] = None) -> Template:
        values = {"client_uuid": str(uuid.uuid4()), "place": str(place or "")}
        return await _form(request, "/report", None, values, poster=False)

    @post("/report", name="report_general_submit", status_code=200)
    async def general_submit(self, request: Request) -> Template | Redirect | Response:
        place = (await posted(request)).text("place")
        where = await reports.where_of_place(int(place)) if place.isdecimal() and len(place) < 12 else None
        return await _submit(request, "/report", where, poster=False)

    @get("/report/similar", name="report_similar")
    async def similar(
        self, category: FromQuery[str] = "", poster: FromQuery[str] = "", place: FromQuery[str] = ""
    ) -> Template:
        """The "already reported" choice for the chosen category (the form asks for it with htmx)."""
        where = None
        if poster:
            _poster, where = await _poster_where(poster)
        elif place.isdecimal() and len(place) < 12:
            where = await reports.where_of_place(int(place))
        rows = await reports.similar_for_code(where, category[:32]) if where else []
        return Template(
            "reports/_similar.html",
            context={"similar": rows, "values": {}, "statuses": rules.STATUSES},
            headers={"Vary": "HX-Request"},
        )

    @get("/t", name="report_track_lookup")
    async def lookup(self, code: FromQuery[str] = "") -> Template | Redirect:
        if code:
            normalised = rules.normalise_code(code) or code.strip()[:20]
            return Redirect(f"/t/{normalised}", status_code=303)
        return Template("reports/track_lookup.html", context={"code": ""})

    @get("/t/{code:str}", name="report_track")
    async def track(
        self,
        request: Request,
        code: FromPath[str],
        new: FromQuery[bool] = False,
        joined: FromQuery[bool] = False,
        rated: FromQuery[bool] = False,
    ) -> Template:
        limited = await _track_limited(request, code)
        view = None if limited else await reports.track(code)
        if view is None:
            return _unknown(code, limited)
        return _track_page(view, {"new": new, "joined": joined, "rated": rated})

    @post("/t/{code:str}/rate", name="report_rate", status_code=200)
    async def rate(
        self, request: Request, code: FromPath[str], data: Annotated[dict[str, str], FORM]
    ) -> Template | Redirect:
        limited = await _track_limited(request)
        errors = None if limited else await reports.rate(code, data)
        if errors is None:
            return _unknown(code, limited)
        if errors:
            view = await reports.track(code)
            return _track_page(view, {}, errors=errors, values=data, status_code=422)  # type: ignore[arg-type]  # rate found the code
        return Redirect(f"/t/{rules.normalise_code(code)}?rated=1", status_code=303)

    @post("/t/{code:str}/push", name="report_track_push", status_code=200)
    async def push_on(self, request: Request, code: FromPath[str]) -> Response:
        """The tracking page's "notify me on this phone": this browser's subscription, for this
        code (JSON from static/js/channels.js). Counted as a look-up."""
        tracking = None if await _track_limited(request) else await push.known_tracking(code)
        if tracking is None:
            raise NotFoundException()
        ok = await push.subscribe_tracking(
            tracking, await _json(request), request.headers.get("user-agent", ""), get_locale()
        )
        return Response({"ok": ok}, status_code=200 if ok else 422, headers=NO_STORE)

    @post("/t/{code:str}/push/off", name="report_track_push_off", status_code=200)
    async def push_off(self, request: Request, code: FromPath[str]) -> Response:
        tracking = None if await _track_limited(request) else await push.known_tracking(code)
        body = await _json(request)
        endpoint = body.get("endpoint") if isinstance(body, dict) else None
        if tracking is None or not isinstance(endpoint, str):
            raise NotFoundException()
        await push.unsubscribe_tracking(tracking, endpoint)
        return Response({"ok": True}, headers=NO_STORE)

    @get("/report/similar/{report_id:int}/photo", name="report_similar_photo")
    async def similar_photo(self, request: Request, report_id: FromPath[int]) -> Response:
        data = await reports.similar_photo(report_id, request.app.state.settings.upload_dir)
        if data is None:
            raise NotFoundException()
        headers = {"Cache-Control": "public, max-age=300", "Referrer-Policy": "no-referrer"}
        return Response(data, media_type="image/jpeg", headers=headers)

    @get("/t/{code:str}/photos/{photo_id:int}", name="report_track_photo")
    async def photo(self, request: Request, code: FromPath[str], photo_id: FromPath[int]) -> File:
        path = await reports.tracking_photo(code, photo_id, request.app.state.settings.upload_dir)
        return photo_response(path, {"Referrer-Policy": "no-referrer"})


async def _json(request: Request) -> object:
    try:
        return json.loads(await request.body())
    except ValueError:
        return None


async def _track_limited(request: Request, code: str = "") -> bool:
    """Look-ups (found or not) count per browser and, generously, per client address. The receipt
    shown right after a report does not count: its link is signed for the browser that filed
    the report, which knows the code already."""
    settings = request.app.state.settings
    ip, browser = current_request.get().ip or "unknown", current_browser.get()
    tracking = rules.normalise_code(code)
    receipt = request.query_params.get("receipt", "")
    if tracking and receipt and signed(settings.secret_key, receipt, "receipt", tracking, browser):
        return False
    return not (
        (not browser or await ratelimit.allow(f"track:browser:{browser}", settings.track_per_minute, LOOKUP_WINDOW))
        and await ratelimit.allow(f"track:ip:{ip}", settings.track_address_per_minute, LOOKUP_WINDOW)
    )


def _unknown(code: str, limited: bool) -> Template:
    """A wrong code and a code that does not exist get the same answer (and both count against
    the client's lookups), so the page tells nothing about which codes exist."""
    return Template(
        "reports/track_lookup.html",
        context={"code": code[:20], "unknown": not limited, "limited": limited},
        status_code=429 if limited else 404,
        headers=NO_STORE,
    )


def _track_page(
    view: dict, flags: dict, errors: dict | None = None, values: dict | None = None, status_code: int = 200
) -> Template:
    return Template(
        "reports/track.html",
        status_code=status_code,
        headers={**NO_STORE, "Referrer-Policy": "no-referrer"},
        context={
            **view,
            "flags": flags,
            "errors": errors or {},
            "values": values or {},
            "statuses": rules.STATUSES,
            "step_label": reports.step_label,
            "push_ready": push.keys() is not None,
        },
    )


# --- staff ----------------------------------------------------------------------------------------


class ReportStaffController(Controller):
    path = "/reports"
    include_in_schema = False

    @get("/", name="report_queue", guards=[requires(*reports.STAFF)])
    async def queue(
        self,
        request: Request,
        me: Me,
        status: FromQuery[str] = "open",
        sort: FromQuery[str] = "newest",
        mine: FromQuery[bool] = False,
        older: FromQuery[int | None] = None,
    ) -> Template:
        criteria = reports.QueueFilter(
            status=status if status in (*rules.STATUSES, "open", "all", "escalated") else "open",
            sort="joined" if sort == "joined" else "newest",
            mine=mine,
        )
        hours = request.app.state.settings.escalate_after_hours
        found = await reports.queue(me, criteria, timedelta(hours=hours), older=older)
        return Template(
            "reports/queue.html",
            context={
                "page": found,
                "criteria": criteria,
                "statuses": rules.STATUSES,
                "counts": await reports.counts(me),
            },
        )

    @get("/{report_id:int}", name="report_detail", guards=[requires(*reports.STAFF)])
    async def detail(self, request: Request, me: Me, report_id: FromPath[int]) -> Template:
        return await _detail(request, me, report_id)

    @post("/{report_id:int}/steps", name="report_step", guards=[requires(*reports.STAFF)], status_code=200)
    async def step(
        self, request: Request, me: Me, report_id: FromPath[int], data: Annotated[dict[str, str], FORM]
    ) -> Template | Redirect:
        action = data.get("action", "")
        errors = await reports.act(me, report_id, action, data)
        if errors is None:
            raise NotFoundException()
        if errors:
            return await _detail(request, me, report_id, errors=errors, values=data, status_code=422)
        return Redirect(f"/reports/{report_id}?done={action}", status_code=303)

    @post("/{report_id:int}/phones", name="report_phones", guards=[requires(*reports.STAFF)], status_code=200)
    async def phones(self, request: Request, me: Me, report_id: FromPath[int]) -> Template:
        shown = await reports.reveal_phones(me, report_id)
        if shown is None:
            raise NotFoundException()
        return await _detail(request, me, report_id, phones={r["id"]: r["phone"] for r in shown})

    @get("/photos/{photo_id:int}", name="report_photo", guards=[requires(*reports.STAFF)])
    async def photo(self, request: Request, me: Me, photo_id: FromPath[int]) -> File:
        path = await reports.staff_photo(me, photo_id, request.app.state.settings.upload_dir)
        return photo_response(path)


async def _detail(
    request: Request,
    me: Principal,
    report_id: int,
    errors: dict | None = None,
    values: dict | None = None,
    phones: dict | None = None,
    status_code: int = 200,
) -> Template:
    report = await reports.get(me, report_id)
    if report is None:
        raise NotFoundException()
    return Template(
        "reports/detail.html",
        status_code=status_code,
        headers=NO_STORE,
        context={
            "report": report,
            "errors": errors or {},
            "values": values or {},
            "phones": phones or {},
            "statuses": rules.STATUSES,
            "step_label": reports.step_label,
            "done": request.query_params.get("done", ""),
            "assignees": await reports.assignee_choices(report),
            "agencies": await reports.agency_choices(),
            "categories": await report_lists.categories() if "category" in report["actions"] else [],
        },
    )


# --- admin: categories and posters ---------------------------------------------------------------


async def _categories_page(form: report_lists.CategoryForm | None = None, status_code: int = 200) -> Template:
    return Template(
        "reports/admin.html",
        status_code=status_code,
        context={
            "categories": await report_lists.categories(include_inactive=True),
            "form": form or report_lists.CategoryForm(),
        },
    )


class ReportAdminController(Controller):
    path = "/admin/reports"
    include_in_schema = False

    @get("/", name="report_admin", guards=[admin_only])
    async def index(self) -> Template:
        return await _categories_page()

    @post("/categories", name="report_category_create", guards=[admin_only], status_code=200)
    async def create_category(self, me: Me, data: Annotated[dict[str, str], FORM]) -> Template | Redirect:
        form = report_lists.CategoryForm.from_data(data)
        if await report_lists.save_category(form, actor_of(me)) is None:
            return await _categories_page(form, status_code=422)
        return Redirect("/admin/reports", status_code=303)

    @get("/categories/{category_id:int}", name="report_category_edit", guards=[admin_only])
    async def edit_category(self, category_id: FromPath[int]) -> Template:
        row = await report_lists.category(category_id)
        if row is None:
            raise NotFoundException()
        form = report_lists.CategoryForm(row["code"], row["name_zh"], row["name_en"], row["hint_zh"], row["hint_en"])
        return Template("reports/admin_category.html", context={"category": row, "form": form})

    @post("/categories/{category_id:int}", name="report_category_update", guards=[admin_only], status_code=200)
    async def update_category(
        self, me: Me, category_id: FromPath[int], data: Annotated[dict[str, str], FORM]
    ) -> Template | Redirect:
        row = await report_lists.category(category_id)
        if row is None:
            raise NotFoundException()
        form = report_lists.CategoryForm.from_data({**data, "code": row["code"]})
        if await report_lists.save_category(form, actor_of(me), category_id) is None:
            return Template("reports/admin_category.html", status_code=422, context={"category": row, "form": form})
        return Redirect("/admin/reports", status_code=303)

    @post("/categories/{category_id:int}/active", name="report_category_active", guards=[admin_only], status_code=303)
    async def toggle_category(
        self, me: Me, category_id: FromPath[int], data: Annotated[dict[str, str], FORM]
    ) -> Redirect:
        if not await report_lists.set_active(category_id, data.get("active") == "1", actor_of(me)):
            raise NotFoundException()
        return Redirect("/admin/reports", status_code=303)

    @get("/posters", name="report_posters", guards=[requires(*POSTER_ROLES)])
    async def posters(self, request: Request, me: Me) -> Template:
        return Template(
            "reports/posters.html",
            context={
                "grids": await report_posters.overview(me),
                "offices": await report_posters.offices(me),
                "retired": request.query_params.get("retired", ""),
            },
        )

    @get("/posters/{kind:str}/{unit_id:int}", name="report_poster_print", guards=[requires(*POSTER_ROLES)])
    async def poster(self, request: Request, me: Me, kind: FromPath[str], unit_id: FromPath[int]) -> Template:
        """The poster as it prints; a unit without a code yet offers the button that issues one."""
        pair = await report_posters.show(me, kind, unit_id) if kind in report_posters.KINDS else None
        if pair is None:
            raise NotFoundException()
        return await _poster_page(
            request,
            [pair],
            back="/admin/reports/posters",
            single=True,
            issue=f"/admin/reports/posters/{kind}/{unit_id}",
        )

    @post(
        "/posters/{kind:str}/{unit_id:int}",
        name="report_poster_issue",
        guards=[requires(*POSTER_ROLES)],
        status_code=303,
    )
    async def issue(self, me: Me, kind: FromPath[str], unit_id: FromPath[int]) -> Redirect:
        pair = await report_posters.issue(me, kind, unit_id, actor_of(me)) if kind in report_posters.KINDS else None
        if pair is None:
            raise NotFoundException()
        return Redirect(f"/admin/reports/posters/{kind}/{unit_id}", status_code=303)

    @get("/posters/grid-places/{grid_id:int}", name="report_poster_batch", guards=[requires(*POSTER_ROLES)])
    async def batch(self, request: Request, me: Me, grid_id: FromPath[int]) -> Template:
        found = await report_posters.grid_batch(me, grid_id)
        if found is None:
            raise NotFoundException()
        _grid, pages = found
        return await _poster_page(
            request,
            pages,
            back="/admin/reports/posters",
            single=False,
            issue=f"/admin/reports/posters/grid-places/{grid_id}",
        )

    @post(
        "/posters/grid-places/{grid_id:int}",
        name="report_poster_batch_issue",
        guards=[requires(*POSTER_ROLES)],
        status_code=303,
    )
    async def issue_batch(self, me: Me, grid_id: FromPath[int]) -> Redirect:
        if not await report_posters.issue_batch(me, grid_id, actor_of(me)):
            raise NotFoundException()
        return Redirect(f"/admin/reports/posters/grid-places/{grid_id}", status_code=303)

    @post(
        "/poster-codes/{poster_id:int}/retire",
        name="report_poster_retire",
        guards=[requires(*POSTER_ROLES)],
        status_code=303,
    )
    async def retire(self, me: Me, poster_id: FromPath[int], data: Annotated[dict[str, str], FORM]) -> Redirect:
        if data.get("confirm") != "1":  # every printed copy stops working: the box must be ticked (no JS needed)
            found = await report_posters.retirable(me, poster_id)
            if found is None:
                raise NotFoundException()
            poster, kind, _unit = found
            return Redirect(f"/admin/reports/posters/{kind}/{poster[kind]}?unconfirmed=1", status_code=303)
        fresh = await report_posters.retire(me, poster_id, actor_of(me))
        if fresh is None:
            raise NotFoundException()
        return Redirect(f"/admin/reports/posters/{fresh['kind']}/{fresh['unit_id']}?reissued=1", status_code=303)


async def _poster_page(
    request: Request, pairs: list[tuple[dict, dict | None]], back: str, single: bool, issue: str
) -> Template:
    """Posters that have a code print; the units without one are named, with the button (`issue`) that issues them."""
    base = request.app.state.settings.public_base_url
    pages = []
    for unit, poster in [(u, p) for u, p in pairs if p]:
        url = f"{base}/r/{poster['code']}"
        contact = await reports.station_contact(unit["station"])
        pages.append(
            {
                "unit": unit,
                "poster": poster,
                "url": url,
                "station": contact,
                "svg": report_posters.qr_svg(url, unit["name"]),
            }
        )
    return Template(
        "reports/poster.html",
        headers=NO_STORE,
        context={
            "pages": pages,
            "back": back,
            "single": single,
            "reissued": request.query_params.get("reissued", ""),
            "unconfirmed": request.query_params.get("unconfirmed", ""),
            "without_code": [u for u, p in pairs if p is None],
            "issue": issue,
        },
    )
