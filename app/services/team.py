"""The supervisor's My day: the team's day in the station's grids (logs per officer and kind,
overdue work orders and matters, volunteers on a patrol now), and the review of a log
(审阅: marked read, with an optional comment for its author), audited."""

from __future__ import annotations

from datetime import datetime

from app.db import write_transaction
from app.domain import calls as call_rules
from app.domain import fieldwork as rules
from app.domain import orders as order_rules
from app.domain import routing as routing_rules
from app.domain.access import Principal
from app.i18n import N_, too_long
from app.services import audit, scope
from app.services.auth import now
from app.services.fieldwork import get, today
from app.tables import FieldLog, LogReview, Report, ShiftSignup, WorkOrder

ROLE = "supervisor"
COMMENT_MAX = 500
LIST_MAX = 50


async def team_day(principal: Principal, tz: str) -> dict:
    """Today in the supervisor's grids: every officer's logs by kind, the logs not yet reviewed,
    what is overdue now, and who is out on patrol."""
    day = today(tz)
    start, end = call_rules.period_bounds(day, day, tz)
    grids = await scope.grid_ids(principal)
    in_grids = [] if grids is scope.ALL else list(grids) or [-1]
    logs = FieldLog.select(
        FieldLog.id,
        FieldLog.kind,
        FieldLog.author,
        FieldLog.author.name.as_alias("author_name"),
        FieldLog.place.name.as_alias("place_name"),
        FieldLog.grid.name.as_alias("grid_name"),
        FieldLog.occurred_at,
        FieldLog.note,
    ).where((FieldLog.occurred_at >= start) & (FieldLog.occurred_at < end) & FieldLog.voided_at.is_null())
    if in_grids:
        logs = logs.where(FieldLog.grid.is_in(in_grids))
    rows = await logs.order_by(FieldLog.occurred_at, ascending=False)
    reviewed = await _reviewed([r["id"] for r in rows])
    people: dict[int, dict] = {}
    for r in rows:
        person = people.setdefault(r["author"], {"name": r["author_name"], "counts": dict.fromkeys(rules.KINDS, 0)})
        person["counts"][r["kind"]] += 1
        r["reviewed"] = r["id"] in reviewed
    moment = now()
    return {
        "day": day,
        "counts": {kind: sum(1 for r in rows if r["kind"] == kind) for kind in rules.KINDS},
        "total": len(rows),
        "people": sorted(people.values(), key=lambda p: (-sum(p["counts"].values()), p["name"])),
        "to_review": [r for r in rows if not r["reviewed"]][:LIST_MAX],
        "reviewed": len(reviewed),
        "overdue_orders": await _overdue_orders(principal, moment),
        "overdue_matters": await _overdue_matters(principal, moment),
        "on_patrol": await _on_patrol(in_grids, moment),
    }


async def _reviewed(log_ids: list[int]) -> set[int]:
    if not log_ids:
        return set()
    rows = await LogReview.select(LogReview.log).where(LogReview.log.is_in(log_ids))
    return {r["log"] for r in rows}


async def _stations(principal: Principal) -> list[int] | None:
    return None if principal.has("admin") else list(await scope.station_ids(principal)) or [-1]


async def _overdue_orders(principal: Principal, moment: datetime) -> list[dict]:
    query = WorkOrder.select(
        WorkOrder.id,
        WorkOrder.title,
        WorkOrder.state,
        WorkOrder.due_at,
        WorkOrder.assignee.name.as_alias("assignee_name"),
    ).where(WorkOrder.state.is_in(list(order_rules.OPEN_STATES)) & (WorkOrder.due_at < moment))
    stations = await _stations(principal)
    if stations is not None:
        query = query.where(WorkOrder.station.is_in(stations))
    return await query.order_by(WorkOrder.due_at).limit(LIST_MAX)


async def _overdue_matters(principal: Principal, moment: datetime) -> list[dict]:
    """Resident reports with an agency past the deadline that counts now (domain.routing.missed)."""
    query = Report.select(
        Report.id,
        Report.category.name_zh.as_alias("category_zh"),
        Report.category.name_en.as_alias("category_en"),
        Report.place.name.as_alias("place_name"),
        Report.agency_state,
        Report.accept_due,
        Report.finish_due,
        Report.responsible_agency.name.as_alias("agency_name"),
    ).where(Report.agency_state.is_in(["new", "accepted"]))
    stations = await _stations(principal)
    if stations is not None:
        query = query.where(Report.station.is_in(stations))
    late = []
    for r in await query:
        missed = routing_rules.missed(r["agency_state"], r["accept_due"], r["finish_due"])
        if missed is not None and missed < moment:
            late.append({**r, "missed": missed})
    return sorted(late, key=lambda r: r["missed"])[:LIST_MAX]


async def _on_patrol(in_grids: list[int], moment: datetime) -> list[dict]:
    """Volunteers signed up for a patrol under way now, checked in or not yet."""
    query = ShiftSignup.select(
        ShiftSignup.person.name.as_alias("name"),
        ShiftSignup.check_in_at,
        ShiftSignup.check_out_at,
        ShiftSignup.shift.grid.name.as_alias("grid_name"),
        ShiftSignup.shift.ends_at.as_alias("ends_at"),
    ).where(
        (ShiftSignup.status == "confirmed")
        & (ShiftSignup.shift.starts_at <= moment)
        & (ShiftSignup.shift.ends_at > moment)
        & ShiftSignup.shift.cancelled_at.is_null()
    )
    if in_grids:
        query = query.where(ShiftSignup.shift.grid.is_in(in_grids))
    return await query.order_by(ShiftSignup.shift.starts_at)


async def reviews(log_id: int) -> list[dict]:
    return (
        await LogReview.select(LogReview.all_columns(), LogReview.reviewer.name.as_alias("reviewer_name"))
        .where(LogReview.log == log_id)
        .order_by(LogReview.at)
    )


async def review(principal: Principal, log_id: int, comment: str) -> dict[str, str]:
    """Mark a log of the supervisor's grids reviewed, with an optional comment. Errors by field."""
    comment = comment.strip()
    if len(comment) > COMMENT_MAX:
        return {"comment": too_long(COMMENT_MAX)}
    if not principal.has(ROLE):
        return {"form": N_("Only a supervisor reviews logs")}
    log = await get(principal, log_id)
    if log is None:
        return {"form": N_("This log is not in your grids")}
    async with write_transaction(LogReview._meta.db):
        rows = await LogReview.insert(LogReview(log=log_id, reviewer=principal.id, comment=comment)).returning(
            LogReview.id
        )
        await audit.record(
            audit.actor_of(principal),
            "review",
            "field_log",
            log_id,
            {"review": [None, rows[0]["id"]], "comment": [None, comment]},
        )
    return {}
