"""The admin's side of routing: the rule list (create, edit, retire; never delete) with its
history, the printable and CSV 清单, and the holiday calendar."""

from __future__ import annotations

import json
from datetime import date

from app.db import write_transaction
from app.domain import csv_export
from app.domain import routing as rules
from app.i18n import N_, gettext
from app.services import audit, matter_facts
from app.services.auth import now
from app.services.report_lists import category_labels
from app.tables import Agency, Grid, Holiday, Office, Report, ReportCategory, RoutingRule, RoutingRuleChange, Station


async def units() -> list[dict]:
    """Every active station, office and grid as a choice ('grid:3'), with its station."""
    out = [
        {"key": f"station:{r['id']}", "label": r["name"], "station": r["id"]}
        for r in await Station.select(Station.id, Station.name).where(Station.active.eq(True)).order_by(Station.id)
    ]
    out += [
        {"key": f"office:{r['id']}", "label": f"{r['station_name']} · {r['name']}", "station": r["station"]}
        for r in await Office.select(
            Office.id, Office.name, Office.station, Office.station.name.as_alias("station_name")
        )
        .where(Office.active.eq(True))
        .order_by(Office.id)
    ]
    out += [
        {
            "key": f"grid:{r['id']}",
            "label": f"{r['office_name']} · {r['name']}",
            "station": r["station"],
            "office": r["office"],
        }
        for r in await Grid.select(
            Grid.id,
            Grid.name,
            Grid.office,
            Grid.office.name.as_alias("office_name"),
            Grid.office.station.as_alias("station"),
        )
        .where(Grid.active.eq(True))
        .order_by(Grid.id)
    ]
    return out


async def agencies() -> list[dict]:
    return await Agency.select(Agency.id, Agency.name).where(Agency.active.eq(True)).order_by(Agency.name)


async def report_categories() -> set[str]:
    return {r["code"] for r in await ReportCategory.select(ReportCategory.code).where(ReportCategory.active.eq(True))}


def unit_key(rule: dict) -> str:
    if rule["grid"]:
        return f"grid:{rule['grid']}"
    return f"office:{rule['office']}" if rule["office"] else f"station:{rule['station']}"


def _select():
    return RoutingRule.select(
        RoutingRule.all_columns(),
        RoutingRule.agency.name.as_alias("agency_name"),
        RoutingRule.station.name.as_alias("station_name"),
        RoutingRule.office.name.as_alias("office_name"),
        RoutingRule.grid.name.as_alias("grid_name"),
    )


async def rule_list(include_retired: bool = False) -> list[dict]:
    query = (
        _select().order_by(RoutingRule.kind, ascending=False).order_by(RoutingRule.category).order_by(RoutingRule.id)
    )
    if not include_retired:
        query = query.where(RoutingRule.retired_at.is_null())
    labels = await category_labels()
    rows = await query
    for row in rows:
        row["category_label"] = (
            labels.get(row["category"], row["category"]) if row["kind"] == "report" else row["category"]
        )
        row["unit_label"] = row["grid_name"] or row["office_name"] or row["station_name"]
    return rows


async def rule(rule_id: int) -> dict | None:
    rows = [r for r in await rule_list(include_retired=True) if r["id"] == rule_id]
    return rows[0] if rows else None


async def history(rule_id: int) -> list[dict]:
    rows = (
        await RoutingRuleChange.select(
            RoutingRuleChange.all_columns(), RoutingRuleChange.actor.name.as_alias("actor_name")
        )
        .where(RoutingRuleChange.rule == rule_id)
        .order_by(RoutingRuleChange.at)
        .order_by(RoutingRuleChange.id)
    )
    for row in rows:
        row["changes"] = json.loads(row["changes"] or "{}")
    return rows


async def _taken(except_id: int | None) -> set[tuple[str, str, str]]:
    rows = await RoutingRule.select().where(RoutingRule.retired_at.is_null())
    return {(r["kind"], r["category"], unit_key(r)) for r in rows if r["id"] != except_id}


