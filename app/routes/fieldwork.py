"""Field logs from the phone: My day, the three forms, lists, detail, edit, void, the written
agreement, photos and the CSV export.

A form post answers three ways: htmx (the officer's phone, online) gets a small "saved" part
and the form stays for the next log; a plain post gets a redirect to the record; a replay from
the offline outbox (header X-Outbox-Replay) gets JSON the service worker can act on."""

from __future__ import annotations

import uuid
from datetime import date

from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import File, Redirect, Template

from app.domain import agreements
from app.domain import alerts as alert_rules
from app.domain import fieldwork as rules
from app.domain import orders as order_rules
from app.domain.access import Principal
from app.domain.photos import MAX_BYTES
from app.i18n import N_, gettext
from app.routes.downloads import csv_download
from app.routes.forms import posted, row_id
from app.routes.guards import Me, requires
from app.routes.uploads import form_fields, form_photo, photo_response
from app.services import alerts, fieldwork, fieldwork_lists, orders, paging, team, volunteers

WRITERS = fieldwork.WRITERS
READERS = (*WRITERS, "analyst", "admin")
EXPORTERS = ("supervisor", "analyst", "admin")
# URL segment -> kind
FORMS = {"contacts": "contact", "campaign-drops": "campaign_drop", "mediations": "mediation"}
PHOTO_KINDS = {"campaign_drop", "mediation"}
TITLES = {
    "contact": N_("Log a contact"),
    "campaign_drop": N_("Log a campaign drop"),
    "mediation": N_("Log a mediation"),
}
REPLAY_HEADER = "x-outbox-replay"


def kind_of(segment: str) -> str:
    if segment not in FORMS:
        raise NotFoundException()
    return FORMS[segment]


def segment_of(kind: str) -> str:
    return {v: k for k, v in FORMS.items()}[kind]


async def form_context(
    request: Request, me: Principal, kind: str, values: dict, errors: dict, log_id: int | None = None
) -> dict:
    return {
        "kind": kind,
        "segment": segment_of(kind),
        "page_title": TITLES[kind],
        "kind_names": rules.KINDS,
        "values": values,
        "errors": errors,
        "log_id": log_id,
        "choices": await fieldwork.place_choices(me),
        "tags": await fieldwork_lists.topics("tag"),
        "campaign_topics": await fieldwork_lists.topics("campaign"),
        "subject_kinds": rules.SUBJECT_KINDS,
        "dispute_types": rules.DISPUTE_TYPES,
        "mediation_types": agreements.MEDIATION_TYPES,
        "sexes": rules.SEXES,
        "outcomes": rules.OUTCOMES,
        "max_parties": rules.MAX_PARTIES,
        "max_photo": MAX_BYTES,
        "with_photo": kind in PHOTO_KINDS and not log_id,
        "today": fieldwork.today(request.app.state.settings.time_zone).isoformat(),
    }


def error_message(errors: dict[str, str]) -> str:
    return gettext(errors["form"]) if "form" in errors else gettext(N_("Please correct the marked fields."))


def replay_answer(outcome: fieldwork.Outcome) -> Response:
    if outcome.errors:
        return Response(
            {
                "ok": False,
                "message": error_message(outcome.errors),
                "errors": {k: gettext(v) for k, v in outcome.errors.items()},
            },
            status_code=422,
        )
    return Response(
        {"ok": True, "id": outcome.log_id, "url": f"/field/logs/{outcome.log_id}", "created": outcome.created},
        status_code=200,
    )


