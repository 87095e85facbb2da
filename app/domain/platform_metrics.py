"""Platform metrics (the 三率 and the seed's four numbers) over resident reports and routed
matters, and over work orders. Pure: no database, no clock (services pass `now` in). The exact
definitions are in docs/metrics.md; the page shows each beside its number (DEFINITIONS).

A matter counts once, in the period in which it was received (a cohort), judged as of `now`.
Its clock starts at its receipt and is never restarted by a transfer or a return; its
deadlines come from the terms of the routing rule that routed it last (or the defaults of a
transfer by hand) counted from the receipt in the working-day calendar."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from app.i18n import N_

# Steps that show a handler took the matter on (签收): the police's accept or assign, an
# agency's accept, or straight to done / answered without a separate accept.
ACCEPT_KINDS = ("accepted", "assigned", "agency_accepted", "done", "answered")
DONE_KINDS = ("done", "answered")
SATISFIED = 4  # 4 or 5 of 5 stars
MIN_VOLUME = 10  # a unit with fewer matters (the rate's denominator) is listed apart
MAX_DAYS = 3660
DEFAULT_DAYS = 91  # 13 weeks: enough for the weekly and monthly charts
Z = 1.96  # 95 % for the Wilson lower bound
GROUPS = ("station", "office", "grid", "agency", "person")
RATES = ("completion_rate", "on_time_rate", "response_rate", "satisfaction_rate", "return_rate", "reopen_rate")
LOWER_IS_BETTER = ("return_rate", "reopen_rate")

# What the page shows beside each number (the full text is docs/metrics.md).
DEFINITIONS = {
    "received": N_("Matters received in the period (by the day of receipt, Beijing time)."),
    "completed": N_("Of those, done or closed now (a reopened matter counts once it is done again)."),
    "completion_rate": N_("Completion rate (办结率): completed ÷ received."),
    "response_rate": N_(
        "Response rate (签收率): taken on by the accept deadline ÷ matters whose accept deadline has passed "
        "or that were taken on."
    ),
    "on_time_rate": N_(
        "On-time completion (按时办结率): done by the finish deadline ÷ matters whose finish deadline has "
        "passed or that are done. Deadlines count from receipt; a transfer or return does not restart them."
    ),
    "return_rate": N_("Return rate (回退率): matters an agency sent back ÷ matters routed to an agency."),
    "reopen_rate": N_("Reopen rate (重办率): matters reopened after an unsatisfied rating ÷ completed."),
    "rated": N_("Ratings given by residents (each resident's latest rating)."),
    "satisfaction_rate": N_("Satisfaction (满意率): ratings of 4 or 5 stars ÷ ratings."),
    "accept_hours": N_("Hours from receipt to being taken on: median and 90th percentile."),
    "complete_hours": N_("Hours from receipt to done: median and 90th percentile."),
}


@dataclass(frozen=True)
class Matter:
    """One matter's facts, as the metrics need them."""

    id: int
    received_at: datetime
    accept_due: datetime
    finish_due: datetime
    accepted_at: datetime | None = None  # first taken on
    completed_at: datetime | None = None  # the last done; None unless done or closed now
    routed: bool = False  # was with an agency at least once
    returned: bool = False  # an agency sent it back at least once
    reopened: bool = False
    ratings: tuple[int, ...] = ()
    units: dict[str, int | None] = field(default_factory=dict)  # station, office, grid, agency, person


@dataclass(frozen=True)
class Timeline:
    """What the metrics read from a matter's steps (services/matter_facts computes the same in
    SQL and stores the outcome on the matter)."""

    first_accept: datetime | None = None  # the first step of ACCEPT_KINDS
    last_done: datetime | None = None  # the last step of DONE_KINDS
    routed: bool = False  # a `transferred` step
    returned: bool = False  # a `returned` step
    reopened: bool = False  # a `reopened` step


def timeline(steps: list[tuple[str, datetime]]) -> Timeline:
    """From the timeline steps (kind, at) in time order."""
    done = [at for kind, at in steps if kind in DONE_KINDS]
    kinds = {kind for kind, _at in steps}
    return Timeline(
        first_accept=next((at for kind, at in steps if kind in ACCEPT_KINDS), None),
        last_done=done[-1] if done else None,
        routed="transferred" in kinds,
        returned="returned" in kinds,
        reopened="reopened" in kinds,
    )


def matter_from(
    row: dict, line: Timeline, ratings: tuple[int, ...], accept_due: datetime, finish_due: datetime
) -> Matter:
    """A report row (id, created_at, status, closed_at; station, office, grid, person, and the
    agency that had it last) and its timeline to a Matter."""
    finished = row["status"] in ("done", "closed")
    completed = (line.last_done or row.get("closed_at") or row["created_at"]) if finished else None
    accepted = line.first_accept
    if accepted is None and finished:
        accepted = completed  # closed without a step that took it on: taken on when closed
    return Matter(
        id=row["id"],
        received_at=row["created_at"],
        accept_due=accept_due,
        finish_due=finish_due,
        accepted_at=accepted,
        completed_at=completed,
        routed=line.routed,
        returned=line.returned,
        reopened=line.reopened,
        ratings=ratings,
        units={key: row.get(key) for key in GROUPS},
    )


@dataclass(frozen=True)
class Rate:
    hits: int
    total: int

    @property
    def value(self) -> float | None:
        return self.hits / self.total if self.total else None

    @property
    def lower(self) -> float | None:
        return wilson_lower(self.hits, self.total)


def wilson_lower(hits: int, total: int, z: float = Z) -> float | None:
    """The Wilson score interval's lower bound: a rate a small unit cannot top by luck."""
    if total == 0:
        return None
    p = hits / total
    centre = p + z * z / (2 * total)
    spread = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total))
    return max(0.0, (centre - spread) / (1 + z * z / total))


