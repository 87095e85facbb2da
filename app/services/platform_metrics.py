"""Platform metrics (三率) for the page, its CSV and the JSON API: one query path, so the
three always agree. Reads only. Definitions: app/domain/platform_metrics.py and docs/metrics.md."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from app.db import read_only
from app.domain import platform_metrics as rules
from app.domain.access import Principal
from app.domain.calls import period_bounds, year_earlier
from app.services import calls, detection, scope
from app.services.auth import now
from app.tables import (
    Agency,
    Grid,
    Office,
    Person,
    Report,
    Station,
    WorkOrder,
    WorkOrderStep,
)

NAMES = {"station": Station, "office": Office, "grid": Grid, "agency": Agency, "person": Person}
# Work orders (警单): taken on when verified, completed when handled; their deadlines are the
# state machine's (verify in 2 days, handle within 7 more), from creation.
ORDER_ACCEPT = timedelta(days=2)
ORDER_FINISH = timedelta(days=9)
ORDER_DONE_STATES = ("handled", "fed_back", "evaluated", "closed")


@dataclass(frozen=True)
class Period:
    first: date
    last: date
    tz: str

    def bounds(self) -> tuple[datetime, datetime]:
        return period_bounds(self.first, self.last, self.tz)

    def year_earlier(self) -> "Period":
        return Period(year_earlier(self.first), year_earlier(self.last), self.tz)


async def _stations(principal: Principal) -> list[int] | None:
    """None: every station (administrators); else the principal's stations."""
    return None if principal.has("admin") else list(await scope.station_ids(principal)) or [-1]


# The facts services/matter_facts stores on each report, added up per unit in one query; the
# percentiles are the nearest rank (domain.platform_metrics.percentile), picked by window
# functions (the same SQL on both engines; SQLite has no percentile aggregate).
UNIT_COLUMNS = {"station": "station", "office": "office", "grid": "grid", "agency": "last_agency", "person": "assignee"}


def _count(condition: str) -> str:
    return f"SUM(CASE WHEN {condition} THEN 1 ELSE 0 END)"


# Each is a sum over matters, so the whole's is the sum of its units'.
COUNTS = {
    "received": "COUNT(*)",
    "completed": _count("r.completed_at IS NOT NULL"),
    "due_accept": _count("r.taken_on_at IS NOT NULL OR r.receipt_accept_due < {}"),
    "accepted_in_time": _count("r.accepted_on_time"),
    "due_finish": _count("r.completed_at IS NOT NULL OR r.receipt_finish_due < {}"),
    "done_in_time": _count("r.completed_on_time"),
    "routed": _count("r.was_routed"),
    "returned": _count("r.was_routed AND r.was_returned"),
    "reopened": _count("r.completed_at IS NOT NULL AND r.was_reopened"),
    "rated": "SUM(r.ratings)",
    "satisfied": "SUM(r.satisfied)",
}
IN_PERIOD = " FROM report r WHERE r.created_at >= {} AND r.created_at < {}"


def _in_stations(stations: list[int] | None) -> str:
    return "" if stations is None else f" AND r.station IN ({', '.join(str(int(s)) for s in stations)})"


def _tally(row: dict[str, int], hours: dict[str, tuple[float | None, float | None]]) -> rules.Tally:
    def n(key: str) -> int:
        return row[key]

    completed = n("completed")
    return rules.Tally(
        received=n("received"),
        completed=completed,
        completion=rules.Rate(completed, n("received")),
        response=rules.Rate(n("accepted_in_time"), n("due_accept")),
        on_time=rules.Rate(n("done_in_time"), n("due_finish")),
        returned=rules.Rate(n("returned"), n("routed")),
        reopened=rules.Rate(n("reopened"), completed),
        satisfaction=rules.Rate(n("satisfied"), n("rated")),
        accept_hours=hours["accept"],
        complete_hours=hours["complete"],
    )


# The nearest ranks as a fraction a/b of n rows: ceil(a·n / b), in integers in SQL and Python.
RANKS = {"p50": (1, 2), "p90": (9, 10)}


def _is_postgres() -> bool:
    return Report._meta.db.engine_type == "postgres"


NO_HOURS = {"accept": (None, None), "complete": (None, None)}


