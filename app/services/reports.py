"""Resident reports: the public form (from a poster or the general form, with "add yours to an
open report" instead of a duplicate), tracking and rating, staff triage and handling, and the
reads and writes behind Open311. Every write and its audit row share one transaction."""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from piccolo.columns.combination import Combinable

from app.db import write_transaction
from app.domain import reports as rules
from app.domain import routing as routing_rules
from app.domain.access import Principal
from app.domain.photos import PhotoError, Processed
from app.i18n import N_, gettext
from app.selects import Columns
from app.services import audit, matter_facts, notifications, paging, photos, push, routing, scope
from app.services.auth import now
from app.services.report_lists import category_codes, category_labels
from app.tables import (
    Agency,
    Grid,
    Office,
    PersonRole,
    Place,
    Report,
    ReportPhoto,
    ReportPoster,
    ReportReporter,
    ReportStep,
    Station,
)

# Who works the queue; who may see a resident's full phone number (each view audited).
STAFF = ("officer", "grid_worker", "supervisor", "admin")
HANDLERS = ("officer", "grid_worker", "supervisor")
RESIDENT = audit.Actor(id=None, role="resident")
# An Open311 lat/long is placed at the nearest place with coordinates within this distance.
NEAREST_PLACE_METRES = 1500


@dataclass(frozen=True)
class Where:
    """Where a report is: a place, a whole grid, or an office (from the poster or the form)."""

    station: int
    office: int | None = None
    grid: int | None = None
    place: int | None = None
    poster: int | None = None
    name: str = ""
    address: str = ""


@dataclass
class Outcome:
    tracking: str = ""
    report_id: int | None = None
    joined: bool = False
    created: bool = False
    token: str = ""
    errors: dict[str, str] = field(default_factory=dict)
    similar: list[dict] = field(default_factory=list)  # open reports to offer joining


# --- where ------------------------------------------------------------------------------------


async def where_of_place(place_id: int, poster: int | None = None) -> Where | None:
    row = (
        await Place.select(
            Place.id,
            Place.name,
            Place.address,
            Place.grid,
            Place.grid.office.as_alias("office"),
            Place.grid.office.station.as_alias("station"),
        )
        .where((Place.id == place_id) & Place.active.eq(True))
        .first()
    )
    if row is None:
        return None
    return Where(
        station=row["station"],
        office=row["office"],
        grid=row["grid"],
        place=row["id"],
        poster=poster,
        name=row["name"],
        address=row["address"],
    )


async def where_of_grid(grid_id: int, poster: int | None = None) -> Where | None:
    row = (
        await Grid.select(Grid.id, Grid.name, Grid.office, Grid.office.station.as_alias("station"))
        .where((Grid.id == grid_id) & Grid.active.eq(True))
        .first()
    )
    if row is None:
        return None
    return Where(station=row["station"], office=row["office"], grid=row["id"], poster=poster, name=row["name"])


async def where_of_office(office_id: int, poster: int | None = None) -> Where | None:
    row = (
        await Office.select(Office.id, Office.name, Office.address, Office.station)
        .where((Office.id == office_id) & Office.active.eq(True))
        .first()
    )
    if row is None:
        return None
    return Where(station=row["station"], office=row["id"], poster=poster, name=row["name"], address=row["address"])


async def where_of_poster(poster: dict) -> Where | None:
    if poster["place"]:
        return await where_of_place(poster["place"], poster["id"])
    if poster["grid"]:
        return await where_of_grid(poster["grid"], poster["id"])
    return await where_of_office(poster["office"], poster["id"])


_PLACE_GRID_CHAINS = (Place.grid.name, Place.grid.active)  # built once: see _REPORT_COLUMNS


async def public_places() -> dict[str, list[dict]]:
    """Every active place by grid, for the general form's picker (names only)."""
    grid_name, grid_active = _PLACE_GRID_CHAINS
    rows = (
        await Place.select(Place.id, Place.name, grid_name.as_alias("grid_name"))
        .where(Place.active.eq(True) & grid_active.eq(True))
        .order_by(grid_name)
        .order_by(Place.name)
    )
    grouped: dict[str, list[dict]] = {}
    for row in rows:
        grouped.setdefault(row["grid_name"], []).append(row)
    return grouped


