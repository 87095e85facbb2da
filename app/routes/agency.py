"""The agency's desk (/agency): its queue of routed matters and the steps its staff take."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import File, Redirect, Template

from app.domain import reports as report_rules
from app.domain import routing as rules
from app.domain.access import Principal
from app.routes.forms import FORM
from app.routes.guards import Me, requires
from app.routes.uploads import form_fields, form_photo, photo_response
from app.services import agency, agency_calls, reports

NO_STORE = {"Cache-Control": "no-store"}
staff = requires(agency.ROLE)


class AgencyController(Controller):
    path = "/agency"
    include_in_schema = False

    @get("/", name="agency_queue", guards=[staff])
    async def queue(self, me: Me, tab: FromQuery[str] = "new", after: FromQuery[int | None] = None) -> Template:
        tab = tab if tab in agency.TABS else "new"
        return Template(
            "agency/queue.html",
            headers=NO_STORE,
            context={
                "page": None if tab == "calls" else await agency.queue(me, tab, after=after),
                "tab": tab,
                "calls": await _calls_of(me, tab),
                "tabs": agency.TABS,
                "counts": {**await agency.counts(me), **await agency_calls.counts(me)},
                "call_states": agency_calls.STATES,
                "no_agency": not me.agency_ids,
                "no_agency_message": agency.NO_AGENCY,
                "statuses": report_rules.STATUSES,
            },
        )

    @get("/{report_id:int}", name="agency_matter", guards=[staff])
    async def matter(self, request: Request, me: Me, report_id: FromPath[int]) -> Template:
        return await _matter(request, me, report_id)

    @post("/{report_id:int}/steps", name="agency_step", guards=[staff], status_code=200)
    async def step(self, request: Request, me: Me, report_id: FromPath[int]) -> Template | Redirect:
        # Form or multipart: the internal note may bring a photo (read only for a note).
        data = await form_fields(request)
        action = str(data.get("action", ""))
        photo = await form_photo(request) if action == "note" else None
        errors = await agency.act(me, report_id, action, data, photo, request.app.state.settings.upload_dir)
        if errors is None:
            raise NotFoundException()
        if errors:
            return await _matter(request, me, report_id, errors=errors, values=data, status_code=422)
        if action in ("return", "transfer"):  # no longer this agency's: back to the queue
            return Redirect(f"/agency?tab=returned&done={action}", status_code=303)
        return Redirect(f"/agency/{report_id}?done={action}", status_code=303)

    @get("/calls/{call_id:int}", name="agency_call", guards=[staff])
    async def call(self, request: Request, me: Me, call_id: FromPath[int]) -> Template:
        return await _call(request, me, call_id)

    @post("/calls/{call_id:int}/steps", name="agency_call_step", guards=[staff], status_code=200)
    async def call_step(
        self, request: Request, me: Me, call_id: FromPath[int], data: Annotated[dict[str, str], FORM]
    ) -> Template | Redirect:
        action = data.get("action", "")
        errors = await agency_calls.act(me, call_id, action, data)
        if errors is None:
            raise NotFoundException()
        if errors:
            return await _call(request, me, call_id, errors=errors, values=data, status_code=422)
        if action in ("return", "transfer"):  # no longer this agency's
            return Redirect(f"/agency?tab=calls&done={action}", status_code=303)
        return Redirect(f"/agency/calls/{call_id}?done={action}", status_code=303)

    @get("/photos/{photo_id:int}", name="agency_photo", guards=[staff])
    async def photo(self, request: Request, me: Me, photo_id: FromPath[int]) -> File:
        return photo_response(await agency.step_photo(me, photo_id, request.app.state.settings.upload_dir))


async def _calls_of(me: Principal, tab: str) -> list[dict]:
    if tab == "calls":
        return await agency_calls.queue(me)
    return await agency_calls.overdue(me) if tab == "overdue" else []


async def _call(
    request: Request,
    me: Principal,
    call_id: int,
    errors: dict | None = None,
    values: dict | None = None,
    status_code: int = 200,
) -> Template:
    call = await agency_calls.get(me, call_id)
    if call is None:
        raise NotFoundException()
    return Template(
        "agency/call.html",
        status_code=status_code,
        headers=NO_STORE,
        context={
            "call": call,
            "errors": errors or {},
            "values": values or {},
            "reasons": rules.RETURN_REASONS,
            "agencies": await agency.other_agencies(me),
            "states": agency_calls.STATES,
            "step_label": agency_calls.step_label,
            "done": request.query_params.get("done", ""),
        },
    )


async def _matter(
    request: Request,
    me: Principal,
    report_id: int,
    errors: dict | None = None,
    values: dict | None = None,
    status_code: int = 200,
) -> Template:
    report = await agency.get(me, report_id)
    if report is None:
        raise NotFoundException()
    return Template(
        "agency/matter.html",
        status_code=status_code,
        headers=NO_STORE,
        context={
            "report": report,
            "errors": errors or {},
            "values": values or {},
            "reasons": rules.RETURN_REASONS,
            "agencies": await agency.other_agencies(me),
            "statuses": report_rules.STATUSES,
            "step_label": reports.step_label,
            "done": request.query_params.get("done", ""),
        },
    )