def _ranked(kind: str, per_unit: bool) -> str:
    """The rows of m at the nearest ranks of its hours `kind`, per unit (a unit of none, such as
    an unrouted matter's agency, left out: None is the whole's) or of the whole."""
    over, unit = ("PARTITION BY unit", "unit") if per_unit else ("", "NULL")
    picked = " OR ".join(f"rn = ({a} * n + {b - 1}) / {b}" for a, b in RANKS.values())
    return (
        f"SELECT {unit} AS unit, '{kind}' AS kind, rn, n, hours FROM (SELECT unit, {kind} AS hours, "
        f"ROW_NUMBER() OVER ({over} ORDER BY {kind}) AS rn, COUNT(*) OVER ({over}) AS n FROM m "
        f"WHERE {kind} IS NOT NULL{' AND unit IS NOT NULL' if per_unit else ''}) AS ranked WHERE {picked}"
    )


async def _hours(unit: str, where: str, of: tuple[bool, ...], low: datetime, high: datetime) -> dict:
    """The median and 90th percentile of the hours to accept and to complete, of each unit
    (of holds True) and of the whole (False; under None): one pass over the period's matters,
    which a CTE holds while window functions rank them; a few rows come back, not one per
    matter. Each ranking costs a sort of the period's matters, so only those shown are made."""
    if not of:
        return {}
    parts = [_ranked(kind, per_unit) for kind in NO_HOURS for per_unit in of]
    rows = await Report.raw(
        read_only(
            f"WITH m AS MATERIALIZED (SELECT {unit} AS unit, r.accept_hours AS accept, r.complete_hours AS complete"
            + IN_PERIOD
            + where
            + ") "
            + " UNION ALL ".join(parts)
        ),
        low,
        high,
    )
    found: dict = defaultdict(dict)
    for r in rows:
        n, rn = int(r["n"]), int(r["rn"])
        for key, (a, b) in RANKS.items():
            if rn == (a * n + b - 1) // b:
                found[(r["unit"], r["kind"])][key] = r["hours"]
    return {u: {k: (found[(u, k)].get("p50"), found[(u, k)].get("p90")) for k in NO_HOURS} for u, _kind in found}


async def tallies(
    principal: Principal, period: Period, group: str | None, moment: datetime, hours: tuple[bool, ...] = ()
) -> tuple[dict[int, rules.Tally], rules.Tally]:
    """The tally of each unit of the group (none without a group), and of the whole; with the
    hours of the units (`hours` holds True) and of the whole (False), else none."""
    low, high = period.bounds()
    where = _in_stations(await _stations(principal))
    unit = f"r.{UNIT_COLUMNS[group]}" if group else "NULL"
    columns = ", ".join(f"{expression} AS {name}" for name, expression in COUNTS.items())
    rows = await Report.raw(
        f"SELECT {unit} AS unit, {columns}" + IN_PERIOD + where + (f" GROUP BY {unit}" if group else ""),
        *[moment.astimezone(UTC)] * 2,
        low,
        high,
    )
    counts = {r["unit"]: {name: int(r[name] or 0) for name in COUNTS} for r in rows}
    ranked = await _hours(unit, where, hours if group else tuple(h for h in hours if not h), low, high)
    # The units' matters and those of none (an unrouted matter has no agency) make the whole.
    whole = {name: sum(c[name] for c in counts.values()) for name in COUNTS}
    by_unit = {u: _tally(c, ranked.get(u, NO_HOURS)) for u, c in counts.items() if group and u is not None}
    return by_unit, _tally(whole, ranked.get(None, NO_HOURS))