# --- the public form ------------------------------------------------------------------------------


def _same_where(where: Where):
    """Reports at the same spot: the same place; or the same grid / office without a place."""
    if where.place:
        return Report.place == where.place
    if where.grid:
        return (Report.grid == where.grid) & Report.place.is_null()
    return (Report.office == where.office) & Report.grid.is_null()


async def similar_open(where: Where, category_id: int) -> list[dict]:
    """Open reports of this category at this spot, the most reported first: offered for joining.
    The first reporter's words only as public_summary leaves them (no digits runs, 40 characters;
    the lead's decision, docs/decisions.md), no contact data."""
    rows = (
        await Report.select(Report.id, Report.status, Report.reporters, Report.created_at, Report.description)
        .where(_same_where(where) & (Report.category == category_id) & Report.status.is_in(list(rules.OPEN_STATUSES)))
        .order_by(Report.reporters, ascending=False)
        .order_by(Report.id, ascending=False)
        .limit(5)
    )
    with_photo = await _with_photo([row["id"] for row in rows])
    for row in rows:
        row["summary"] = rules.public_summary(row.pop("description") or "")
        row["photo"] = row["id"] in with_photo
    return rows


async def _with_photo(report_ids: list[int]) -> set[int]:
    if not report_ids:
        return set()
    rows = await ReportPhoto.select(ReportPhoto.reporter.report.as_alias("report")).where(
        ReportPhoto.reporter.report.is_in(report_ids)
    )
    return {row["report"] for row in rows}


async def similar_photo(report_id: int, upload_dir: Path) -> bytes | None:
    """The duplicate hint's picture: a thumbnail of an OPEN report's first photo (the same
    reports the hint lists for anyone at the place; a finished report's photos stay private)."""
    row = (
        await ReportPhoto.select(ReportPhoto.sha256)
        .where(
            (ReportPhoto.reporter.report == report_id)
            & ReportPhoto.reporter.report.status.is_in(list(rules.OPEN_STATUSES))
        )
        .order_by(ReportPhoto.id)
        .first()
    )
    path = photos.path_for(upload_dir, row["sha256"]) if row else None
    return await photos.thumbnail(path) if path and path.exists() else None


async def similar_for_code(where: Where, code: str) -> list[dict]:
    categories = await category_codes()
    return await similar_open(where, categories[code]) if code in categories else []


async def _new_tracking() -> str:
    for _ in range(10):
        code = rules.new_code()
        if not await ReportReporter.exists().where(ReportReporter.tracking == code):
            return code
    raise RuntimeError("no free tracking code")  # 10 collisions in 10^12 codes: something is wrong