def percentile(values: list[float], share: float) -> float | None:
    """The nearest-rank percentile (share 0.5: the median's upper middle for an even count)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(round(share * len(ordered), 9)))  # round: 0.9 × 70 is 63, not 63.000…01
    return ordered[rank - 1]


@dataclass(frozen=True)
class Tally:
    received: int
    completed: int
    completion: Rate
    response: Rate
    on_time: Rate
    returned: Rate
    reopened: Rate
    satisfaction: Rate
    accept_hours: tuple[float | None, float | None]  # median, p90
    complete_hours: tuple[float | None, float | None]

    @property
    def rated(self) -> int:
        return self.satisfaction.total

    def rate(self, name: str) -> Rate:
        return {
            "completion_rate": self.completion,
            "response_rate": self.response,
            "on_time_rate": self.on_time,
            "return_rate": self.returned,
            "reopen_rate": self.reopened,
            "satisfaction_rate": self.satisfaction,
        }[name]


def _hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600


def tally(matters: list[Matter], now: datetime) -> Tally:
    """The counts and rates of some matters as of `now` (definitions: DEFINITIONS)."""
    completed = [m for m in matters if m.completed_at is not None]
    due_accept = [m for m in matters if m.accepted_at is not None or now > m.accept_due]
    due_finish = [m for m in matters if m.completed_at is not None or now > m.finish_due]
    accepted_in_time = sum(1 for m in due_accept if m.accepted_at is not None and m.accepted_at <= m.accept_due)
    done_in_time = sum(1 for m in due_finish if m.completed_at is not None and m.completed_at <= m.finish_due)
    ratings = [r for m in matters for r in m.ratings]
    to_accept = [_hours(m.accepted_at - m.received_at) for m in matters if m.accepted_at is not None]
    to_complete = [_hours(m.completed_at - m.received_at) for m in completed if m.completed_at is not None]
    return Tally(
        received=len(matters),
        completed=len(completed),
        completion=Rate(len(completed), len(matters)),
        response=Rate(accepted_in_time, len(due_accept)),
        on_time=Rate(done_in_time, len(due_finish)),
        returned=Rate(sum(m.returned for m in matters if m.routed), sum(m.routed for m in matters)),
        reopened=Rate(sum(m.reopened for m in completed), len(completed)),
        satisfaction=Rate(sum(r >= SATISFIED for r in ratings), len(ratings)),
        accept_hours=(percentile(to_accept, 0.5), percentile(to_accept, 0.9)),
        complete_hours=(percentile(to_complete, 0.5), percentile(to_complete, 0.9)),
    )


def by_unit(matters: list[Matter], group: str) -> dict[int, list[Matter]]:
    """The matters of each unit of a kind (a matter without such a unit is in none)."""
    result: dict[int, list[Matter]] = {}
    for m in matters:
        unit = m.units.get(group)
        if unit is not None:
            result.setdefault(unit, []).append(m)
    return result


@dataclass(frozen=True)
class Ranked:
    unit: int
    tally: Tally
    rank: int | None  # None: too few matters, listed apart


def rank(tallies: dict[int, Tally], rate: str, minimum: int = MIN_VOLUME) -> tuple[list[Ranked], list[Ranked]]:
    """(ranked, apart): units whose rate has at least `minimum` in its denominator, best first by
    the Wilson lower bound (for a rate where lower is better, by the bound of its complement);
    the others apart, by volume. Ties share a rank."""
    worse_first = rate in LOWER_IS_BETTER

    def key(unit: int) -> float:
        r = tallies[unit].rate(rate)
        bound = wilson_lower(r.total - r.hits, r.total) if worse_first else r.lower
        return bound or 0.0

    big = sorted((u for u, t in tallies.items() if t.rate(rate).total >= minimum), key=lambda u: (-key(u), u))
    ranked: list[Ranked] = []
    for index, unit in enumerate(big):
        same = ranked and math.isclose(key(ranked[-1].unit), key(unit))
        ranked.append(Ranked(unit, tallies[unit], ranked[-1].rank if same and ranked else index + 1))
    apart = sorted(
        (Ranked(u, t, None) for u, t in tallies.items() if t.rate(rate).total < minimum),
        key=lambda r: (-r.tally.received, r.unit),
    )
    return ranked, apart


# --- periods --------------------------------------------------------------------------------


def check_period(start: str, end: str, today: date) -> tuple[date, date, dict[str, str]]:
    """The chosen days (inclusive), or the errors; empty start and end: the last DEFAULT_DAYS days."""
    errors: dict[str, str] = {}
    first = last = None
    try:
        first = date.fromisoformat(start) if start else today - timedelta(days=DEFAULT_DAYS - 1)
    except ValueError:
        errors["start"] = N_("A date like 2026-03-01")
    try:
        last = date.fromisoformat(end) if end else today
    except ValueError:
        errors["end"] = N_("A date like 2026-03-01")
    if first and last and not errors:
        if last < first:
            errors["end"] = N_("The end must not be before the start")
        elif (last - first).days > MAX_DAYS:
            errors["end"] = N_("At most ten years at once")
    if errors or first is None or last is None:
        return today - timedelta(days=DEFAULT_DAYS - 1), today, errors
    return first, last, errors


def weeks(first: date, last: date) -> list[date]:
    """The Mondays of the weeks that meet the period."""
    monday = first - timedelta(days=first.weekday())
    result = []
    while monday <= last:
        result.append(monday)
        monday += timedelta(days=7)
    return result


def months(first: date, last: date) -> list[date]:
    """The first days of the months that meet the period."""
    day = first.replace(day=1)
    result = []
    while day <= last:
        result.append(day)
        day = (day + timedelta(days=32)).replace(day=1)
    return result
