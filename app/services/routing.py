"""Routing non-police matters to agencies (分流转办): the holiday calendar, the choice of rule when
a report arrives, and the deadlines it sets. The writes here run inside the caller's
transaction (the report and its routing land together)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from app.db import write_transaction
from app.domain import routing as rules
from app.services import audit, notifications
from app.services.auth import now
from app.tables import Call, Holiday, Report, ReportStep, RoutingRule

# A transfer by hand to an agency without a rule for it: these deadlines.
DEFAULT_ACCEPT = (1, "workdays")
DEFAULT_FINISH = (5, "workdays")
# A routed call received this long before its import is history, not an open matter.
HISTORY = timedelta(days=7)


async def ensure_holidays() -> None:
    """The shipped calendars (2026 official, 2027 provisional), each only into a year that has
    no days yet: a year the admin has edited (or emptied a day of) is left as it is."""
    async with write_transaction(Holiday._meta.db):
        years = {r["day"].year for r in await Holiday.select(Holiday.day)}
        fresh = [
            Holiday(day=day, workday=work, name=name, provisional=day.year == 2027)
            for day, work, name in (*rules.HOLIDAYS_2026, *rules.HOLIDAYS_2027_PROVISIONAL)
            if day.year not in years
        ]
        if fresh:
            await Holiday.insert(*fresh)


async def calendar() -> rules.Calendar:
    return rules.Calendar.of((r["day"], r["workday"]) for r in await Holiday.select(Holiday.day, Holiday.workday))


async def active_rules(kind: str, category: str) -> list[rules.Rule]:
    return await _active(RoutingRule.kind == kind, RoutingRule.category == category)


async def active_call_rules() -> list[rules.Rule]:
    """Every active rule for calls, read once per import (each row then chooses in Python)."""
    return await _active(RoutingRule.kind == "call")


async def _active(*conditions: Any) -> list[rules.Rule]:
    where = RoutingRule.retired_at.is_null() & RoutingRule.agency.active.eq(True)
    for condition in conditions:
        where &= condition
    rows = await RoutingRule.select().where(where)
    return [
        rules.Rule(
            id=r["id"],
            kind=r["kind"],
            category=r["category"],
            agency=r["agency"],
            station=r["station"],
            office=r["office"],
            grid=r["grid"],
        )
        for r in rows
    ]


async def rule_for(kind: str, category: str, station: int, office: int | None, grid: int | None) -> dict | None:
    """The rule row that routes a matter of this category at this place, or None."""
    chosen = rules.choose(await active_rules(kind, category), kind, category, station, office, grid)
    return await RoutingRule.select().where(RoutingRule.id == chosen.id).first() if chosen else None


async def deadlines(rule: dict | None, moment: datetime) -> tuple[datetime, datetime]:
    accept = (rule["accept_amount"], rule["accept_unit"]) if rule else DEFAULT_ACCEPT
    finish = (rule["finish_amount"], rule["finish_unit"]) if rule else DEFAULT_FINISH
    days = await calendar()
    return rules.due(moment, accept[0], accept[1], days), rules.due(moment, finish[0], finish[1], days)


def routed_changes(
    agency: int, rule: dict | None, accept_due: datetime, finish_due: datetime, moment: datetime
) -> dict:
    """The report's columns once it is with an agency (routed by a rule, by hand or on)."""
    return {
        Report.status: "transferred",
        Report.responsible_agency: agency,
        Report.agency_state: "new",
        Report.routing_rule: rule["id"] if rule else None,
        Report.routed_at: moment,
        Report.accept_due: accept_due,
        Report.finish_due: finish_due,
        Report.agency_accepted_at: None,
        Report.escalated_at: None,
        Report.updated_at: moment,
    }


async def route_new(report_id: int, rule: dict, moment: datetime) -> None:
    """A new report whose category has a rule: to the rule's agency at once."""
    accept_due, finish_due = await deadlines(rule, moment)
    await Report.update(routed_changes(rule["agency"], rule, accept_due, finish_due, moment)).where(
        Report.id == report_id
    )
    await ReportStep.insert(
        ReportStep(report=report_id, kind="transferred", public=True, agency=rule["agency"], text="")
    )
    await audit.record(
        audit.SYSTEM, "route", "report", report_id, {"agency": [None, rule["agency"]], "rule": [None, rule["id"]]}
    )


