"""The numbers of source governance: the morning briefing (早会), the dashboard, and the
prevention reviews (复盘) with their before/after windows."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from app.db import write_transaction
from app.domain import calls as call_rules
from app.domain import orders as order_rules
from app.domain.access import Principal
from app.i18n import N_, too_long
from app.services import audit, calls, detection, scope
from app.services.auth import now
from app.tables import Call, FieldLog, PreventionReview, Station, WorkOrder, WorkOrderStep

TREND_WEEKS = 12


async def _stations(principal: Principal) -> list[int] | None:
    return None if principal.has("admin") else list(await scope.station_ids(principal)) or [-1]


def _in(query, column, stations):
    return query if stations is None else query.where(column.is_in(stations))


async def briefing(principal: Principal, day: date, tz: str) -> dict:
    """早会 for the morning of `day`: yesterday's calls by category, yesterday's new and closed
    orders, what is overdue now, and the field follow-ups due today."""
    stations = await _stations(principal)
    low, high = call_rules.period_bounds(day - timedelta(days=1), day - timedelta(days=1), tz)
    rows = await _in(
        Call.select(Call.category).where((Call.received_at >= low) & (Call.received_at < high) & detection.visible()),
        Call.station,
        stations,
    )
    by_category: dict[str, int] = defaultdict(int)
    for r in rows:
        by_category[r["category"]] += 1

    def orders_where(condition):  # a new query each time: where() changes the query it is called on
        query = WorkOrder.select(
            WorkOrder.id,
            WorkOrder.title,
            WorkOrder.state,
            WorkOrder.due_at,
            WorkOrder.assignee.name.as_alias("assignee_name"),
        )
        return _in(query.where(condition), WorkOrder.station, stations)

    moment = now()
    grids = await scope.grid_ids(principal)
    follow_ups = FieldLog.select(
        FieldLog.id,
        FieldLog.follow_up_on,
        FieldLog.author.name.as_alias("author_name"),
        FieldLog.place.name.as_alias("place_name"),
        FieldLog.kind,
    ).where((FieldLog.follow_up_on <= day) & FieldLog.follow_up_done.eq(False) & FieldLog.voided_at.is_null())
    if grids is not scope.ALL:
        follow_ups = follow_ups.where(FieldLog.grid.is_in(list(grids) or [-1]))
    return {
        "day": day,
        "calls": len(rows),
        "station_names": await _station_names(stations),
        "by_category": sorted(by_category.items(), key=lambda kv: -kv[1]),
        "new_orders": await orders_where((WorkOrder.created_at >= low) & (WorkOrder.created_at < high)),
        "closed": await orders_where((WorkOrder.closed_at >= low) & (WorkOrder.closed_at < high)),
        "overdue": await orders_where(
            WorkOrder.state.is_in(list(order_rules.OPEN_STATES)) & (WorkOrder.due_at < moment)
        ),
        "follow_ups": await follow_ups.order_by(FieldLog.follow_up_on),
    }


async def _station_names(stations: list[int] | None) -> list[str]:
    query = Station.select(Station.name)
    if stations is not None:
        query = query.where(Station.id.is_in(stations))
    return [r["name"] for r in await query]


async def overview(principal: Principal, today: date, tz: str) -> dict:
    """The dashboard: repeat-call share (last 30 days and a year before), calls per week,
    orders by state, median hours per step, disputes closed through the loop."""
    stations = await _stations(principal)
    metrics = await calls.metrics(principal, today - timedelta(days=29), today, tz)
    weeks = await calls.weekly_counts(principal, TREND_WEEKS, today, tz)
    where = "" if stations is None else f" WHERE station IN ({', '.join(str(int(s)) for s in stations)})"
    states = {
        r["state"]: int(r["n"])
        for r in await WorkOrder.raw(f"SELECT state, COUNT(*) AS n FROM work_order{where} GROUP BY state")
    }
    return {
        "metrics": metrics,
        "weeks": weeks,
        "peak": max([w["count"] for w in weeks] + [1]),
        "order_counts": dict(states),
        "median_hours": await _median_hours(stations),
        "disputes_closed": await disputes_closed(stations),
        "orders_closed": states.get("closed", 0),
    }


async def disputes_closed(stations: list[int] | None) -> int:
    """Closed orders that are complex disputes (call_rules.closed_complex_dispute)."""
    where = "" if stations is None else f" AND wo.station IN ({', '.join(str(int(s)) for s in stations)})"
    orders = {
        r["id"]: r["rule"]
        for r in await WorkOrder.raw(
            f"SELECT wo.id AS id, wo.rule AS rule FROM work_order wo WHERE wo.state = 'closed'{where}"
        )
    }
    categories: dict[int, dict[str, int]] = defaultdict(dict)
    for r in await WorkOrder.raw(
        'SELECT woc."order" AS order_id, c.category AS category, COUNT(*) AS n FROM work_order_call woc '
        'JOIN call c ON c.id = woc.call JOIN work_order wo ON wo.id = woc."order" '
        f"WHERE wo.state = 'closed'{where} GROUP BY woc.\"order\", c.category"
    ):
        categories[r["order_id"]][r["category"]] = int(r["n"])
    mapped = await detection.families()
    return sum(
        call_rules.closed_complex_dispute(rule, "closed", categories[order_id], mapped)
        for order_id, rule in orders.items()
    )


async def _median_hours(stations: list[int] | None) -> dict[str, float]:
    """Over the orders that got past 交办 (detection makes thousands that wait there)."""
    progressed = _in(
        WorkOrderStep.select(WorkOrderStep.order)
        .where(WorkOrderStep.step.is_in(list(order_rules.NEXT_STEP_NAMES)))
        .distinct(),
        WorkOrderStep.order.station,
        stations,
    )
    ids = sorted({r["order"] for r in await progressed})
    steps = []
    for i in range(0, len(ids), 500):
        steps += await WorkOrderStep.select(WorkOrderStep.order, WorkOrderStep.step, WorkOrderStep.at).where(
            WorkOrderStep.order.is_in(ids[i : i + 500])
            & WorkOrderStep.step.is_in(["create", *order_rules.NEXT_STEP_NAMES, "unsatisfied", "reopen"])
        )
    timelines: dict[int, list[tuple[str, datetime]]] = defaultdict(list)
    for s in sorted(steps, key=lambda s: (s["order"], s["at"])):
        timelines[s["order"]].append((s["step"], s["at"]))
    return order_rules.median_step_hours(list(timelines.values()))


# --- prevention reviews ----------------------------------------------------------------------


def review_errors(data: dict[str, str], today: date) -> tuple[dict, dict[str, str]]:
    errors: dict[str, str] = {}
    values = {k: data.get(k, "").strip() for k in ("place", "weak_point", "measures", "measures_on")}
    for name in ("weak_point", "measures"):
        if not values[name]:
            errors[name] = N_("Required")
        elif len(values[name]) > 2000:
            errors[name] = too_long(2000)
    try:
        day = date.fromisoformat(values["measures_on"])
        if day > today:
            errors["measures_on"] = N_("The measures cannot be in the future")
    except ValueError:
        day = None
        errors["measures_on"] = N_("Not a date")
    if not values["place"].isdecimal():
        errors["place"] = N_("Choose a place in your grids")
    return {**values, "measures_on": day}, errors


async def create_review(principal: Principal, data: dict[str, str], today: date) -> tuple[int | None, dict]:
    values, errors = review_errors(data, today)
    if not errors and await scope.place(principal, int(values["place"])) is None:
        errors["place"] = N_("Choose a place in your grids")
    if errors:
        return None, errors
    async with write_transaction(PreventionReview._meta.db):
        rows = await PreventionReview.insert(
            PreventionReview(
                place=int(values["place"]),
                weak_point=values["weak_point"],
                measures=values["measures"],
                measures_on=values["measures_on"],
                author=principal.id,
            )
        ).returning(PreventionReview.id)
        await audit.record(
            audit.actor_of(principal),
            "create",
            "prevention_review",
            rows[0]["id"],
            {"place": [None, int(values["place"])]},
        )
    return rows[0]["id"], {}


async def reviews(principal: Principal) -> list[dict]:
    grids = await scope.grid_ids(principal)
    query = PreventionReview.select(PreventionReview.all_columns(), PreventionReview.place.name.as_alias("place_name"))
    if grids is not scope.ALL:
        query = query.where(PreventionReview.place.grid.is_in(list(grids) or [-1]))
    return await query.order_by(PreventionReview.measures_on, ascending=False)


async def review(principal: Principal, review_id: int, today: date, tz: str) -> dict | None:
    row = (
        await PreventionReview.select(
            PreventionReview.all_columns(), PreventionReview.place.name.as_alias("place_name")
        )
        .where(PreventionReview.id == review_id)
        .first()
    )
    if row is None or await scope.place(principal, row["place"]) is None:
        return None
    windows = call_rules.equal_windows(row["measures_on"], today)
    row["windows"] = None
    if windows:
        before = await _count_at(row["place"], windows[0], windows[1], tz)
        after = await _count_at(row["place"], windows[2], windows[3], tz)
        row["windows"] = {
            "before": (windows[0], windows[1], before),
            "after": (windows[2], windows[3], after),
            "days": (windows[3] - windows[2]).days + 1,
            "change": None if not before else round((after - before) / before, 3),
        }
    return row


async def _count_at(place: int, first: date, last: date, tz: str) -> int:
    low, high = call_rules.period_bounds(first, last, tz)
    return await Call.count().where(
        (Call.place == place) & (Call.received_at >= low) & (Call.received_at < high) & detection.visible()
    )