async def submit(
    where: Where,
    raw: dict,
    photo: Processed | PhotoError | None,
    upload_dir: Path,
    locale: str,
    source: str = "web",
    client=None,
) -> Outcome:
    """A resident's report, or their addition to an open report of the same category at the same
    spot. The client UUID makes a resend answer with the first tracking code and write nothing.
    When open reports exist and the resident has not chosen yet, nothing is written: the answer
    carries them in `similar` for the form to ask."""
    client_uuid = None
    if client is None:
        client_uuid = rules.valid_uuid(str(raw.get("client_uuid", "")))
        if client_uuid is None:
            return Outcome(errors={"form": N_("This form is out of date: reload the page and send it again")})
        existing = await _by_uuid(client_uuid)
        if existing is not None:
            return existing
    codes = await category_codes()
    checked = rules.check_submission(raw, codes)
    if isinstance(photo, PhotoError):
        checked.errors["photo"] = str(photo)
    if checked.errors:
        return Outcome(errors=checked.errors)
    values = checked.values
    similar = await similar_open(where, values["category"])
    choice = rules.join_choice(raw) if client is None else "new"
    if choice is None and similar:  # asked once and not answered: say so; else ask
        return Outcome(
            similar=similar,
            errors={"join": N_("Choose: add yours to a report above, or send a new one")}
            if raw.get("join_asked")
            else {},
        )
    join = choice if isinstance(choice, int) and choice in {r["id"] for r in similar} else None
    if photo is not None:
        photos.store(upload_dir, photo)
    tracking = await _new_tracking()
    token = secrets.token_urlsafe(18) if client is not None else None
    actor = client.actor if client is not None else RESIDENT
    code = next(c for c, i in codes.items() if i == values["category"])
    rule = None if join else await routing.rule_for("report", code, where.station, where.office, where.grid)
    try:
        async with write_transaction(Report._meta.db):
            report_id = join or await _insert_report(where, values, source)
            if join:
                await Report.update({Report.reporters: Report.reporters + 1, Report.updated_at: now()}).where(
                    Report.id == join
                )
            rows = await ReportReporter.insert(
                ReportReporter(
                    report=report_id,
                    tracking=tracking,
                    client_uuid=client_uuid,
                    token=token,
                    api_key=client.key_id if client is not None else None,
                    description=values["description"],
                    phone=values["phone"],
                    lat=values["lat"],
                    lon=values["lon"],
                    accuracy=values["accuracy"],
                    locale=locale,
                )
            ).returning(ReportReporter.id)
            reporter_id = rows[0]["id"]
            if photo is not None:
                await ReportPhoto.insert(
                    ReportPhoto(
                        reporter=reporter_id,
                        sha256=photo.sha256,
                        width=photo.width,
                        height=photo.height,
                        size=len(photo.data),
                    )
                )
            await ReportStep.insert(ReportStep(report=report_id, kind="joined" if join else "received"))
            await audit.record(
                actor,
                "join" if join else "create",
                "report",
                report_id,
                {
                    "reporter": [None, reporter_id],
                    "source": [None, source],
                    "photo": [None, photo is not None],
                    "phone": [None, bool(values["phone"])],
                },
            )
            if rule is not None:
                await routing.route_new(report_id, rule, now())
            await matter_facts.refresh([report_id])
    except Exception:  # the drivers raise different unique-violation errors
        if client_uuid is None:
            raise
        existing = await _by_uuid(client_uuid)  # the same form sent twice at the same moment
        if existing is None:
            raise
        return existing
    return Outcome(tracking=tracking, report_id=report_id, joined=bool(join), created=True, token=token or "")


async def _insert_report(where: Where, values: dict, source: str) -> int:
    rows = await Report.insert(
        Report(
            category=values["category"],
            source=source,
            poster=where.poster,
            station=where.station,
            office=where.office,
            grid=where.grid,
            place=where.place,
            address=where.address if source == "open311" else "",
            description=values["description"],
        )
    ).returning(Report.id)
    return rows[0]["id"]


async def _by_uuid(client_uuid: str) -> Outcome | None:
    row = (
        await ReportReporter.select(ReportReporter.tracking, ReportReporter.report)
        .where(ReportReporter.client_uuid == client_uuid)
        .first()
    )
    return Outcome(tracking=row["tracking"], report_id=row["report"]) if row else None


# --- tracking -----------------------------------------------------------------------------------


def _responsible(report: dict) -> str:
    """The unit in charge now: the agency it was transferred to, or the place's police unit."""
    if report.get("agency_name"):
        return report["agency_name"]
    return " · ".join(
        n for n in (report.get("station_name"), report.get("grid_name") or report.get("office_name")) if n
    )


# Built and compiled once, as the field logs' columns are (fieldwork._COLUMNS).
_REPORT_COLUMNS = Columns(
    Report,
    *Report.all_columns(),
    Report.category.code.as_alias("category_code"),
    Report.place.name.as_alias("place_name"),
    Report.grid.name.as_alias("grid_name"),
    Report.office.name.as_alias("office_name"),
    Report.station.name.as_alias("station_name"),
    Report.responsible_agency.name.as_alias("agency_name"),
    Report.assignee.name.as_alias("assignee_name"),
)


def _select_report():
    return _REPORT_COLUMNS.select()


def _decorate(report: dict, labels: dict[str, str]) -> dict:
    """Adds what every view shows; `labels` are category_labels(), read once per page."""
    report["category_label"] = labels.get(report["category_code"], report["category_code"])
    report["where"] = report["place_name"] or report["grid_name"] or report["office_name"] or report["address"]
    report["responsible"] = _responsible(report)
    report["expected"] = expected(report)
    return report


