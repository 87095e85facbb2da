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
ITEMS_SQL = (
    "SELECT r.id, r.created_at, r.receipt_accept_due, r.receipt_finish_due, r.taken_on_at, r.completed_at,"
    " r.was_routed, r.was_returned, r.was_reopened, r.ratings, r.satisfied" + IN_PERIOD
)


def _moment(value) -> datetime | None:
    """A timestamp as the engine gives it: asyncpg a datetime, SQLite (raw) text."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


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


async def matters(principal: Principal, period: Period) -> list[rules.Matter]:
    """The resident reports and routed matters received in the period, in the principal's
    stations, from their stored facts (for the charts: the ratings stand as the stored counts,
    5 stars for each satisfied rating and 1 for each other)."""
    low, high = period.bounds()
    rows = await Report.raw(ITEMS_SQL + _in_stations(await _stations(principal)), low, high)
    return [
        rules.Matter(
            id=r["id"],
            received_at=_moment(r["created_at"]),
            accept_due=_moment(r["receipt_accept_due"]),
            finish_due=_moment(r["receipt_finish_due"]),
            accepted_at=_moment(r["taken_on_at"]),
            completed_at=_moment(r["completed_at"]),
            routed=bool(r["was_routed"]),
            returned=bool(r["was_returned"]),
            reopened=bool(r["was_reopened"]),
            ratings=(rules.SATISFIED + 1,) * r["satisfied"] + (1,) * (r["ratings"] - r["satisfied"]),
        )
        for r in rows
    ]


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
    items: list[rules.Matter]  # for the charts


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
        items=await matters(principal, period) if extras else [],
    )


# --- the charts' series ---------------------------------------------------------------------


def _day_of(moment: datetime, tz: str) -> date:
    return moment.astimezone(ZoneInfo(tz)).date()


def weekly_matters(items: list[rules.Matter], period: Period) -> tuple[list[date], list[int], list[int]]:
    """Per week of the period: matters received, and matters (of those) completed that week."""
    mondays = rules.weeks(period.first, period.last)
    index = {m: i for i, m in enumerate(mondays)}
    received, completed = [0] * len(mondays), [0] * len(mondays)
    for m in items:
        day = _day_of(m.received_at, period.tz)
        received[index[day - timedelta(days=day.weekday())]] += 1
        if m.completed_at is not None:
            done = _day_of(m.completed_at, period.tz)
            slot = index.get(done - timedelta(days=done.weekday()))
            if slot is not None:
                completed[slot] += 1
    return mondays, received, completed


def monthly_satisfaction(items: list[rules.Matter], period: Period) -> tuple[list[date], list[float | None]]:
    """Per month of receipt: the satisfaction rate of the ratings of that month's matters."""
    firsts = rules.months(period.first, period.last)
    ratings: dict[date, list[int]] = defaultdict(list)
    for m in items:
        ratings[_day_of(m.received_at, period.tz).replace(day=1)].extend(m.ratings)
    return firsts, [rules.Rate(sum(r >= rules.SATISFIED for r in ratings[f]), len(ratings[f])).value for f in firsts]


async def weekly_calls(principal: Principal, period: Period) -> tuple[list[date], list[int], list[int]]:
    """Per week of the period: 110 calls, and calls in the same week 52 weeks earlier (the same
    weekdays, so a week of the year is compared with its own)."""
    stations = await _stations(principal)
    mondays = rules.weeks(period.first, period.last)
    shift = timedelta(weeks=52)
    index = {m: i for i, m in enumerate(mondays)}
    series = []
    for back in (timedelta(0), shift):
        low, high = period_bounds(mondays[0] - back, mondays[-1] + timedelta(days=6) - back, period.tz)
        query = Call.select(Call.received_at).where(
            (Call.received_at >= low) & (Call.received_at < high) & detection.visible()
        )
        if stations is not None:
            query = query.where(Call.station.is_in(stations))
        counts = [0] * len(mondays)
        for row in await query:
            day = _day_of(row["received_at"], period.tz) + back
            counts[index[day - timedelta(days=day.weekday())]] += 1
        series.append(counts)
    return mondays, series[0], series[1]