class FieldworkController(Controller):
    path = "/field"

    @get("/", name="my_day", guards=[requires(*WRITERS)])
    async def my_day(self, request: Request, me: Me) -> Template:
        tz = request.app.state.settings.time_zone
        day = await fieldwork.my_day(me, tz)
        return Template(
            "fieldwork/today.html",
            context={
                "day": day,
                "kinds": rules.KINDS,
                "urgent_observations": await volunteers.urgent_observations(me),
                "my_alerts": await alerts.for_my_day(me),
                "alert_acks": alert_rules.ACKS,
                "alert_states": alert_rules.STATES,
                "work_orders": await orders.for_my_day(me),
                "order_states": order_rules.STATES,
                "team": await team.team_day(me, tz) if me.has(team.ROLE) else None,
            },
        )

    @get("/{segment:str}/new", name="field_new", guards=[requires(*WRITERS)])
    async def new(
        self, request: Request, me: Me, segment: FromPath[str], follow_up: FromQuery[int | None] = None
    ) -> Template:
        kind = kind_of(segment)
        values: dict = {"client_uuid": str(uuid.uuid4())}
        if follow_up:
            earlier = await fieldwork.get(me, follow_up)
            if earlier is not None:
                values.update(
                    follows_up=str(follow_up),
                    place=rules.where_value(earlier["grid"], earlier["place"]),
                    subject_kind=earlier["subject_kind"] or "resident",
                    subject_name=earlier["subject_name"] or "",
                    _follows=earlier,
                )
        return Template("fieldwork/form.html", context=await form_context(request, me, kind, values, {}))

    @post("/{segment:str}/new", name="field_create", guards=[requires(*WRITERS)], status_code=200)
    async def create(self, request: Request, me: Me, segment: FromPath[str]) -> Response | Template | Redirect:
        kind = kind_of(segment)
        raw = await form_fields(request, lists=("tags",))
        photo = await form_photo(request) if kind in PHOTO_KINDS else None
        settings = request.app.state.settings
        outcome = await fieldwork.create(kind, raw, photo, me, settings.time_zone, settings.upload_dir)
        if request.headers.get(REPLAY_HEADER):
            return replay_answer(outcome)
        htmx = bool(request.headers.get("hx-request"))
        if outcome.errors:
            raw["client_uuid"] = raw.get("client_uuid") or str(uuid.uuid4())
            context = await form_context(request, me, kind, raw, outcome.errors)
            if htmx:
                return Template(
                    "fieldwork/_form.html",
                    context=context,
                    status_code=422,
                    headers={"HX-Retarget": "#log-form", "HX-Reswap": "outerHTML"},
                )
            return Template("fieldwork/form.html", context=context, status_code=422)
        if htmx:
            return Template(
                "fieldwork/_saved.html",
                context={"log_id": outcome.log_id, "kind": kind, "created": outcome.created},
                headers={"HX-Trigger": "log-saved"},
            )
        return Redirect(f"/field/logs/{outcome.log_id}?saved=1", status_code=303)

    @get("/logs", name="field_logs", guards=[requires(*READERS)])
    async def logs(
        self,
        request: Request,
        me: Me,
        kind: FromQuery[str] = "",
        grid: FromQuery[str] = "",
        place: FromQuery[str] = "",
        author: FromQuery[str] = "",
        since: FromQuery[str] = "",
        until: FromQuery[str] = "",
        tag: FromQuery[str] = "",
        voided: FromQuery[bool] = False,
        older: FromQuery[int | None] = None,
    ) -> Template:
        criteria, chosen = _criteria(kind, grid, place, author, since, until, tag, voided)
        found, total = await fieldwork.search(me, criteria, request.app.state.settings.time_zone, older)
        return Template(
            "fieldwork/list.html",
            context={
                "page": found,
                "total": total,
                "count_cap": paging.COUNT_CAP,
                "chosen": chosen,
                "choices": await fieldwork.filter_choices(me),
                "kinds": rules.KINDS,
                "topics": await fieldwork_lists.filter_topics(),
                "may_export": me.has(*EXPORTERS),
                "may_unmask": me.has(*fieldwork.PERSONAL_DATA_ROLES),
            },
        )

    @get("/logs/export.csv", name="field_export", guards=[requires(*EXPORTERS)])
    async def export(
        self,
        request: Request,
        me: Me,
        kind: FromQuery[str] = "",
        grid: FromQuery[str] = "",
        place: FromQuery[str] = "",
        author: FromQuery[str] = "",
        since: FromQuery[str] = "",
        until: FromQuery[str] = "",
        tag: FromQuery[str] = "",
        voided: FromQuery[bool] = False,
        full: FromQuery[bool] = False,
    ) -> Response:
        criteria, _chosen = _criteria(kind, grid, place, author, since, until, tag, voided)
        text = await fieldwork.export_csv(me, criteria, request.app.state.settings.time_zone, full)
        return csv_download(text, "field-logs.csv")

    @get("/logs/{log_id:int}", name="field_log", guards=[requires(*READERS)])
    async def detail(self, request: Request, me: Me, log_id: FromPath[int], saved: FromQuery[bool] = False) -> Template:
        log = await _log_or_404(request, me, log_id)
        return Template(
            "fieldwork/detail.html", context={**await _labels(), "log": log, "saved": saved, "errors": {}, "reason": ""}
        )

    @get("/logs/{log_id:int}/edit", name="field_edit", guards=[requires(*READERS)])
    async def edit(self, request: Request, me: Me, log_id: FromPath[int]) -> Template:
        values = await fieldwork.form_values(me, log_id)
        if values is None:
            raise NotFoundException()
        return Template(
            "fieldwork/form.html", context=await form_context(request, me, values["kind"], values, {}, log_id)
        )

    @post("/logs/{log_id:int}/edit", name="field_update", guards=[requires(*READERS)], status_code=200)
    async def update(self, request: Request, me: Me, log_id: FromPath[int]) -> Template | Redirect:
        stored = await fieldwork.form_values(me, log_id)
        if stored is None:
            raise NotFoundException()
        raw = await form_fields(request, lists=("tags",))  # an edit never changes the photo
        outcome = await fieldwork.update(me, log_id, raw, request.app.state.settings.time_zone)
        if outcome.errors:
            raw["_log"] = stored["_log"]
            return Template(
                "fieldwork/form.html",
                status_code=422,
                context=await form_context(request, me, stored["kind"], raw, outcome.errors, log_id),
            )
        return Redirect(f"/field/logs/{log_id}?saved=1", status_code=303)

    @post("/logs/{log_id:int}/void", name="field_void", guards=[requires(*READERS)], status_code=200)
    async def void(self, request: Request, me: Me, log_id: FromPath[int]) -> Template | Redirect:
        log = await _log_or_404(request, me, log_id)
        reason = (await posted(request)).text("reason")
        errors = await fieldwork.void(me, log_id, reason)
        if errors:
            return Template(
                "fieldwork/detail.html",
                status_code=422,
                context={**await _labels(), "log": log, "saved": False, "errors": errors, "reason": reason},
            )
        return Redirect(f"/field/logs/{log_id}", status_code=303)

    @get("/logs/{log_id:int}/agreement", name="field_agreement", guards=[requires(*READERS)])
    async def agreement(self, request: Request, me: Me, log_id: FromPath[int]) -> Template:
        log = await _log_or_404(request, me, log_id)
        if log["kind"] != "mediation" or log["outcome"] != "agreed" or log["voided_at"]:
            raise NotFoundException()
        wording = await fieldwork_lists.agreement_template(log["dispute_type"])
        kind = log["mediation_type"] or "people"
        return Template(
            "fieldwork/agreement.html",
            context={
                "log": log,
                "wording": wording,
                "title": agreements.issued_title(kind, wording.title),
                "issuer": agreements.issuer(kind, log["station_name"], log["committee_name"]),
                "number": agreements.document_number(
                    log["station_name"] + ("调" if kind == "people" else "治调"),
                    log["agreement_year"],
                    log["agreement_n"],
                ),
                "terms": agreements.numbered(log["terms"] or ""),
                "closing": agreements.numbered(wording.closing),
            },
        )

    @get("/photos/{photo_id:int}", name="field_photo", guards=[requires(*READERS)])
    async def photo(self, request: Request, me: Me, photo_id: FromPath[int]) -> File:
        path = await fieldwork.photo_file(me, photo_id, request.app.state.settings.upload_dir)
        return photo_response(path)