async def order_matters(principal: Principal, period: Period) -> list[rules.Matter]:
    """Work orders created in the period as matters (see ORDER_ACCEPT): the supervisor's
    evaluation stands for the rating (satisfied 5, not satisfied 1)."""
    low, high = period.bounds()
    stations = await _stations(principal)
    query = WorkOrder.select(
        WorkOrder.id,
        WorkOrder.created_at,
        WorkOrder.state,
        WorkOrder.handled_at,
        WorkOrder.station,
        WorkOrder.grid,
        WorkOrder.assignee,
    ).where((WorkOrder.created_at >= low) & (WorkOrder.created_at < high))
    steps_query = (
        WorkOrderStep.select(WorkOrderStep.order, WorkOrderStep.step, WorkOrderStep.at)
        .where((WorkOrderStep.order.created_at >= low) & (WorkOrderStep.order.created_at < high))
        .where(WorkOrderStep.step.is_in(["verify", "handle", "evaluate", "unsatisfied", "reopen"]))
        .order_by(WorkOrderStep.at)
    )
    if stations is not None:
        query = query.where(WorkOrder.station.is_in(stations))
        steps_query = steps_query.where(WorkOrderStep.order.station.is_in(stations))
    steps: dict[int, list[dict]] = defaultdict(list)
    for s in await steps_query:
        steps[s["order"]].append(s)
    result = []
    for row in await query:
        own = steps[row["id"]]
        verified = next((s["at"] for s in own if s["step"] in ("verify", "handle")), None)
        done = row["state"] in ORDER_DONE_STATES
        handled = [s["at"] for s in own if s["step"] == "handle"]
        completed = (handled[-1] if handled else row["handled_at"] or row["created_at"]) if done else None
        result.append(
            rules.Matter(
                id=row["id"],
                received_at=row["created_at"],
                accept_due=row["created_at"] + ORDER_ACCEPT,
                finish_due=row["created_at"] + ORDER_FINISH,
                accepted_at=verified or completed,
                completed_at=completed,
                reopened=any(s["step"] in ("unsatisfied", "reopen") for s in own),
                ratings=tuple(
                    5 if s["step"] == "evaluate" else 1 for s in own if s["step"] in ("evaluate", "unsatisfied")
                ),
                units={"station": row["station"], "grid": row["grid"], "person": row["assignee"]},
            )
        )
    return result


async def names(group: str, ids: list[int]) -> dict[int, str]:
    table = NAMES[group]
    rows = await table.select(table.id, table.name).where(table.id.is_in(ids or [-1]))
    return {r["id"]: r["name"] for r in rows}


@dataclass(frozen=True)
class Series:
    """A chart's buckets (Mondays or firsts of months) and its numbers per bucket."""

    starts: list[date]
    values: dict[str, list]


@dataclass(frozen=True)
class Group:
    type: str
    id: int
    name: str
    tally: rules.Tally
    rank: int | None


@dataclass(frozen=True)
class Platform:
    """Everything the page, the CSV and the API show for one period and grouping."""

    period: Period
    group: str
    rate: str
    minimum: int
    total: rules.Tally
    earlier: rules.Tally  # the same days a year earlier (the headline card)
    ranked: list[Group]
    apart: list[Group]
    orders: rules.Tally
    weekly: Series | None  # matters received and completed per week (the page)
    monthly: Series | None  # satisfaction per month (the page)


async def platform(
    principal: Principal,
    period: Period,
    group: str = "station",
    rate: str = "on_time_rate",
    minimum: int = rules.MIN_VOLUME,
    moment: datetime | None = None,
    extras: bool = True,
    hours: str = "all",
) -> Platform:
    """The period's numbers by unit; `extras`: the year earlier and the work orders too (the
    page); `hours` (times to accept and complete): "all" tallies' (the CSV), the "total"'s (the
    page) or "none" (the API)."""
    moment = moment or now()
    of = {"all": (True, False), "total": (False,)}.get(hours, ())
    # Independent reads, together: on PostgreSQL each on a connection of the pool, on SQLite
    # the long ones each in a thread (db.PooledSQLiteEngine), so both cores work on one page.
    (by_unit, total), series, earlier, orders = await asyncio.gather(
        tallies(principal, period, group, moment, of),
        matter_series(principal, period) if extras else _nothing((None, None)),
        tallies(principal, period.year_earlier(), None, moment, (False,) if hours == "all" else ())
        if extras
        else _nothing(({}, rules.tally([], moment))),
        order_matters(principal, period) if extras else _nothing([]),
    )
    ranked, apart = rules.rank(by_unit, rate, minimum)
    labels = await names(group, list(by_unit))

    def as_group(r: rules.Ranked) -> Group:
        return Group(group, r.unit, labels.get(r.unit, str(r.unit)), r.tally, r.rank)

    return Platform(
        period=period,
        group=group,
        rate=rate,
        minimum=minimum,
        total=total,
        earlier=earlier[1],
        ranked=[as_group(r) for r in ranked],
        apart=[as_group(r) for r in apart],
        orders=rules.tally(orders, moment),
        weekly=series[0],
        monthly=series[1],
    )


