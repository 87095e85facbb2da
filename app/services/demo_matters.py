"""Synthetic resident reports and routed matters over the past ~13 months, with their timeline
steps and ratings, so the platform metrics and charts show true numbers: most are taken on and
done in time, some late, some returned by an agency or sent on to another, a few reopened after
an unsatisfied rating, the newest still open (some overdue). Also last year's 110 calls in the
weeks the demo's calls cover, so the year-on-year chart has both lines. Used by the demo (a few
hundred matters) and by the benchmark (tens of thousands)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from app.domain import reports as report_rules
from app.domain import routing as routing_rules

STALL = timedelta(days=21)
DEFAULT_TERMS = ((1, "workdays"), (5, "workdays"))
SQUARES = (*[5] * 14, *[4] * 4, 3, 2, 1)  # ratings: mostly satisfied, a few not


@dataclass
class Setting:
    """What the district offers: places (id, grid, office, station), category ids by code, the
    report rules (category code → (rule id, agency, terms)), agencies, officers, the calendar."""

    places: list[tuple[int, int | None, int | None, int]]
    categories: dict[str, int]
    rules: dict[str, tuple[int, int, tuple[tuple[int, str], tuple[int, str]]]]
    agencies: list[int]
    officers: list[int]
    calendar: routing_rules.Calendar = field(default_factory=routing_rules.Calendar)


@dataclass
class Generated:
    report: dict
    steps: list[dict]
    ratings: list[int]


def _deadlines(start: datetime, terms, calendar) -> tuple[datetime, datetime]:
    (a, au), (f, fu) = terms
    return routing_rules.due(start, a, au, calendar), routing_rules.due(start, f, fu, calendar)


def generate(n: int, end: datetime, days: int, setting: Setting, seed: int = 11) -> Iterator[Generated]:
    """n matters received over `days` days before `end`, judged as of `end`."""
    rng = random.Random(seed)
    codes = list(setting.categories)
    for _ in range(n):
        received = end - timedelta(seconds=rng.randrange(days * 86400))
        place, grid, office, station = rng.choice(setting.places)
        code = rng.choice(codes)
        report = {
            "category": setting.categories[code],
            "station": station,
            "office": office,
            "grid": grid,
            "place": place,
            "source": "qr",
            "description": "演示诉求",
            "created_at": received,
            "updated_at": received,
            "status": "received",
        }
        steps = [{"kind": "received", "at": received}]
        # Of the last three weeks' matters, a quarter stall where they are: open, soon overdue.
        until = (
            received + timedelta(hours=rng.uniform(0, 30)) if received > end - STALL and rng.random() < 0.25 else end
        )
        routed = code in setting.rules and setting.agencies
        if routed:
            yield _routed(rng, report, steps, code, until, setting)
        else:
            yield _police(rng, report, steps, until, setting)


def _at(steps: list[dict], kind: str, at: datetime, end: datetime, **extra) -> bool:
    """Adds the step if it happened before `end` (the newest matters are still open)."""
    if at > end:
        return False
    steps.append({"kind": kind, "at": at, **extra})
    return True


def _finish(rng, report: dict, steps: list[dict], done: datetime, end: datetime) -> Generated:
    """Done at `done` (if before `end`), perhaps rated, and reopened and done again when unsatisfied."""
    report["done_at"] = done
    report["status"] = "done"
    report["updated_at"] = done
    ratings: list[int] = []
    if rng.random() < 0.6:
        rating = rng.choice(SQUARES)
        rated = done + timedelta(hours=rng.uniform(1, 48))
        if rated <= end:
            ratings.append(rating)
            steps.append({"kind": "rated", "at": rated, "public": False, "text": f"{rating}/5"})
            if report_rules.reopens(rating, done, None, rated):
                steps.append({"kind": "reopened", "at": rated})
                report["reopened_at"] = rated
                again = rated + timedelta(hours=rng.uniform(4, 72))
                if _at(steps, "done", again, end):
                    report["done_at"] = again
                else:
                    report["status"] = "in_progress"
    return Generated(report, steps, ratings)


def _police(rng, report: dict, steps: list[dict], end: datetime, setting: Setting) -> Generated:
    received = report["created_at"]
    accepted = received + timedelta(hours=rng.expovariate(1 / 6))
    if setting.officers:
        report["assignee"] = rng.choice(setting.officers)
    if not _at(steps, "accepted", accepted, end):
        return Generated(report, steps, [])
    report.update(status="accepted", accepted_at=accepted)
    done = accepted + timedelta(hours=rng.expovariate(1 / 50))
    if not _at(steps, "done", done, end):
        return Generated(report, steps, [])
    return _finish(rng, report, steps, done, end)


def _routed(rng, report: dict, steps: list[dict], code: str, end: datetime, setting: Setting) -> Generated:
    rule_id, agency, terms = setting.rules[code]
    received = report["created_at"]
    accept_due, finish_due = _deadlines(received, terms, setting.calendar)
    report.update(
        status="transferred",
        responsible_agency=agency,
        agency_state="new",
        routing_rule=rule_id,
        routed_at=received,
        accept_due=accept_due,
        finish_due=finish_due,
    )
    steps.append({"kind": "transferred", "at": received, "agency": agency})
    roll = rng.random()
    if roll < 0.08:  # the agency sends it back; the police unit handles it
        back = received + timedelta(hours=rng.uniform(1, 20))
        if not _at(steps, "returned", back, end, agency=agency, text="不属于本部门职责"):
            return Generated(report, steps, [])
        report.update(
            status="received", responsible_agency=None, agency_state="returned", accept_due=None, finish_due=None
        )
        report["returns"] = 1
        return _police_after(rng, report, steps, back, end, setting)
    if roll < 0.13 and len(setting.agencies) > 1:  # sent on to another agency
        on = received + timedelta(hours=rng.uniform(1, 10))
        other = rng.choice([a for a in setting.agencies if a != agency])
        if not _at(steps, "transferred", on, end, agency=other, text="转至责任部门"):
            return Generated(report, steps, [])
        accept_due, finish_due = _deadlines(on, DEFAULT_TERMS, setting.calendar)
        report.update(responsible_agency=other, routing_rule=None, routed_at=on, accept_due=accept_due)
        report.update(finish_due=finish_due, returns=1)
        agency = other
    late = rng.random() < 0.12
    window = (accept_due - report["routed_at"]).total_seconds() / 3600
    accepted = report["routed_at"] + timedelta(
        hours=window * (rng.uniform(1.1, 2.5) if late else rng.uniform(0.05, 0.9))
    )
    if not _at(steps, "agency_accepted", accepted, end, agency=agency):
        return Generated(report, steps, [])
    report.update(agency_state="accepted", agency_accepted_at=accepted, updated_at=accepted)
    window = (report["finish_due"] - accepted).total_seconds() / 3600
    late = rng.random() < 0.1
    answered = accepted + timedelta(
        hours=max(1.0, window * (rng.uniform(1.1, 2.0) if late else rng.uniform(0.1, 0.95)))
    )
    if not _at(steps, "answered", answered, end, agency=agency, text="已现场处置完毕"):
        return Generated(report, steps, [])
    report.update(agency_state="answered", answered_by=agency)
    return _finish(rng, report, steps, answered, end)


def _police_after(rng, report, steps, back: datetime, end: datetime, setting: Setting) -> Generated:
    accepted = back + timedelta(hours=rng.uniform(0.5, 8))
    if not _at(steps, "accepted", accepted, end):
        return Generated(report, steps, [])
    report.update(status="accepted", accepted_at=accepted)
    if setting.officers:
        report["assignee"] = rng.choice(setting.officers)
    done = accepted + timedelta(hours=rng.uniform(12, 150))
    if not _at(steps, "done", done, end):
        return Generated(report, steps, [])
    return _finish(rng, report, steps, done, end)


async def setting() -> Setting:
    from app.services import routing
    from app.tables import Agency, Grid, PersonRole, Place, ReportCategory, RoutingRule

    offices = {
        g["id"]: (g["office"], g["office.station"])
        for g in await Grid.select(Grid.id, Grid.office, Grid.office.station)
    }
    places = [
        (p["id"], p["grid"], *offices.get(p["grid"], (None, None)))
        for p in await Place.select(Place.id, Place.grid)
        if p["grid"] in offices
    ]
    categories = {c["code"]: c["id"] for c in await ReportCategory.select(ReportCategory.id, ReportCategory.code)}
    rules = {
        r["category"]: (
            r["id"],
            r["agency"],
            ((r["accept_amount"], r["accept_unit"]), (r["finish_amount"], r["finish_unit"])),
        )
        for r in await RoutingRule.select().where((RoutingRule.kind == "report") & RoutingRule.retired_at.is_null())
    }
    officers = [r["person"] for r in await PersonRole.select(PersonRole.person).where(PersonRole.role == "officer")]
    agencies = [a["id"] for a in await Agency.select(Agency.id)]
    return Setting(places, categories, rules, agencies, officers, await routing.calendar())


async def insert(items: list[Generated]) -> None:
    """The matters, their steps and one reporter per rating (plus the first reporter)."""
    from app.services import matter_facts
    from app.tables import Report, ReportReporter, ReportStep

    used: set[str] = set()

    def code() -> str:
        while True:
            value = report_rules.new_code()  # 32^8 codes: a clash with an earlier batch is negligible
            if value not in used:
                used.add(value)
                return value

    for chunk in range(0, len(items), 500):
        part = items[chunk : chunk + 500]
        ids = await Report.insert(*[Report(**g.report) for g in part]).returning(Report.id)
        steps: list = []
        reporters: list = []
        for g, row in zip(part, ids):
            steps.extend(ReportStep(report=row["id"], public=s.pop("public", True), **s) for s in g.steps)
            rated = [*g.ratings]
            for i in range(max(1, len(rated))):
                rating = rated[i] if i < len(rated) else None
                at = g.report.get("done_at") if rating is not None else None
                reporters.append(
                    ReportReporter(
                        report=row["id"],
                        tracking=code(),
                        description=g.report["description"],
                        created_at=g.report["created_at"],
                        rating=rating,
                        rated_at=at,
                    )
                )
        await ReportStep.insert(*steps)
        await ReportReporter.insert(*reporters)
        await matter_facts.refresh(row["id"] for row in ids)


async def load(count: int = 420, days: int = 400) -> bool:
    """The demo's matters (once: only when there are no reports yet), and last year's calls."""
    from app.db import write_transaction
    from app.tables import Report

    if await Report.exists():
        return False
    found = await setting()
    if not found.places:
        return False
    moment = datetime.now(timezone.utc)
    items = list(generate(count, moment, days, found))
    async with write_transaction(Report._meta.db):
        await insert(items)
        await _last_years_calls(moment)
    return True


async def _last_years_calls(moment: datetime) -> None:
    """Calls 52 weeks before the demo's own (demo_calls: 160 over 90 days), a few more than now."""
    from app.services import calls, demo_calls
    from app.tables import Call, Place, Station

    if await Call.exists().where(Call.call_id.like("Y%")):
        return
    places = [(p["id"], p["grid"], p["name"]) for p in await Place.select(Place.id, Place.grid, Place.name)]
    station = await Station.select(Station.id).first()
    earlier = moment - timedelta(weeks=52)
    rows = demo_calls.generate(190, earlier, 90, places, station["id"] if station else None, seed=5, prefix="Y")
    await Call.insert(*[Call(**values) for values in rows])
    await calls.refresh_repeats()
