"""The agency's desk (/agency): its queue of routed matters and the steps its staff take."""
from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect, Template

from app.domain import reports as report_rules
from app.domain import routing as rules
from app.routes.guards import principal, requires
from app.services import agency, reports

FORM = Body(media_type=RequestEncodingType.URL_ENCODED)
NO_STORE = {"Cache-Control": "no-store"}
staff = requires(agency.ROLE)


class AgencyController(Controller):
    path = "/agency"
    include_in_schema = False

    @get("/", name="agency_queue", guards=[staff])
    async def queue(self, request: Request, tab: FromQuery[str] = "new") -> Template:
        user = principal(request)
        tab = tab if tab in agency.TABS else "new"
        return Template("agency/queue.html", headers=NO_STORE, context={
            "rows": [] if tab == "calls" else await agency.queue(user, tab), "tab": tab,
            "calls": await agency.calls(user) if tab == "calls" else [], "tabs": agency.TABS,  # type: ignore[arg-type]
            "counts": await agency.counts(user), "no_agency": not user.agency_ids,  # type: ignore[union-attr,arg-type]
            "no_agency_message": agency.NO_AGENCY, "statuses": report_rules.STATUSES})

    @get("/{report_id:int}", name="agency_matter", guards=[staff])
    async def matter(self, request: Request, report_id: FromPath[int]) -> Template:
        return await _matter(request, report_id)

    @post("/{report_id:int}/steps", name="agency_step", guards=[staff], status_code=200)
    async def step(self, request: Request, report_id: FromPath[int],
                   data: Annotated[dict[str, str], FORM]) -> Template | Redirect:
        action = data.get("action", "")
        errors = await agency.act(principal(request), report_id, action, data)  # type: ignore[arg-type]
        if errors is None:
            raise NotFoundException()
        if errors:
            return await _matter(request, report_id, errors=errors, values=data, status_code=422)
        if action in ("return", "transfer"):  # no longer this agency's: back to the queue
            return Redirect(f"/agency?tab=returned&done={action}", status_code=303)
        return Redirect(f"/agency/{report_id}?done={action}", status_code=303)


async def _matter(request: Request, report_id: int, errors: dict | None = None, values: dict | None = None,
                  status_code: int = 200) -> Template:
    user = principal(request)
    report = await agency.get(user, report_id)  # type: ignore[arg-type]
    if report is None:
        raise NotFoundException()
    return Template("agency/matter.html", status_code=status_code, headers=NO_STORE, context={
        "report": report, "errors": errors or {}, "values": values or {}, "reasons": rules.RETURN_REASONS,
        "agencies": await agency.other_agencies(user), "statuses": report_rules.STATUSES,  # type: ignore[arg-type]
        "step_label": reports.step_label, "done": request.query_params.get("done", "")})