async def _nothing(value):
    return value


# --- the charts' series ---------------------------------------------------------------------
# Counted by GROUP BY local week or month in SQL (a year is ~50 rows, not one per matter). A
# week starts on Monday of the time zone's calendar, as domain.platform_metrics.weeks says.


def _bucket(column: str, unit: str, tz: str, moment: datetime) -> str:
    """The local Monday (unit "week") or first of the month of a timestamp column, as a date.
    PostgreSQL follows the zone's rules; SQLite (no zones) adds the zone's offset at `moment`,
    exact for a zone without summer time such as Asia/Shanghai."""
    if _is_postgres():
        zone = ZoneInfo(tz).key.replace("'", "")  # a known zone's name, never user input
        return f"CAST(date_trunc('{unit}', {column} AT TIME ZONE '{zone}') AS date)"
    offset = moment.astimezone(ZoneInfo(tz)).utcoffset() or timedelta(0)
    shift = f"'{int(offset.total_seconds() // 60):+d} minutes'"
    if unit == "week":  # on to the Sunday ending the week, back to its Monday
        return f"date({column}, {shift}, 'weekday 0', '-6 days')"
    return f"strftime('%Y-%m-01', {column}, {shift})"


def _day(value) -> date:
    """A bucket as the engine gives it: asyncpg a date, SQLite text."""
    return value if isinstance(value, date) else date.fromisoformat(value)


async def matter_series(principal: Principal, period: Period) -> tuple[Series, Series]:
    """Per week of the period: matters received, and matters (of those) completed that week;
    per month of receipt: the satisfaction rate of the ratings of that month's matters."""
    low, high = period.bounds()
    where = IN_PERIOD + _in_stations(await _stations(principal))
    received, completed = (_bucket(f"r.{c}", "week", period.tz, low) for c in ("created_at", "completed_at"))
    month = _bucket("r.created_at", "month", period.tz, low)
    rows = await Report.raw(
        f"SELECT 'received' AS series, {received} AS start, COUNT(*) AS n, 0 AS rated, 0 AS satisfied{where}"
        f" GROUP BY 2 UNION ALL SELECT 'completed', {completed}, COUNT(*), 0, 0{where}"
        f" AND r.completed_at IS NOT NULL GROUP BY 2"
        f" UNION ALL SELECT 'month', {month}, COUNT(*), SUM(r.ratings), SUM(r.satisfied){where} GROUP BY 2",
        *(low, high) * 3,
    )
    mondays, firsts = rules.weeks(period.first, period.last), rules.months(period.first, period.last)
    counts: dict[tuple[str, date], dict] = {(r["series"], _day(r["start"])): r for r in rows}

    def count(name: str, start: date) -> int:
        return int(counts.get((name, start), {}).get("n") or 0)

    def satisfaction(start: date) -> float | None:
        row = counts.get(("month", start), {})
        return rules.Rate(int(row.get("satisfied") or 0), int(row.get("rated") or 0)).value

    weekly = Series(mondays, {name: [count(name, m) for m in mondays] for name in ("received", "completed")})
    return weekly, Series(firsts, {"satisfaction": [satisfaction(f) for f in firsts]})


async def weekly_calls(principal: Principal, period: Period) -> Series:
    """Per week of the period: 110 calls ("now"), and calls in the same week 52 weeks earlier
    ("before": the same weekdays, so a week of the year is compared with its own), counted
    between the zone's own midnights (summer time included)."""
    stations = await _stations(principal)
    mondays = rules.weeks(period.first, period.last)
    where = "" if stations is None else f" AND station IN ({', '.join(str(int(s)) for s in stations)})"
    weeks = [
        period_bounds(m - back, m - back + timedelta(days=6), period.tz)
        for back in (timedelta(0), timedelta(weeks=52))
        for m in mondays
    ]
    n = await calls.range_counts(weeks, f" AND {detection.VISIBLE}{where}")
    return Series(mondays, {"now": n[: len(mondays)], "before": n[len(mondays) :]})