async def open_routed_calls(batch: int, moment: datetime) -> int:
    """An import's calls that a rule routed become the agency's matters as the import completes
    (when the agency can first see them): deadlines from that moment, one update per rule.
    A call received more than HISTORY before is history (a year loaded for detection): it stays
    routed for the lists and the metrics but opens no matter with a deadline already lost."""
    rows = (
        await Call.select(Call.routing_rule)
        .where((Call.batch == batch) & Call.routing_rule.is_not_null() & (Call.received_at >= moment - HISTORY))
        .distinct()
    )
    ids = [r["routing_rule"] for r in rows]
    for rule in await RoutingRule.select().where(RoutingRule.id.is_in(ids or [-1])):
        accept_due, finish_due = await deadlines(rule, moment)
        await Call.update(
            {
                Call.agency_state: "new",
                Call.routed_at: moment,
                Call.accept_due: accept_due,
                Call.finish_due: finish_due,
            }
        ).where((Call.batch == batch) & (Call.routing_rule == rule["id"]) & (Call.received_at >= moment - HISTORY))
    return len(ids)


async def mark_escalated(escalate_after: timedelta, moment: datetime | None = None) -> int:
    """A job: stamp `escalated_at` on the matters (reports and calls) past a missed deadline by
    `escalate_after`, as the lists compute it (domain.routing.standing), so a stored flag and the
    lists agree. The update is conditional (still with the agency, not yet stamped): safe in
    every process."""
    moment = moment or now()
    stamped = 0
    for table, entity, with_agency in (
        (Report, "report", Report.status == "transferred"),
        (Call, "call", Call.responsible_agency.is_not_null()),
    ):
        stamped += await _escalate(table, entity, with_agency, escalate_after, moment)
    return stamped


async def _escalate(table, entity: str, with_agency, escalate_after: timedelta, moment: datetime) -> int:
    open_matter = with_agency & table.agency_state.is_in(["new", "accepted"]) & table.escalated_at.is_null()
    rows = await table.select(table.id, table.agency_state, table.accept_due, table.finish_due).where(open_matter)
    due = [
        r["id"]
        for r in rows
        if rules.standing(r["agency_state"], r["accept_due"], r["finish_due"], moment, escalate_after) == "escalated"
    ]
    if not due:
        return 0
    async with write_transaction(table._meta.db):
        await table.update({table.escalated_at: moment}).where(table.id.is_in(due) & open_matter)
        for matter_id in due:
            await audit.record(
                audit.SYSTEM, "escalate", entity, matter_id, {"escalated_at": [None, moment.isoformat()]}
            )
    return len(due)


async def tell_overdue(moment: datetime | None = None) -> int:
    """A job: a report with an agency past the deadline that counts now (to accept, then to
    finish) is news for whoever handles it there: its assignee if they work for that agency,
    else the agency's staff. Told once per missed deadline: the conditional update that stamps
    `overdue_told_for` decides, so two processes running this at once tell nobody twice."""
    moment = moment or now()
    open_matter = (Report.status == "transferred") & Report.agency_state.is_in(["new", "accepted"])
    rows = await Report.select(
        Report.id,
        Report.agency_state,
        Report.accept_due,
        Report.finish_due,
        Report.overdue_told_for,
        Report.assignee,
        Report.responsible_agency,
        Report.description,
    ).where(open_matter)
    due = []
    for r in rows:
        deadline = rules.missed(r["agency_state"], r["accept_due"], r["finish_due"])
        if deadline is not None and moment > deadline and r["overdue_told_for"] != deadline:
            due.append((r, deadline))
    told = 0
    for r, deadline in due:
        async with write_transaction(Report._meta.db):
            stamped = (
                await Report.update({Report.overdue_told_for: deadline})
                .where(
                    (Report.id == r["id"])
                    & open_matter
                    & (Report.overdue_told_for.is_null() | (Report.overdue_told_for != deadline))
                )
                .returning(Report.id)
            )
            if not stamped:
                continue  # another process told them
            staff = await notifications.agency_staff(r["responsible_agency"])
            people = [r["assignee"]] if r["assignee"] in staff else staff
            await notifications.add(
                [
                    notifications.New(person=p, kind="report_overdue", text=r["description"], url=f"/agency/{r['id']}")
                    for p in people
                ]
            )
            await audit.record(
                audit.SYSTEM, "overdue_notice", "report", r["id"], {"overdue_told_for": [None, deadline.isoformat()]}
            )
            told += 1
    return told