async def _log_or_404(request: Request, me: Principal, log_id: int) -> dict:
    log = await fieldwork.get(me, log_id)
    if log is None:
        raise NotFoundException()
    return log


async def _labels() -> dict:
    return {
        "kinds": rules.KINDS,
        "subject_kinds": rules.SUBJECT_KINDS,
        "dispute_types": rules.DISPUTE_TYPES,
        "outcomes": rules.OUTCOMES,
        "tags": await fieldwork_lists.topic_labels("tag"),
        "topics": await fieldwork_lists.topic_labels("campaign"),
    }


def _criteria(
    kind: str, grid: str, place: str, author: str, since: str, until: str, tag: str, voided: bool
) -> tuple[fieldwork.LogFilter, dict]:
    """Query strings to a filter; what could not be read is ignored (and shown as not chosen)."""

    def day(text: str) -> date | None:
        try:
            return date.fromisoformat(text)
        except ValueError:
            return None

    criteria = fieldwork.LogFilter(
        kind=kind if kind in rules.KINDS else "",
        grid=row_id(grid),
        place=row_id(place),
        author=row_id(author),
        since=day(since),
        until=day(until),
        tag=tag[:32],
        voided=voided,
    )
    chosen = {
        "kind": criteria.kind,
        "grid": criteria.grid,
        "place": criteria.place,
        "author": criteria.author,
        "since": criteria.since.isoformat() if criteria.since else "",
        "until": criteria.until.isoformat() if criteria.until else "",
        "tag": criteria.tag,
        "voided": voided,
    }
    return criteria, chosen