def expected(report: dict):
    """The current deadline while an agency has the matter: to accept, then to finish."""
    if report.get("status") != "transferred":
        return None
    if report.get("agency_state") == "new" and report.get("accept_due"):
        return report["accept_due"]
    return report.get("finish_due")


_STEP_COLUMNS = (
    *ReportStep.all_columns(),
    ReportStep.actor.name.as_alias("actor_name"),
    ReportStep.assignee.name.as_alias("assignee_name"),
    ReportStep.agency.name.as_alias("agency_name"),
)


async def _steps(report_id: int, public_only: bool) -> list[dict]:
    query = (
        ReportStep.select(*_STEP_COLUMNS)
        .where(ReportStep.report == report_id)
        .order_by(ReportStep.at)
        .order_by(ReportStep.id)
    )
    if public_only:
        query = query.where(ReportStep.public.eq(True))
    return await query


async def track(code: str) -> dict | None:
    """What the resident with this tracking code may see; None for a wrong or unknown code alike."""
    tracking = rules.normalise_code(code)
    if tracking is None:
        return None
    reporter = await ReportReporter.select().where(ReportReporter.tracking == tracking).first()
    if reporter is None:
        return None
    report = _decorate(await _select_report().where(Report.id == reporter["report"]).first(), await category_labels())
    reporter["phone"] = rules.mask_phone(reporter["phone"])
    reporter["photos"] = await ReportPhoto.select(ReportPhoto.id, ReportPhoto.width, ReportPhoto.height).where(
        ReportPhoto.reporter == reporter["id"]
    )
    reporter["may_rate"] = rules.may_rate(report["status"], report["done_at"], reporter["rated_at"])
    steps = await _steps(report["id"], public_only=True)
    for step in steps:
        if step["kind"] in rules.TEXT_FOR_STAFF:
            step["text"] = ""
    return {"report": report, "reporter": reporter, "steps": steps}


async def rate(code: str, raw: dict) -> dict[str, str] | None:
    """Store the resident's rating; ≤ 2 reopens the report once within 7 days. None: not found."""
    tracking = rules.normalise_code(code)
    if tracking is None:
        return None
    async with write_transaction(Report._meta.db):
        reporter = await ReportReporter.select().where(ReportReporter.tracking == tracking).first()
        if reporter is None:
            return None
        report = await Report.select().where(Report.id == reporter["report"]).first()
        if not rules.may_rate(report["status"], report["done_at"], reporter["rated_at"]):
            return {"form": N_("This report cannot be rated now")}
        rating, comment, errors = rules.check_rating(raw)
        if errors or rating is None:
            return errors
        moment = now()
        await ReportReporter.update(
            {ReportReporter.rating: rating, ReportReporter.rating_comment: comment, ReportReporter.rated_at: moment}
        ).where(ReportReporter.id == reporter["id"])
        await ReportStep.insert(
            ReportStep(
                report=report["id"],
                kind="rated",
                public=False,
                text=f"{rating}/5" + (f" · {comment}" if comment else ""),
            )
        )
        await audit.record(RESIDENT, "rate", "report", report["id"], {"rating": [reporter["rating"], rating]})
        if rules.reopens(rating, report["done_at"], report["reopened_at"], moment):
            await Report.update(
                {
                    Report.status: "in_progress",
                    Report.reopened_at: moment,
                    Report.updated_at: moment,
                    Report.closed_at: None,
                }
            ).where(Report.id == report["id"])
            await ReportStep.insert(ReportStep(report=report["id"], kind="reopened"))
            await audit.record(
                RESIDENT, "reopen", "report", report["id"], {"status": [report["status"], "in_progress"]}
            )
        await matter_facts.refresh([report["id"]])  # the rating, and the reopening if any
    return {}


async def tracking_photo(code: str, photo_id: int, upload_dir: Path) -> Path | None:
    """A photo of this tracking code's own submission (never another resident's)."""
    tracking = rules.normalise_code(code)
    if tracking is None:
        return None
    row = (
        await ReportPhoto.select(ReportPhoto.sha256)
        .where((ReportPhoto.id == photo_id) & (ReportPhoto.reporter.tracking == tracking))
        .first()
    )
    path = photos.path_for(upload_dir, row["sha256"]) if row else None
    return path if path and path.exists() else None


