"""Volunteers: the public registration page (/volunteer/register) and the pages of officers
and volunteers under /volunteers: approval queue, patrol shifts, sign-up, check-in and out,
attendance, observations, hours, certificate and export.

Every action is a plain form post: success redirects (303) to the page with a short notice;
a refusal re-renders the page (422) saying why, in the user's language."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

import segno
from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import File, Redirect, Template

from app.browser import current_browser
from app.domain import volunteers as rules
from app.domain.access import Principal
from app.domain.photos import MAX_BYTES
from app.i18n import N_, format_datetime, gettext
from app.request_context import current_request
from app.routes.downloads import csv_download
from app.routes.forms import posted, replay_accepted, replay_refusal, replayed
from app.routes.guards import Me, requires
from app.routes.uploads import fields_and_photo, photo_response
from app.services import ratelimit, volunteers

STAFF = volunteers.STAFF
EVERYONE_HERE = ("volunteer", *STAFF)
# A registration is a few short fields: anything larger is not one.
REGISTER_MAX_BODY = 16 * 1024
# The check-box groups of the volunteer forms: read as lists even when one box (or none) is ticked.
LISTS = ("grids", "availability", "skills")
RECEIVED = N_("Registration received. An officer of your neighbourhood will contact you by phone.")
NO_STORE = {"Cache-Control": "no-store"}
DONE = {
    "signed_up": N_("You have a place on this shift."),
    "waiting": N_("The shift is full: you are on the waiting list. You move up automatically if someone cancels."),
    "withdrawn": N_("Your sign-up is cancelled."),
    "checked_in": N_("Checked in. Have a safe patrol."),
    "checked_out": N_("Checked out. Thank you!"),
    "marked": N_("Attendance saved."),
    "corrected": N_("Minutes corrected. The change and its reason are in the audit log."),
    "observed": N_("Observation sent."),
    "observed_urgent": N_("Urgent observation sent: the grid's officers see it now."),
    "created": N_("Shift saved."),
    "saved": N_("Changes saved. Volunteers who signed up see them on their page."),
    "cancelled": N_("The shift is cancelled. Volunteers who signed up see it on their page."),
    "declined": N_("The application is declined."),
    "acknowledged": N_("Marked as seen."),
    "senior": N_("Saved."),
}


def _settings(request: Request):
    return request.app.state.settings


def refusal_text(refusal: rules.Refusal, tz: str) -> str:
    values = {k: format_datetime(v, tz=tz) if isinstance(v, datetime) else v for k, v in refusal.params.items()}
    return gettext(refusal.message, **values)


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


async def _form(request: Request) -> dict[str, str | list[str]]:
    return (await posted(request)).with_lists(*LISTS)


def _qr_svg(link: str) -> str:
    return segno.make(link, error="m").svg_inline(scale=4, dark="#000", light="#fff")


class VolunteerRegisterController(Controller):
    """The public page: anyone may apply; an officer of the chosen grids decides."""

    path = "/volunteer"

    @get("/register", name="volunteer_register")
    async def page(self) -> Template:
        return await _register_page({"client_uuid": str(uuid.uuid4())}, {})

    @post("/register", name="volunteer_register_send", status_code=200, request_max_body_size=REGISTER_MAX_BODY)
    async def send(self, request: Request) -> Template | Response:
        raw = await _form(request)
        outcome = await volunteers.register(raw, _settings(request))
        replay = replayed(request)  # from the offline outbox: JSON for its card
        if outcome.ok:
            return replay_accepted(message=gettext(RECEIVED)) if replay else Template("volunteers/received.html")
        if outcome.refusal:
            text = refusal_text(outcome.refusal, _settings(request).time_zone)
            return replay_refusal({"form": text}, 429) if replay else await _register_page(raw, {}, text, 429)
        if replay:
            return replay_refusal(outcome.errors)
        if "form" in outcome.errors:  # no usable client id: a fresh one, and say why
            fresh = {**raw, "client_uuid": str(uuid.uuid4())}
            return await _register_page(fresh, {}, gettext(str(outcome.errors["form"])), 422)
        return await _register_page(raw, outcome.errors, status_code=422)


class CertificateCheckController(Controller):
    """The public check of a printed certificate: /v/<code> (on the paper, as text and QR)."""

    @get("/v/{code:str}", name="volunteer_certificate_check")
    async def check(self, request: Request, code: FromPath[str]) -> Template:
        settings = _settings(request)
        if await _check_limited(request):
            return Template("volunteers/verify.html", context={"limited": True}, status_code=429, headers=NO_STORE)
        cert = await volunteers.verify_certificate(code, settings.time_zone)
        return Template(
            "volunteers/verify.html",
            context={"cert": cert, "code": code[:20]},
            status_code=200 if cert else 404,
            headers=NO_STORE,
        )


async def _check_limited(request: Request) -> bool:
    """Look-ups count like the report tracking page's: per browser and, generously, per address."""
    settings = _settings(request)
    ip, browser = current_request.get().ip or "unknown", current_browser.get()
    window = timedelta(minutes=1)
    return not (
        (not browser or await ratelimit.allow(f"certificate:browser:{browser}", settings.track_per_minute, window))
        and await ratelimit.allow(f"certificate:ip:{ip}", settings.track_address_per_minute, window)
    )


