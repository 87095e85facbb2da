"""Platform metrics (三率) for the page, its CSV and the JSON API: one query path, so the
three always agree. Reads only. Definitions: app/domain/platform_metrics.py and docs/metrics.md."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from app.domain import platform_metrics as rules
from app.domain.access import Principal
from app.domain.calls import period_bounds, year_earlier
from app.services import detection, scope
from app.services.auth import now
from app.tables import (
    Agency,
    Call,
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
# percentiles are the nearest rank (domain.platform_metrics.percentile): percentile_disc on
# PostgreSQL, and on SQLite (no such aggregate) the hours read and ranked in Python.
UNIT_COLUMNS = {"station": "station", "office": "office", "grid": "grid", "agency": "last_agency", "person": "assignee"}


def _count(condition: str) -> str:
    return f"SUM(CASE WHEN {condition} THEN 1 ELSE 0 END)"


COUNTS = f"""COUNT(*) AS received,
  {_count("r.completed_at IS NOT NULL")} AS completed,
  {_count("r.taken_on_at IS NOT NULL OR r.receipt_accept_due < {}")} AS due_accept,
  {_count("r.accepted_on_time")} AS accepted_in_time,
  {_count("r.completed_at IS NOT NULL OR r.receipt_finish_due < {}")} AS due_finish,
  {_count("r.completed_on_time")} AS done_in_time,
  {_count("r.was_routed")} AS routed,
  {_count("r.was_routed AND r.was_returned")} AS returned,
  {_count("r.completed_at IS NOT NULL AND r.was_reopened")} AS reopened,
  SUM(r.ratings) AS rated, SUM(r.satisfied) AS satisfied"""
PERCENTILES = """,
  percentile_disc(0.5) WITHIN GROUP (ORDER BY r.accept_hours) AS accept_p50,
  percentile_disc(0.9) WITHIN GROUP (ORDER BY r.accept_hours) AS accept_p90,
  percentile_disc(0.5) WITHIN GROUP (ORDER BY r.complete_hours) AS complete_p50,
  percentile_disc(0.9) WITHIN GROUP (ORDER BY r.complete_hours) AS complete_p90"""
IN_PERIOD = " FROM report r WHERE r.created_at >= {} AND r.created_at < {}"


def _in_stations(stations: list[int] | None) -> str:
    return "" if stations is None else f" AND r.station IN ({', '.join(str(int(s)) for s in stations)})"


def _is_postgres() -> bool:
    return Report._meta.db.engine_type == "postgres"


def _tally(row: dict, hours: dict[str, tuple[float | None, float | None]]) -> rules.Tally:
    def n(key: str) -> int:
        return int(row[key] or 0)

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


def _pair(row: dict, name: str) -> tuple[float | None, float | None]:
    return row[f"{name}_p50"], row[f"{name}_p90"]


async def _ranked_hours(unit: str, where: str, low: datetime, high: datetime) -> dict:
    """SQLite: each unit's (or, unit "NULL", the whole's) hours to nearest-rank percentiles."""
    rows = await Report.raw(f"SELECT {unit} AS unit, r.accept_hours, r.complete_hours" + IN_PERIOD + where, low, high)
    values: dict = defaultdict(lambda: {"accept": [], "complete": []})
    for r in rows:
        for name in ("accept", "complete"):
            if r[f"{name}_hours"] is not None:
                values[r["unit"]][name].append(r[f"{name}_hours"])
    return {
        u: {k: (rules.percentile(v, 0.5), rules.percentile(v, 0.9)) for k, v in lists.items()}
        for u, lists in values.items()
    }


async def tallies(
    principal: Principal, period: Period, group: str | None, moment: datetime
) -> dict[int | None, rules.Tally]:
    """The tally of each unit of the group (None: one, of the whole, under the key None)."""
    low, high = period.bounds()
    where = _in_stations(await _stations(principal))
    unit = f"r.{UNIT_COLUMNS[group]}" if group else "NULL"
    extra = PERCENTILES if _is_postgres() else ""
    tail = f" GROUP BY {unit}" if group else ""
    rows = await Report.raw(
        f"SELECT {unit} AS unit, {COUNTS}{extra}" + IN_PERIOD + where + tail, *[moment.astimezone(UTC)] * 2, low, high
    )
    empty = {"accept": (None, None), "complete": (None, None)}
    if _is_postgres():
        hours = {r["unit"]: {"accept": _pair(r, "accept"), "complete": _pair(r, "complete")} for r in rows}
    else:
        hours = await _ranked_hours(unit, where, low, high)
    result = {r["unit"]: _tally(r, hours.get(r["unit"], empty)) for r in rows if group is None or r["unit"] is not None}
    return result if result or group else {None: rules.tally([], moment)}


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
) -> Platform:
    """The period's numbers by unit; `extras`: the year earlier and the work orders too (the page)."""
    moment = moment or now()
    weekly, monthly = await matter_series(principal, period) if extras else (None, None)
    by_unit = {u: t for u, t in (await tallies(principal, period, group, moment)).items() if u is not None}
    ranked, apart = rules.rank(by_unit, rate, minimum)
    labels = await names(group, list(by_unit))

    def as_group(r: rules.Ranked) -> Group:
        return Group(group, r.unit, labels.get(r.unit, str(r.unit)), r.tally, r.rank)

    return Platform(
        period=period,
        group=group,
        rate=rate,
        minimum=minimum,
        total=(await tallies(principal, period, None, moment))[None],
        earlier=(await tallies(principal, period.year_earlier(), None, moment))[None]
        if extras
        else rules.tally([], moment),
        ranked=[as_group(r) for r in ranked],
        apart=[as_group(r) for r in apart],
        orders=rules.tally(await order_matters(principal, period) if extras else [], moment),
        weekly=weekly,
        monthly=monthly,
    )


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
    ("before": the same weekdays, so a week of the year is compared with its own)."""
    stations = await _stations(principal)
    mondays = rules.weeks(period.first, period.last)
    where = "" if stations is None else f" AND station IN ({', '.join(str(int(s)) for s in stations)})"
    values = {}
    for name, back in (("now", timedelta(0)), ("before", timedelta(weeks=52))):
        low, high = period_bounds(mondays[0] - back, mondays[-1] + timedelta(days=6) - back, period.tz)
        rows = await Call.raw(
            f"SELECT {_bucket('received_at', 'week', period.tz, low)} AS start, COUNT(*) AS n FROM call"
            f" WHERE received_at >= {{}} AND received_at < {{}} AND {detection.VISIBLE}{where} GROUP BY 1",
            low,
            high,
        )
        counts = {_day(r["start"]) + back: int(r["n"]) for r in rows}
        values[name] = [counts.get(m, 0) for m in mondays]
    return Series(mondays, values)