# --- staff --------------------------------------------------------------------------------------


async def _visible(principal: Principal, query):
    """Reports of the person's grids; office-level reports (no grid) to the station's officers,
    analysts and supervisors; administrators see all."""
    grids = await scope.grid_ids(principal)
    if grids is scope.ALL:
        return query
    condition: Combinable = Report.grid.is_in(list(grids) or [-1])
    if principal.has("officer", "supervisor", "analyst"):
        stations = await scope.station_ids(principal)
        if stations:
            condition = condition | (Report.grid.is_null() & Report.station.is_in(list(stations)))
    return query.where(condition)


@dataclass(frozen=True)
class QueueFilter:
    status: str = "open"  # open | done | closed | all | one status
    sort: str = "newest"  # newest | joined
    grid: int | None = None
    mine: bool = False


NEWEST = paging.newest_first(Report.created_at)
MOST_JOINED = paging.Keyset([(Report.reporters, False), (Report.created_at, False)])


def missed_before(cut: datetime) -> Combinable:
    """Matters with an agency whose deadline that counts (routing_rules.missed) passed before
    `cut`, as SQL: the queue's escalated tab and the agency's overdue tab page in the database."""
    return ((Report.agency_state == "new") & (Report.accept_due < cut)) | (
        Report.agency_state.is_in(["new", "accepted"]) & (Report.finish_due < cut)
    )


async def queue(
    principal: Principal,
    criteria: QueueFilter,
    escalate_after: timedelta = timedelta(hours=24),
    moment: datetime | None = None,
    older: int | None = None,
) -> paging.Page:
    """A page of the queue; `transferred` lists what went to agencies with where each stands
    against its deadline, `escalated` those past a missed deadline by `escalate_after` (the
    supervisor's)."""
    moment = moment or now()
    where = []
    if criteria.status == "open":
        where.append(Report.status.is_in(list(rules.OPEN_STATUSES)))
    elif criteria.status == "escalated":
        where.append((Report.status == "transferred") & missed_before(moment - escalate_after))
    elif criteria.status in rules.STATUSES:
        where.append(Report.status == criteria.status)
    if criteria.grid:
        where.append(Report.grid == criteria.grid)
    if criteria.mine:
        where.append(Report.assignee == principal.id)

    order = MOST_JOINED if criteria.sort == "joined" else NEWEST
    found = await paging.page(
        order,
        lambda: _visible(principal, paging.narrowed(_select_report(), where)),
        lambda query: _visible(principal, query),
        older,
    )
    labels = await category_labels()
    for row in found.rows:
        _decorate(row, labels)
        row["standing"] = (
            routing_rules.standing(row["agency_state"], row["accept_due"], row["finish_due"], moment, escalate_after)
            if row["status"] == "transferred"
            else "on_time"
        )
    return found


async def counts(principal: Principal) -> dict[str, int]:
    """Open reports by status, for the queue's tabs and the bottom bar."""
    query = await _visible(principal, Report.select(Report.status))
    result: dict[str, int] = {}
    for row in await query.where(Report.status.is_in(list(rules.OPEN_STATUSES))):
        result[row["status"]] = result.get(row["status"], 0) + 1
    return result


async def get(principal: Principal, report_id: int) -> dict | None:
    """A report with its reporters (phones masked), photos and the whole timeline; None when
    outside the person's units."""
    row = await (await _visible(principal, _select_report().where(Report.id == report_id))).first()
    if row is None:
        return None
    report = _decorate(row, await category_labels())
    reporters = (
        await ReportReporter.select(
            ReportReporter.id,
            ReportReporter.description,
            ReportReporter.phone,
            ReportReporter.created_at,
            ReportReporter.lat,
            ReportReporter.lon,
            ReportReporter.accuracy,
            ReportReporter.rating,
            ReportReporter.rating_comment,
            ReportReporter.api_key,
        )
        .where(ReportReporter.report == report_id)
        .order_by(ReportReporter.id)
    )
    photo_rows = await ReportPhoto.select(
        ReportPhoto.id, ReportPhoto.reporter, ReportPhoto.width, ReportPhoto.height
    ).where(ReportPhoto.reporter.is_in([r["id"] for r in reporters] or [-1]))
    for reporter in reporters:
        reporter["has_phone"] = bool(reporter["phone"])
        reporter["phone"] = rules.mask_phone(reporter["phone"])
        reporter["photos"] = [p for p in photo_rows if p["reporter"] == reporter["id"]]
    report["reporter_rows"] = reporters
    report["steps"] = await _steps(report_id, public_only=False)
    report["actions"] = [a for a in rules.ACTIONS if rules.may_act(a, report["status"])]
    report["may_reveal"] = principal.has(*HANDLERS) and any(r["has_phone"] for r in reporters)
    return report