async def _register_page(values: dict, errors: dict, message: str = "", status_code: int = 200) -> Template:
    return Template(
        "volunteers/register.html",
        status_code=status_code,
        context={
            "values": values,
            "errors": errors,
            "message": message,
            "choices": await volunteers.registration_choices(),
            "availability": rules.AVAILABILITY,
            "skills": rules.SKILLS,
        },
    )


class VolunteersController(Controller):
    path = "/volunteers"

    # --- the officer's page and the approval queue -------------------------------------------

    @get("/", name="volunteers_home", guards=[requires(*STAFF)])
    async def home(self, request: Request, me: Me, done: FromQuery[str] = "") -> Template:
        overview = await volunteers.staff_overview(me, _settings(request))
        return Template("volunteers/hub.html", context={"o": overview, "done": DONE.get(done, "")})

    @get("/applications", name="volunteer_applications", guards=[requires(*STAFF)])
    async def applications(self, me: Me, status: FromQuery[str] = "pending", done: FromQuery[str] = "") -> Template:
        rows = await volunteers.applications(me, status)
        return Template(
            "volunteers/applications.html",
            context={
                "rows": rows,
                "status": status if status in rules.STATUSES else "pending",
                "statuses": rules.STATUSES,
                "availability": rules.AVAILABILITY,
                "skills": rules.SKILLS,
                "done": DONE.get(done, ""),
            },
        )

    @get("/applications/{app_id:int}", name="volunteer_application", guards=[requires(*STAFF)])
    async def application(self, me: Me, app_id: FromPath[int], reveal: FromQuery[bool] = False) -> Template:
        row = await volunteers.application(me, app_id, reveal_phone=reveal)
        if row is None:
            raise NotFoundException()
        return _application_page(row)

    @post("/applications/{app_id:int}/approve", name="volunteer_approve", guards=[requires(*STAFF)], status_code=200)
    async def approve(self, request: Request, me: Me, app_id: FromPath[int]) -> Template:
        form = await posted(request)
        outcome = await volunteers.approve(
            me, app_id, form.ids("grids"), _settings(request), separate=form.text("separate") == "1"
        )
        row = await volunteers.application(me, app_id)
        if row is None:
            raise NotFoundException()
        if not outcome.ok:
            return _application_page(row, outcome, _settings(request).time_zone, status_code=422)
        return _application_page(row, link=outcome.link)

    @post("/applications/{app_id:int}/decline", name="volunteer_decline", guards=[requires(*STAFF)], status_code=200)
    async def decline(self, request: Request, me: Me, app_id: FromPath[int]) -> Template | Redirect:
        reason = (await posted(request)).text("reason")
        outcome = await volunteers.decline(me, app_id, reason)
        if outcome.ok:
            return Redirect("/volunteers/applications?done=declined", status_code=303)
        row = await volunteers.application(me, app_id)
        if row is None:
            raise NotFoundException()
        return _application_page(row, outcome, _settings(request).time_zone, reason=reason, status_code=422)

    # --- shifts ----------------------------------------------------------------------------

    @get("/my", name="volunteer_my_shifts", guards=[requires("volunteer")])
    async def my(self, request: Request, me: Me, done: FromQuery[str] = "") -> Template:
        mine = await volunteers.my_shifts(me, _settings(request))
        open_shifts = [s for s in await volunteers.upcoming(me, _settings(request)) if not s["my_status"]]
        return Template(
            "volunteers/my.html", context={"mine": mine, "open_shifts": open_shifts, "done": DONE.get(done, "")}
        )

    @get("/shifts", name="volunteer_shifts", guards=[requires(*EVERYONE_HERE)])
    async def shifts(self, request: Request, me: Me) -> Template:
        rows = await volunteers.upcoming(me, _settings(request))
        return Template("volunteers/shifts.html", context={"rows": rows})

    @get("/shifts/new", name="volunteer_shift_new", guards=[requires(*STAFF)])
    async def new_shift(self, request: Request, me: Me) -> Template:
        return await _shift_form(request, me, {"weeks": "1", "min_volunteers": "2", "max_volunteers": "6"}, {})

    @post("/shifts/new", name="volunteer_shift_create", guards=[requires(*STAFF)], status_code=200)
    async def create_shift(self, request: Request, me: Me) -> Template | Redirect:
        raw = await _form(request)
        outcome = await volunteers.create_shifts(me, raw, _settings(request))
        if not outcome.ok:
            return await _shift_form(request, me, raw, outcome.errors, status_code=422)
        return Redirect(f"/volunteers/shifts/{outcome.id}?done=created", status_code=303)

    @get("/shifts/{shift_id:int}", name="volunteer_shift", guards=[requires(*EVERYONE_HERE)])
    async def shift(self, request: Request, me: Me, shift_id: FromPath[int], done: FromQuery[str] = "") -> Template:
        return await _shift_page(request, me, shift_id, done=DONE.get(done, ""))

    @get("/shifts/{shift_id:int}/edit", name="volunteer_shift_edit", guards=[requires(*STAFF)])
    async def edit_shift(self, request: Request, me: Me, shift_id: FromPath[int]) -> Template:
        values = await volunteers.shift_form_values(me, shift_id, _settings(request).time_zone)
        if values is None:
            raise NotFoundException()
        return await _shift_form(request, me, values, {}, shift_id=shift_id)

    @post("/shifts/{shift_id:int}/edit", name="volunteer_shift_update", guards=[requires(*STAFF)], status_code=200)
    async def update_shift(self, request: Request, me: Me, shift_id: FromPath[int]) -> Template | Redirect:
        stored = await volunteers.shift_form_values(me, shift_id, _settings(request).time_zone)
        if stored is None:
            raise NotFoundException()
        raw = await _form(request)
        outcome = await volunteers.update_shift(
            me, shift_id, raw, _settings(request), with_series=raw.get("with_series") == "1"
        )
        if not outcome.ok:
            raw.update(_shift=stored["_shift"], _later=stored["_later"])
            message = refusal_text(outcome.refusal, _settings(request).time_zone) if outcome.refusal else ""
            return await _shift_form(
                request, me, raw, outcome.errors, shift_id=shift_id, status_code=422, message=message
            )
        return Redirect(f"/volunteers/shifts/{shift_id}?done=saved", status_code=303)

    @post("/shifts/{shift_id:int}/cancel", name="volunteer_shift_cancel", guards=[requires(*STAFF)], status_code=200)
    async def cancel_shift(self, request: Request, me: Me, shift_id: FromPath[int]) -> Template | Redirect:
        form = await posted(request)
        reason = form.text("reason")
        outcome = await volunteers.cancel_shift(me, shift_id, reason, with_series=form.text("with_series") == "1")
        if outcome.ok:
            return Redirect(f"/volunteers/shifts/{shift_id}?done=cancelled", status_code=303)
        return await _shift_page(request, me, shift_id, outcome, reason=reason)

    @post("/shifts/{shift_id:int}/signup", name="volunteer_signup", guards=[requires("volunteer")], status_code=200)
    async def sign_up(self, request: Request, me: Me, shift_id: FromPath[int]) -> Template | Redirect:
        outcome = await volunteers.sign_up(me, shift_id, _settings(request))
        if outcome.ok:
            done = "signed_up" if outcome.status == "confirmed" else "waiting"
            return Redirect(f"/volunteers/shifts/{shift_id}?done={done}", status_code=303)
        return await _shift_page(request, me, shift_id, outcome)

    @post("/shifts/{shift_id:int}/withdraw", name="volunteer_withdraw", guards=[requires("volunteer")], status_code=200)
    async def withdraw(self, request: Request, me: Me, shift_id: FromPath[int]) -> Template | Redirect:
        outcome = await volunteers.withdraw(me, shift_id, _settings(request))
        if outcome.ok:
            return Redirect(f"/volunteers/shifts/{shift_id}?done=withdrawn", status_code=303)
        return await _shift_page(request, me, shift_id, outcome)

    @post("/shifts/{shift_id:int}/check-in", name="volunteer_check_in", guards=[requires("volunteer")], status_code=200)
    async def check_in(self, request: Request, me: Me, shift_id: FromPath[int]) -> Template | Redirect:
        raw = await _form(request)
        outcome = await volunteers.check_in(me, shift_id, raw)
        if outcome.ok:
            return Redirect(f"/volunteers/shifts/{shift_id}?done=checked_in", status_code=303)
        return await _shift_page(request, me, shift_id, outcome)

    @post(
        "/shifts/{shift_id:int}/check-out", name="volunteer_check_out", guards=[requires("volunteer")], status_code=200
    )
    async def check_out(self, request: Request, me: Me, shift_id: FromPath[int]) -> Template | Redirect:
        outcome = await volunteers.check_out(me, shift_id)
        if outcome.ok:
            return Redirect(f"/volunteers/shifts/{shift_id}?done=checked_out", status_code=303)
        return await _shift_page(request, me, shift_id, outcome)

    @post(
        "/shifts/{shift_id:int}/attendance",
        name="volunteer_attendance",
        guards=[requires(*EVERYONE_HERE)],
        status_code=200,
    )
    async def attendance(self, request: Request, me: Me, shift_id: FromPath[int]) -> Template | Redirect:
        form = await posted(request)
        outcome = await volunteers.mark(me, shift_id, form.id("signup"), form.text("attendance"))
        if outcome.ok:
            return Redirect(f"/volunteers/shifts/{shift_id}?done=marked#roster", status_code=303)
        return await _shift_page(request, me, shift_id, outcome)

    @post(
        "/shifts/{shift_id:int}/minutes",
        name="volunteer_correct_minutes",
        guards=[requires(*EVERYONE_HERE)],
        status_code=200,
    )
    async def correct_minutes(self, request: Request, me: Me, shift_id: FromPath[int]) -> Template | Redirect:
        form = await posted(request)
        signup = form.id("signup")
        raw = {"minutes": form.text("minutes"), "reason": form.text("reason")}
        outcome = await volunteers.correct_minutes(me, shift_id, signup, raw)
        if outcome.ok:
            return Redirect(f"/volunteers/shifts/{shift_id}?done=corrected#roster", status_code=303)
        return await _shift_page(
            request, me, shift_id, outcome, corrections={signup: {**raw, "errors": outcome.errors}}
        )

    @post(
        "/shifts/{shift_id:int}/observations",
        name="volunteer_observe",
        guards=[requires(*EVERYONE_HERE)],
        status_code=200,
    )
    async def observe(self, request: Request, me: Me, shift_id: FromPath[int]) -> Template | Redirect:
        raw, photo = await fields_and_photo(request)
        outcome = await volunteers.observe(me, shift_id, raw, photo, _settings(request).upload_dir)
        if outcome.ok:
            done = "observed_urgent" if raw.get("urgent") else "observed"
            return Redirect(f"/volunteers/shifts/{shift_id}?done={done}", status_code=303)
        return await _shift_page(request, me, shift_id, outcome, observation=raw)

    # --- observations ---------------------------------------------------------------------

    @get("/observations/{observation_id:int}", name="volunteer_observation", guards=[requires(*EVERYONE_HERE)])
    async def observation(self, me: Me, observation_id: FromPath[int], done: FromQuery[str] = "") -> Template:
        row = await volunteers.observation(me, observation_id)
        if row is None:
            raise NotFoundException()
        return Template("volunteers/observation.html", context={"o": row, "done": DONE.get(done, "")})

    @post(
        "/observations/{observation_id:int}/acknowledge",
        name="volunteer_acknowledge",
        guards=[requires(*STAFF)],
        status_code=303,
    )
    async def acknowledge(self, me: Me, observation_id: FromPath[int]) -> Redirect:
        outcome = await volunteers.acknowledge(me, observation_id)
        if not outcome.ok:
            raise NotFoundException()
        return Redirect(f"/volunteers/observations/{observation_id}?done=acknowledged", status_code=303)

    @get("/photos/{photo_id:int}", name="volunteer_photo", guards=[requires(*EVERYONE_HERE)])
    async def photo(self, request: Request, me: Me, photo_id: FromPath[int]) -> File:
        path = await volunteers.photo_file(me, photo_id, _settings(request).upload_dir)
        return photo_response(path)

    # --- hours ----------------------------------------------------------------------------

    @get("/hours", name="volunteer_hours", guards=[requires(*EVERYONE_HERE)])
    async def hours(
        self,
        request: Request,
        me: Me,
        since: FromQuery[str] = "",
        until: FromQuery[str] = "",
        person: FromQuery[int | None] = None,
    ) -> Template:
        tz = _settings(request).time_zone
        start, end = _day(since), _day(until)
        if person is None and volunteers.is_staff(me):
            rows = await volunteers.totals(me, start, end, tz)
            return Template("volunteers/totals.html", context={"rows": rows, "since": since, "until": until})
        ledger = await volunteers.ledger(me, person or me.id, start, end, tz)
        if ledger is None:
            raise NotFoundException()
        return Template(
            "volunteers/hours.html", context={"l": ledger, "since": since, "until": until, "person_param": person}
        )

    @post("/hours/certificate", name="volunteer_certificate_issue", guards=[requires(*EVERYONE_HERE)], status_code=303)
    async def issue_certificate(self, request: Request, me: Me) -> Redirect:
        """Each issue is a new numbered document (a POST: the number is kept)."""
        form = await posted(request)
        person = form.id("person") or me.id
        since, until = _day(form.text("since")), _day(form.text("until"))
        code = await volunteers.issue_certificate(me, person, since, until, _settings(request).time_zone)
        if code is None:
            raise NotFoundException()
        return Redirect(f"/volunteers/certificates/{code}", status_code=303)

    @get("/certificates/{code:str}", name="volunteer_certificate", guards=[requires(*EVERYONE_HERE)])
    async def certificate(self, request: Request, me: Me, code: FromPath[str]) -> Template:
        settings = _settings(request)
        cert = await volunteers.certificate(me, code, settings.time_zone)
        if cert is None:
            raise NotFoundException()
        link = f"{settings.public_base_url}/v/{cert['code']}"
        back = "/volunteers/hours" + (f"?person={cert['person']}" if cert["person"] != me.id else "")
        return Template(
            "volunteers/certificate.html", context={"c": cert, "link": link, "qr": _qr_svg(link), "back": back}
        )

    @get("/hours/export.csv", name="volunteer_hours_export", guards=[requires(*STAFF)])
    async def export(
        self, request: Request, me: Me, since: FromQuery[str] = "", until: FromQuery[str] = ""
    ) -> Response:
        text = await volunteers.export_csv(me, _day(since), _day(until), _settings(request).time_zone)
        return csv_download(text, "volunteer-hours.csv")

    @get("/people", name="volunteer_people", guards=[requires(*STAFF)])
    async def people(self, me: Me, done: FromQuery[str] = "") -> Template:
        rows = await volunteers.volunteers_list(me)
        return Template("volunteers/people.html", context={"rows": rows, "done": DONE.get(done, "")})

    @post("/people/{person_id:int}/senior", name="volunteer_senior", guards=[requires(*STAFF)], status_code=303)
    async def senior(self, request: Request, me: Me, person_id: FromPath[int]) -> Redirect:
        outcome = await volunteers.set_senior(me, person_id, (await posted(request)).text("senior") == "1")
        if not outcome.ok:
            raise NotFoundException()
        return Redirect("/volunteers/people?done=senior", status_code=303)


