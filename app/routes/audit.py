"""The audit log for administrators: filter, read, export."""

from __future__ import annotations

from datetime import date

from litestar import Controller, Response, get
from litestar.params import FromQuery
from litestar.response import Template

from app.routes.downloads import csv_download
from app.routes.guards import Me, admin_only
from app.services import audit


def _criteria(person: str, object_type: str, action: str, since: str, until: str) -> tuple[audit.AuditFilter, dict]:
    errors = {}
    dates = {}
    for name, text in (("since", since), ("until", until)):
        try:
            dates[name] = date.fromisoformat(text) if text else None
        except ValueError:
            errors[name] = "Not a date"
            dates[name] = None
    return audit.AuditFilter(
        person=int(person) if person.isdecimal() else None, object_type=object_type, action=action, **dates
    ), errors


class AuditController(Controller):
    path = "/admin/audit"
    guards = [admin_only]

    @get("/", name="audit_list")
    async def list_events(
        self,
        person: FromQuery[str] = "",
        object_type: FromQuery[str] = "",
        action: FromQuery[str] = "",
        since: FromQuery[str] = "",
        until: FromQuery[str] = "",
        older: FromQuery[int | None] = None,
    ) -> Template:
        criteria, errors = _criteria(person, object_type, action, since, until)
        return Template(
            "audit/list.html",
            context={
                "page": await audit.search(criteria, older),
                "choices": await audit.choices(),
                "errors": errors,
                "filters": {
                    "person": person,
                    "object_type": object_type,
                    "action": action,
                    "since": since,
                    "until": until,
                },
            },
        )

    @get("/export.csv", name="audit_export")
    async def export(
        self,
        me: Me,
        person: FromQuery[str] = "",
        object_type: FromQuery[str] = "",
        action: FromQuery[str] = "",
        since: FromQuery[str] = "",
        until: FromQuery[str] = "",
    ) -> Response:
        criteria, _errors = _criteria(person, object_type, action, since, until)
        text = await audit.export_csv(criteria, audit.actor_of(me))
        return csv_download(text, "qianmo-audit.csv")