_ASSIGNEE_CHAINS = (PersonRole.person.name, PersonRole.person.active)  # built once: see _REPORT_COLUMNS


async def assignee_choices(report: dict) -> list[dict]:
    """The officers of the report's office, station or grid and the grid's workers."""
    condition = (PersonRole.role == "officer") & (
        (PersonRole.station == report["station"])
        | (PersonRole.office == (report["office"] or -1))
        | (PersonRole.grid == (report["grid"] or -1))
    )
    if report["grid"]:
        condition = condition | ((PersonRole.role == "grid_worker") & (PersonRole.grid == report["grid"]))
    name, active = _ASSIGNEE_CHAINS
    rows = (
        await PersonRole.select(PersonRole.person, name.as_alias("name"), PersonRole.role)
        .where(condition & active.eq(True))
        .order_by(name)
    )
    seen: dict[int, dict] = {}
    for row in rows:
        seen.setdefault(row["person"], {"id": row["person"], "name": row["name"], "role": row["role"]})
    return list(seen.values())


async def agency_choices() -> list[dict]:
    return await Agency.select(Agency.id, Agency.name).where(Agency.active.eq(True)).order_by(Agency.name)


async def act(principal: Principal, report_id: int, action: str, raw: dict) -> dict[str, str] | None:
    """One staff step; {} when done, the errors otherwise, None when the report is not visible."""
    report = await get(principal, report_id)
    if report is None:
        return None
    assignees = {p["id"] for p in await assignee_choices(report)}
    agencies = {a["id"] for a in await agency_choices()}
    codes = await category_codes() if action == "category" else {}
    values, errors = rules.check_step(
        action, report["status"], raw, assignees, agencies, codes, report["category_code"]
    )
    if errors:
        return errors
    moment = now()
    reroute = await _reroute(report, values["category"], moment) if action == "category" else None
    if action == "transfer":  # by hand: the rule's deadlines when the rule names this agency
        rule = await routing.rule_for(
            "report", report["category_code"], report["station"], report["office"], report["grid"]
        )
        rule = rule if rule and rule["agency"] == values["agency"] else None
        accept_due, finish_due = await routing.deadlines(rule, moment)
    async with write_transaction(Report._meta.db):
        current = await Report.select(Report.status).where(Report.id == report_id).first()
        if not rules.may_act(action, current["status"]):  # someone else moved it meanwhile
            return {"form": N_("This step is not possible in the report's present state")}
        status = rules.next_status(action, current["status"])
        changes: dict = {Report.status: status, Report.updated_at: moment}
        if action == "accept":
            changes[Report.accepted_at] = moment
        if action in ("accept", "done") and report["assignee"] is None and principal.id in assignees:
            changes[Report.assignee] = principal.id  # who took it on handles it, unless assigned
        if action == "assign":
            changes[Report.assignee] = values["assignee"]
            changes[Report.accepted_at] = report["accepted_at"] or moment
        if action == "transfer":
            changes.update(routing.routed_changes(values["agency"], rule, accept_due, finish_due, moment))
        if action == "take_back":
            changes.update(
                {
                    Report.responsible_agency: None,
                    Report.agency_state: "",
                    Report.accept_due: None,
                    Report.finish_due: None,
                    Report.accepted_at: report["accepted_at"] or moment,
                }
            )
        if action == "done":
            changes[Report.done_at] = moment
        if action == "close":
            changes[Report.closed_at] = moment
        if action == "category":
            changes[Report.category] = codes[values["category"]]
            values["text"] = f"{report['category_label']} → {(await category_labels())[values['category']]}"
            if reroute:
                changes.update(reroute)
                status = "transferred"
        await Report.update(changes).where(Report.id == report_id)
        step = rules.ACTION_STEP[action]
        added = await ReportStep.insert(
            ReportStep(
                report=report_id,
                kind=step,
                public=rules.STEPS[step][1],
                text=values.get("text", ""),
                actor=principal.id,
                assignee=values.get("assignee"),
                agency=report["responsible_agency"] if action == "take_back" else values.get("agency"),
            )
        ).returning(ReportStep.id)
        if reroute:  # the move it causes, on the resident's timeline too
            added += await ReportStep.insert(
                ReportStep(
                    report=report_id,
                    kind="transferred",
                    public=True,
                    text="",
                    actor=principal.id,
                    agency=reroute[Report.responsible_agency],
                )
            ).returning(ReportStep.id)
        await push.report_steps([row["id"] for row in added])  # the residents who asked, after commit
        audit_changes: dict = {"status": [current["status"], status]}
        if action == "category":
            audit_changes["category"] = [report["category_code"], values["category"]]
            if reroute:
                audit_changes["agency"] = [report["responsible_agency"], reroute[Report.responsible_agency]]
        for key in ("assignee", "agency"):
            if key in values:
                audit_changes[key] = [None, values[key]]
        await audit.record(audit.actor_of(principal), action, "report", report_id, audit_changes)
        await matter_facts.refresh([report_id])
        await _tell(principal, report_id, report["description"], action, values, reroute)
    return {}


