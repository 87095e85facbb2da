"""The facts the platform metrics read, stored on each report (matter): its deadlines from
receipt, when it was first taken on and last completed, whether on time, its durations, flags
(routed, returned, reopened), its ratings and the agency that had it last. Replaying every
matter's steps per request cost 11–15 s for a year of a seed-sized district; with these the
metrics are one GROUP BY (services/platform_metrics).

`refresh` is called by every service that changes a report's status, steps, routing or ratings,
inside that write's transaction, so the facts never lag the steps. The rules are
domain.platform_metrics (timeline, matter_from): the same as the replay they replace."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from app.domain import platform_metrics as rules
from app.domain import routing as routing_rules
from app.services import routing as routing_service
from app.tables import Report, RoutingRule

FACTS = (
    "receipt_accept_due",
    "receipt_finish_due",
    "taken_on_at",
    "completed_at",
    "accepted_on_time",
    "completed_on_time",
    "accept_hours",
    "complete_hours",
    "was_routed",
    "was_returned",
    "was_reopened",
    "ratings",
    "satisfied",
    "last_agency",
)
CHUNK = 500


def _kinds(kinds) -> str:
    return ", ".join(f"'{k}'" for k in kinds)  # constants of domain.platform_metrics, never user input


def _when(kinds, then: str = "s.at") -> str:
    return f"CASE WHEN s.kind IN ({_kinds(kinds)}) THEN {then} END"


# One row per matter with its timeline read in SQL (domain.platform_metrics.timeline says the
# same in Python). The agency that had it last: the one that answered, else the one that has it,
# else the one that returned it (the highest id, should several have).
TIMELINES_SQL = f"""
SELECT r.id, r.created_at, r.status, r.closed_at, r.routing_rule,
  COALESCE(r.answered_by, r.responsible_agency, MAX({_when(["returned"], "s.agency")})) AS agency,
  MIN({_when(rules.ACCEPT_KINDS)}) AS first_accept,
  MAX({_when(rules.DONE_KINDS)}) AS last_done,
  COUNT({_when(["transferred"], "1")}) AS routed,
  COUNT({_when(["returned"], "1")}) AS returned,
  COUNT({_when(["reopened"], "1")}) AS reopened
FROM report r LEFT JOIN report_step s ON s.report = r.id
WHERE r.id IN ({{}}) GROUP BY r.id"""
RATINGS_SQL = "SELECT report, rating FROM report_reporter WHERE report IN ({}) AND rating IS NOT NULL"
# One UPDATE … FROM (VALUES …) per chunk (a statement per row cost ~10 ms each on a busy
# PostgreSQL: minutes for the backfill). PostgreSQL needs the values' types (a NULL has none).
TYPES = ("timestamptz",) * 4 + ("boolean",) * 2 + ("double precision",) * 2 + ("boolean",) * 3 + ("integer",) * 3


def _update_sql(rows: int, typed: bool) -> str:
    """SQLite names a VALUES list's columns column1, column2…; PostgreSQL takes names."""
    cell = [f"CAST({{}} AS {t})" if typed else "{}" for t in ("integer", *TYPES)]
    values = ", ".join(f"({', '.join(cell)})" for _ in range(rows))
    names = ["id", *FACTS] if typed else [f"column{i + 1}" for i in range(len(FACTS) + 1)]
    alias = f"v({', '.join(names)})" if typed else "v"
    sets = ", ".join(f"{name} = v.{column}" for name, column in zip(FACTS, names[1:]))
    return f"UPDATE report SET {sets} FROM (VALUES {values}) AS {alias} WHERE report.id = v.{names[0]}"


def _moment(value) -> datetime | None:
    """A timestamp as the engine gives it: asyncpg a datetime, SQLite (for an aggregate) text."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


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


def _hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600


def _utc(moment: datetime | None) -> datetime | None:
    """In UTC: SQLite keeps timestamps as text, which compares right only in one zone."""
    return None if moment is None else moment.astimezone(UTC)


def facts(m: rules.Matter) -> tuple:
    """A matter's stored facts, in the order of FACTS."""
    ratings = m.ratings
    return (
        _utc(m.accept_due),
        _utc(m.finish_due),
        _utc(m.accepted_at),
        _utc(m.completed_at),
        None if m.accepted_at is None else m.accepted_at <= m.accept_due,
        None if m.completed_at is None else m.completed_at <= m.finish_due,
        None if m.accepted_at is None else _hours(m.accepted_at - m.received_at),
        None if m.completed_at is None else _hours(m.completed_at - m.received_at),
        m.routed,
        m.returned,
        m.reopened,
        len(ratings),
        sum(r >= rules.SATISFIED for r in ratings),
        m.units.get("agency"),
    )


async def replay(ids: list[int]) -> list[rules.Matter]:
    """The matters of these reports as their steps, row and ratings say now."""
    if not ids:
        return []
    listed = ", ".join(str(int(i)) for i in ids)
    rows = await Report.raw(TIMELINES_SQL.replace("{}", listed))
    ratings: dict[int, list[int]] = defaultdict(list)
    for r in await Report.raw(RATINGS_SQL.replace("{}", listed)):
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


async def refresh(ids: Iterable[int]) -> None:
    """Recompute and store the facts of these reports (call inside the write's transaction)."""
    wanted = sorted(set(ids))
    for start in range(0, len(wanted), CHUNK):
        matters = await replay(wanted[start : start + CHUNK])
        if matters:
            typed = Report._meta.db.engine_type == "postgres"
            await Report.raw(_update_sql(len(matters), typed), *[v for m in matters for v in (m.id, *facts(m))])


async def refresh_all() -> None:
    """Every report's facts (the migration's backfill; the demo's bulk load)."""
    rows = await Report.raw("SELECT id FROM report")
    await refresh(r["id"] for r in rows)