def _application_page(
    row: dict,
    outcome: volunteers.Outcome | None = None,
    tz: str = "",
    link: str = "",
    reason: str = "",
    status_code: int = 200,
) -> Template:
    message = refusal_text(outcome.refusal, tz) if outcome and outcome.refusal else ""
    return Template(
        "volunteers/application.html",
        status_code=status_code,
        context={
            "a": row,
            "errors": outcome.errors if outcome else {},
            "message": message,
            "reason": reason,
            "link": link,
            "qr": _qr_svg(link) if link else "",
            "availability": rules.AVAILABILITY,
            "skills": rules.SKILLS,
            "statuses": rules.STATUSES,
        },
    )


async def _shift_form(
    request: Request,
    me: Principal,
    values: dict,
    errors: dict,
    shift_id: int | None = None,
    status_code: int = 200,
    message: str = "",
) -> Template:
    return Template(
        "volunteers/shift_form.html",
        status_code=status_code,
        context={
            "values": values,
            "errors": errors,
            "shift_id": shift_id,
            "message": message,
            "choices": await volunteers.shift_form_choices(me),
            "max_weeks": rules.MAX_WEEKS,
        },
    )


async def _shift_page(
    request: Request,
    me: Principal,
    shift_id: int,
    outcome: volunteers.Outcome | None = None,
    done: str = "",
    reason: str = "",
    observation: dict | None = None,
    corrections: dict | None = None,
) -> Template:
    settings = _settings(request)
    row = await volunteers.shift(me, shift_id, settings)
    if row is None:
        raise NotFoundException()
    message = ""
    if outcome and outcome.refusal:
        message = refusal_text(outcome.refusal, settings.time_zone)
    elif outcome and outcome.errors:
        message = gettext(outcome.errors.get("form", N_("Please correct the marked fields.")))
    refusal = row["signup_refusal"]
    observation = dict(observation or {})
    observation.setdefault("client_uuid", str(uuid.uuid4()))
    if outcome and outcome.errors:
        observation["client_uuid"] = str(uuid.uuid4())
    return Template(
        "volunteers/shift.html",
        status_code=422 if outcome else 200,
        context={
            "s": row,
            "done": done,
            "message": message,
            "errors": outcome.errors if outcome and not corrections else {},
            "corrections": corrections or {},
            "reason": reason,
            "signup_refusal": refusal_text(refusal, settings.time_zone) if refusal else "",
            "withdraw_refusal": refusal_text(row["withdraw_refusal"], settings.time_zone)
            if row["withdraw_refusal"]
            else "",
            "attendance": rules.ATTENDANCE,
            "observation": observation,
            "max_photo": MAX_BYTES,
        },
    )