async def _tell(
    principal: Principal, report_id: int, text: str, action: str, values: dict, reroute: dict | None
) -> None:
    """Inside the transaction: the person a report was assigned to, or the staff of the agency
    it was sent to, hear of it."""
    items = []
    if action == "assign" and values.get("assignee") and values["assignee"] != principal.id:
        items.append(
            notifications.New(person=values["assignee"], kind="report", text=text, url=f"/reports/{report_id}")
        )
    agency = values.get("agency") if action == "transfer" else (reroute or {}).get(Report.responsible_agency)
    for person in await notifications.agency_staff(agency):
        items.append(notifications.New(person=person, kind="report_transferred", text=text, url=f"/agency/{report_id}"))
    await notifications.add(items)


async def _reroute(report: dict, code: str, moment: datetime) -> dict | None:
    """A new category whose rule names another agency than the one in charge moves the matter
    there, with the rule's deadlines (the report's changes); None leaves it where it is."""
    rule = await routing.rule_for("report", code, report["station"], report["office"], report["grid"])
    if rule is None or rule["agency"] == report["responsible_agency"]:
        return None
    accept_due, finish_due = await routing.deadlines(rule, moment)
    return routing.routed_changes(rule["agency"], rule, accept_due, finish_due, moment)


async def reveal_phones(principal: Principal, report_id: int) -> list[dict] | None:
    """The residents' full numbers for a call-back, to handlers only; every view is audited."""
    if not principal.has(*HANDLERS):
        return None
    report = await get(principal, report_id)
    if report is None:
        return None
    rows = await ReportReporter.select(ReportReporter.id, ReportReporter.phone).where(
        (ReportReporter.report == report_id) & (ReportReporter.phone != "")
    )
    async with write_transaction(Report._meta.db):
        await audit.record(
            audit.actor_of(principal), "view_personal_data", "report", report_id, {"phones": [None, len(rows)]}
        )
    return rows


async def staff_photo(principal: Principal, photo_id: int, upload_dir: Path) -> Path | None:
    row = (
        await ReportPhoto.select(ReportPhoto.sha256, ReportPhoto.reporter.report.as_alias("report"))
        .where(ReportPhoto.id == photo_id)
        .first()
    )
    if row is None or await get(principal, row["report"]) is None:
        return None
    path = photos.path_for(upload_dir, row["sha256"])
    return path if path.exists() else None


def step_label(step: dict) -> str:
    label, _public = rules.STEPS.get(step["kind"], (step["kind"], False))
    if step["kind"] in rules.AGENCY_STEP_KINDS:
        return gettext(label, agency=step.get("agency_name") or "")
    return gettext(label)