async def save(raw: dict, actor: audit.Actor, rule_id: int | None = None) -> tuple[int | None, dict, dict]:
    """Create a rule, or edit one (its agency, deadlines and note: a rule for another category
    or unit is a new rule). (id or None, values, errors); nothing written on an error."""
    before = await RoutingRule.select().where(RoutingRule.id == rule_id).first() if rule_id else None
    if rule_id and (before is None or before["retired_at"] is not None):
        return None, raw, {"form": N_("This rule is retired: add a new one instead")}
    if before:
        raw = {**raw, "kind": before["kind"], "category": before["category"], "unit": unit_key(before)}
    choices = {u["key"]: u for u in await units()}
    values, errors = rules.check_rule(
        raw,
        await report_categories(),
        {k: u["station"] for k, u in choices.items()},
        {a["id"] for a in await agencies()},
        await _taken(rule_id),
    )
    if errors:
        return None, values, errors
    columns = {k: values[k] for k in ("agency", "accept_amount", "accept_unit", "finish_amount", "finish_unit", "note")}
    async with write_transaction(RoutingRule._meta.db):
        if before:
            changes = rules.rule_changes(before, columns)
            await RoutingRule.update({getattr(RoutingRule, k): v for k, v in columns.items()}).where(
                RoutingRule.id == rule_id
            )
            # The metrics judge a matter by its rule's terms now: its stored deadlines follow them.
            routed = await Report.select(Report.id).where(Report.routing_rule == rule_id)
            await matter_facts.refresh(r["id"] for r in routed)
            action = "update"
        else:
            unit = choices[values["unit"]]
            kind, _sep, ident = values["unit"].partition(":")
            office = int(ident) if kind == "office" else unit.get("office")
            rows = await RoutingRule.insert(
                RoutingRule(
                    kind=values["kind"],
                    category=values["category"],
                    station=unit["station"],
                    office=office,
                    grid=int(ident) if kind == "grid" else None,
                    created_by=actor.id,
                    **columns,
                )
            ).returning(RoutingRule.id)
            rule_id = rows[0]["id"]
            changes = {k: [None, v] for k, v in {**values, **columns}.items() if k != "unit"}
            changes["unit"] = [None, values["unit"]]
            action = "create"
        await RoutingRuleChange.insert(
            RoutingRuleChange(
                rule=rule_id, action=action, actor=actor.id, changes=json.dumps(changes, ensure_ascii=False)
            )
        )
        await audit.record(actor, action, "routing_rule", rule_id, changes)
    return rule_id, values, {}


async def retire(rule_id: int, actor: audit.Actor) -> bool:
    async with write_transaction(RoutingRule._meta.db):
        row = await RoutingRule.select().where(RoutingRule.id == rule_id).first()
        if row is None or row["retired_at"] is not None:
            return False
        moment = now()
        await RoutingRule.update({RoutingRule.retired_at: moment, RoutingRule.retired_by: actor.id}).where(
            RoutingRule.id == rule_id
        )
        await RoutingRuleChange.insert(RoutingRuleChange(rule=rule_id, action="retire", actor=actor.id))
        await audit.record(actor, "retire", "routing_rule", rule_id)
    return True


def _deadline(amount: int, unit: str) -> str:
    return f"{amount} {gettext(rules.UNITS.get(unit, unit))}"


async def export_csv() -> str:
    """The published 清单: the active rules, one line each."""
    rows = await rule_list()
    return csv_export.render(
        [
            gettext(N_("Kind")),
            gettext(N_("Matter category")),
            gettext(N_("Unit")),
            gettext(N_("Agency")),
            gettext(N_("Time to accept")),
            gettext(N_("Time to finish")),
            gettext(N_("Note")),
        ],
        [
            [
                gettext(rules.KINDS[r["kind"]]),
                r["category_label"],
                r["unit_label"],
                r["agency_name"],
                _deadline(r["accept_amount"], r["accept_unit"]),
                _deadline(r["finish_amount"], r["finish_unit"]),
                r["note"],
            ]
            for r in rows
        ],
    )


# --- the holiday calendar ---------------------------------------------------------------------


async def holidays(year: int) -> list[dict]:
    return (
        await Holiday.select()
        .where((Holiday.day >= date(year, 1, 1)) & (Holiday.day <= date(year, 12, 31)))
        .order_by(Holiday.day)
    )


async def save_holiday(raw: dict, actor: audit.Actor) -> tuple[dict, dict]:
    """Add a day or change it (the same date again); a day the admin saves is no longer provisional."""
    values, errors = rules.check_holiday(raw)
    if errors:
        return values, errors
    async with write_transaction(Holiday._meta.db):
        before = await Holiday.select().where(Holiday.day == values["day"]).first()
        moment = now()
        if before:
            await Holiday.update(
                {
                    Holiday.workday: values["workday"],
                    Holiday.name: values["name"],
                    Holiday.provisional: False,
                    Holiday.updated_by: actor.id,
                    Holiday.updated_at: moment,
                }
            ).where(Holiday.id == before["id"])
        else:
            await Holiday.insert(
                Holiday(
                    day=values["day"],
                    workday=values["workday"],
                    name=values["name"],
                    updated_by=actor.id,
                    updated_at=moment,
                )
            )
        await audit.record(
            actor,
            "update" if before else "create",
            "holiday",
            values["day"].isoformat(),
            {
                "workday": [before["workday"] if before else None, values["workday"]],
                "name": [before["name"] if before else None, values["name"]],
            },
        )
    return values, {}


async def remove_holiday(holiday_id: int, actor: audit.Actor) -> bool:
    """A day entered by mistake goes (it becomes an ordinary day again); audited."""
    async with write_transaction(Holiday._meta.db):
        row = await Holiday.select().where(Holiday.id == holiday_id).first()
        if row is None:
            return False
        await Holiday.delete().where(Holiday.id == holiday_id)
        await audit.record(
            actor,
            "delete",
            "holiday",
            row["day"].isoformat(),
            {"workday": [row["workday"], None], "name": [row["name"], None]},
        )
    return True
