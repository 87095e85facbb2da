"""Platform metrics (三率) for the page, its CSV and the JSON API: one query path, so the
three always agree. Reads only. Definitions: app/domain/platform_metrics.py and docs/metrics.md."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from app.domain import platform_metrics as rules
from app.domain import routing as routing_rules
from app.domain.access import Principal
from app.domain.calls import period_bounds, year_earlier
from app.services import detection, scope
from app.services import routing as routing_service
from app.services.auth import now
from app.tables import (
    Agency,
    Call,
    Grid,
    Office,
    Person,
    Report,
    RoutingRule,
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


async def _terms() -> dict[int | None, tuple[tuple[int, str], tuple[int, str]]]:
    """Each rule's (accept, finish) terms; None: a transfer by hand without a rule."""
    rows = await RoutingRule.select(
        RoutingRule.id,
        RoutingRule.accept_amount,
        RoutingRule.accept_unit,
        RoutingRule.finish_amount,
        RoutingRule.finish_unit,
    )
    terms: dict[int | None, tuple[tuple[int, str], tuple[int, str]]] = {
        r["id"]: ((r["accept_amount"], r["accept_unit"]), (r["finish_amount"], r["finish_unit"])) for r in rows
    }
    terms[None] = (routing_service.DEFAULT_ACCEPT, routing_service.DEFAULT_FINISH)
    return terms


def _deadlines(calendar: routing_rules.Calendar):
    """routing.due, remembered per day for working days (the deadline is that day's end)."""
    zone, known = routing_rules.TIME_ZONE, {}

    def deadline(start: datetime, term: tuple[int, str]) -> datetime:
        if term[1] == "hours":
            return start + timedelta(hours=term[0])
        key = (start.astimezone(zone).date(), term[0])
        if key not in known:
            known[key] = routing_rules.due(start, term[0], term[1], calendar)
        return known[key]

    return deadline


def _kinds(kinds) -> str:
    return ", ".join(f"'{k}'" for k in kinds)  # constants of domain.platform_metrics, never user input


def _when(kinds, then: str = "s.at") -> str:
    return f"CASE WHEN s.kind IN ({_kinds(kinds)}) THEN {then} END"


# One row per matter with its timeline read in SQL (domain.platform_metrics.timeline says the same in
# Python): reading every step row through the ORM cost ~50 µs a row, several times this query.
# The agency that had it last: the one that answered, else the one that has it, else the one
# that returned it (the highest id, should several have).
MATTERS_SQL = f"""
SELECT r.id, r.created_at, r.status, r.closed_at, r.station, r.office, r.grid, r.assignee AS person,
  COALESCE(r.answered_by, r.responsible_agency, MAX({_when(["returned"], "s.agency")})) AS agency,
  r.routing_rule,
  MIN({_when(rules.ACCEPT_KINDS)}) AS first_accept,
  MAX({_when(rules.DONE_KINDS)}) AS last_done,
  COUNT({_when(["transferred"], "1")}) AS routed,
  COUNT({_when(["returned"], "1")}) AS returned,
  COUNT({_when(["reopened"], "1")}) AS reopened
FROM report r LEFT JOIN report_step s ON s.report = r.id
WHERE r.created_at >= {{}} AND r.created_at < {{}}"""
GROUP_BY = " GROUP BY r.id"
RATINGS_SQL = """
SELECT p.report, p.rating FROM report_reporter p JOIN report r ON r.id = p.report
WHERE r.created_at >= {} AND r.created_at < {} AND p.rating IS NOT NULL"""


def _moment(value) -> datetime | None:
    """A timestamp as the engine gives it: asyncpg a datetime, SQLite (for an aggregate) text."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


def _in_stations(stations: list[int] | None) -> str:
    return "" if stations is None else f" AND r.station IN ({', '.join(str(int(s)) for s in stations)})"


async def matters(principal: Principal, period: Period) -> list[rules.Matter]:
    """The resident reports and routed matters received in the period, in the principal's stations."""
    low, high = period.bounds()
    where = _in_stations(await _stations(principal))
    rows = await Report.raw(MATTERS_SQL + where + GROUP_BY, low, high)
    ratings: dict[int, list[int]] = defaultdict(list)
    for r in await Report.raw(RATINGS_SQL + where, low, high):
        ratings[r["report"]].append(r["rating"])
    terms, calendar = await _terms(), await routing_service.calendar()
    deadline = _deadlines(calendar)
    result = []
    for row in rows:
        row["created_at"] = _moment(row["created_at"])
        row["closed_at"] = _moment(row["closed_at"])
        line = rules.Timeline(
            _moment(row["first_accept"]),
            _moment(row["last_done"]),
            bool(row["routed"]),
            bool(row["returned"]),
            bool(row["reopened"]),
        )
        accept, finish = terms.get(row["routing_rule"], terms[None])
        result.append(
            rules.matter_from(
                row,
                line,
                tuple(ratings[row["id"]]),
                deadline(row["created_at"], accept),
                deadline(row["created_at"], finish),
            )
        )
    return result


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
    items = await matters(principal, period)
    tallies = {unit: rules.tally(ms, moment) for unit, ms in rules.by_unit(items, group).items()}
    ranked, apart = rules.rank(tallies, rate, minimum)
    labels = await names(group, list(tallies))

    def as_group(r: rules.Ranked) -> Group:
        return Group(group, r.unit, labels.get(r.unit, str(r.unit)), r.tally, r.rank)

    return Platform(
        period=period,
        group=group,
        rate=rate,
        minimum=minimum,
        total=rules.tally(items, moment),
        earlier=rules.tally(await matters(principal, period.year_earlier()) if extras else [], moment),
        ranked=[as_group(r) for r in ranked],
        apart=[as_group(r) for r in apart],
        orders=rules.tally(await order_matters(principal, period) if extras else [], moment),
        items=items,
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