# --- Open311 ------------------------------------------------------------------------------------


def _metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    r = 6_371_000
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


async def where_for_open311(lat: float | None, lon: float | None, address: str, address_id: str) -> Where | None:
    """A place for an Open311 request: address_id (a poster code or a place id), else the place
    whose name or alias the address names, else the nearest place to lat/long (within 1.5 km)."""
    if address_id:
        code = rules.normalise_code(address_id)
        if code:
            poster = (
                await ReportPoster.select()
                .where((ReportPoster.code == code) & ReportPoster.retired_at.is_null())
                .first()
            )
            if poster:
                return await where_of_poster(poster)
        if address_id.isdecimal() and len(address_id) < 12:
            return await where_of_place(int(address_id))
        return None
    if address:
        places = await Place.select(Place.id, Place.name, Place.aliases).where(Place.active.eq(True))
        words = address.strip()
        for place in sorted(places, key=lambda p: -len(p["name"])):
            names = [place["name"], *[a.strip() for a in place["aliases"].splitlines() if a.strip()]]
            if any(name and name in words for name in names):
                where = await where_of_place(place["id"])
                return Where(**{**where.__dict__, "address": words[:200]}) if where else None
    if lat is not None and lon is not None:
        places = await Place.select(Place.id, Place.lat, Place.lon).where(
            Place.active.eq(True) & Place.lat.is_not_null() & Place.lon.is_not_null()
        )
        best = min(places, key=lambda p: _metres(lat, lon, p["lat"], p["lon"]), default=None)
        if best and _metres(lat, lon, best["lat"], best["lon"]) <= NEAREST_PLACE_METRES:
            where = await where_of_place(best["id"])
            return Where(**{**where.__dict__, "address": address.strip()[:200]}) if where else None
    return None


async def open311_requests(
    ids: list[int] | None = None,
    codes: list[str] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    statuses: tuple[str, ...] | None = None,
    limit: int = rules.OPEN311_MAX_ROWS,
) -> list[dict]:
    query = _select_report()
    if ids is not None:
        query = query.where(Report.id.is_in(ids or [-1]))
    if codes:
        query = query.where(Report.category.code.is_in(codes))
    if start:
        query = query.where(Report.created_at >= start)
    if end:
        query = query.where(Report.created_at <= end)
    if statuses:
        query = query.where(Report.status.is_in(list(statuses)))
    rows = await query.order_by(Report.created_at, ascending=False).order_by(Report.id, ascending=False).limit(limit)
    notes = await _latest_public_replies([r["id"] for r in rows])
    places = await _place_coordinates([r["place"] for r in rows if r["place"]])
    labels = await category_labels()
    for row in rows:
        _decorate(row, labels)
        row["status_notes"] = notes.get(row["id"], "")
        row["lat"], row["long"] = places.get(row["place"], (None, None))
    return rows


async def _latest_public_replies(report_ids: list[int]) -> dict[int, str]:
    if not report_ids:
        return {}
    rows = (
        await ReportStep.select(ReportStep.report, ReportStep.text)
        .where(
            ReportStep.report.is_in(report_ids)
            & ReportStep.public.eq(True)
            & (ReportStep.text != "")
            & ReportStep.kind.not_in(list(rules.TEXT_FOR_STAFF))
        )
        .order_by(ReportStep.id)
    )
    return {r["report"]: r["text"] for r in rows}  # the last one wins


async def _place_coordinates(place_ids: list[int]) -> dict[int, tuple[float | None, float | None]]:
    if not place_ids:
        return {}
    rows = await Place.select(Place.id, Place.lat, Place.lon).where(Place.id.is_in(place_ids))
    return {r["id"]: (r["lat"], r["lon"]) for r in rows}


async def report_id_for_token(token: str) -> int | None:
    if not token or len(token) > 40:
        return None
    row = await ReportReporter.select(ReportReporter.report).where(ReportReporter.token == token).first()
    return row["report"] if row else None


async def station_contact(station_id: int) -> dict:
    return (
        await Station.select(Station.name, Station.phone, Station.address).where(Station.id == station_id).first() or {}
    )
