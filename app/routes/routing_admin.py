"""Admin pages for routing (/admin/routing): the rule list (分流转办清单) with history, its
printable page and CSV, and the holiday calendar its working days follow."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from app.domain import routing as rules
from app.routes.downloads import csv_download
from app.routes.forms import FORM
from app.routes.guards import Me, admin_only
from app.services import routing_admin
from app.services.audit import actor_of
from app.services.auth import now
from app.services.report_lists import categories

NO_STORE = {"Cache-Control": "no-store"}


async def _list(
    values: dict | None = None, errors: dict | None = None, status_code: int = 200, retired: bool = False
) -> Template:
    return Template(
        "routing/rules.html",
        status_code=status_code,
        headers=NO_STORE,
        context={
            "rules": await routing_admin.rule_list(include_retired=retired),
            "retired": retired,
            "values": values
            or {
                "accept_amount": "1",
                "accept_unit": "workdays",
                "finish_amount": "5",
                "finish_unit": "workdays",
                "kind": "report",
            },
            "errors": errors or {},
            **await _choices(),
        },
    )


async def _choices() -> dict:
    return {
        "units": await routing_admin.units(),
        "agencies": await routing_admin.agencies(),
        "categories": await categories(),
        "kinds": rules.KINDS,
        "deadline_units": rules.UNITS,
    }


async def _edit(
    rule_id: int, values: dict | None = None, errors: dict | None = None, status_code: int = 200
) -> Template:
    row = await routing_admin.rule(rule_id)
    if row is None:
        raise NotFoundException()
    return Template(
        "routing/rule.html",
        status_code=status_code,
        headers=NO_STORE,
        context={
            "rule": row,
            "history": await routing_admin.history(rule_id),
            "values": values or row,
            "errors": errors or {},
            **await _choices(),
        },
    )


class RoutingAdminController(Controller):
    path = "/admin/routing"
    include_in_schema = False
    guards = [admin_only]

    @get("/", name="routing_rules")
    async def rules_page(self, retired: FromQuery[bool] = False) -> Template:
        return await _list(retired=retired)

    @post("/", name="routing_rule_create", status_code=200)
    async def create(self, me: Me, data: Annotated[dict[str, str], FORM]) -> Template | Redirect:
        rule_id, _values, errors = await routing_admin.save(data, actor_of(me))
        if errors:
            return await _list(data, errors, status_code=422)
        return Redirect(f"/admin/routing/{rule_id}?saved=1", status_code=303)

    @get("/print", name="routing_print")
    async def print_page(self) -> Template:
        return Template(
            "routing/print.html",
            headers=NO_STORE,
            context={
                "rules": await routing_admin.rule_list(),
                "kinds": rules.KINDS,
                "deadline_units": rules.UNITS,
                "printed": now(),
            },
        )

    @get("/export.csv", name="routing_export")
    async def export(self) -> Response:
        return csv_download(await routing_admin.export_csv(), "routing-rules.csv")

    @get("/{rule_id:int}", name="routing_rule")
    async def rule(self, rule_id: FromPath[int]) -> Template:
        return await _edit(rule_id)

    @post("/{rule_id:int}", name="routing_rule_update", status_code=200)
    async def update(
        self, me: Me, rule_id: FromPath[int], data: Annotated[dict[str, str], FORM]
    ) -> Template | Redirect:
        rule = await routing_admin.rule(rule_id)
        if rule is None:
            raise NotFoundException()
        _id, _values, errors = await routing_admin.save(data, actor_of(me), rule_id)
        if errors:
            return await _edit(rule_id, {**rule, **data}, errors, status_code=422)
        return Redirect(f"/admin/routing/{rule_id}?saved=1", status_code=303)

    @post("/{rule_id:int}/retire", name="routing_rule_retire", status_code=303)
    async def retire(self, me: Me, rule_id: FromPath[int]) -> Redirect:
        if await routing_admin.rule(rule_id) is None:
            raise NotFoundException()
        await routing_admin.retire(rule_id, actor_of(me))
        return Redirect(f"/admin/routing/{rule_id}?saved=1", status_code=303)

    @get("/holidays", name="routing_holidays")
    async def holidays(self, year: FromQuery[int | None] = None) -> Template:
        return await _holidays(year or now().astimezone(rules.TIME_ZONE).year)

    @post("/holidays", name="routing_holiday_save", status_code=200)
    async def save_holiday(self, me: Me, data: Annotated[dict[str, str], FORM]) -> Template | Redirect:
        values, errors = await routing_admin.save_holiday(data, actor_of(me))
        if errors:
            year = values["day"].year if values.get("day") else now().astimezone(rules.TIME_ZONE).year
            return await _holidays(year, data, errors, status_code=422)
        return Redirect(f"/admin/routing/holidays?year={values['day'].year}&saved=1", status_code=303)

    @post("/holidays/{holiday_id:int}/remove", name="routing_holiday_remove", status_code=303)
    async def remove_holiday(self, me: Me, holiday_id: FromPath[int]) -> Redirect:
        if not await routing_admin.remove_holiday(holiday_id, actor_of(me)):
            raise NotFoundException()
        return Redirect("/admin/routing/holidays?saved=1", status_code=303)


async def _holidays(
    year: int, values: dict | None = None, errors: dict | None = None, status_code: int = 200
) -> Template:
    year = min(max(year, 2000), 2100)
    return Template(
        "routing/holidays.html",
        status_code=status_code,
        headers=NO_STORE,
        context={
            "year": year,
            "days": await routing_admin.holidays(year),
            "values": values or {"workday": "0"},
            "errors": errors or {},
        },
    )
