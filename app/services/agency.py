"""The agency's side of routed matters: agency staff see only their agency's matters (a queue with
deadlines and overdue flags) and take the steps: accept (签收), return (退回, back to the police
queue), internal notes, answer (办结, the public reply) and transfer on to another agency.
Every step is a timeline row and an audit row in one transaction."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from piccolo.columns.combination import Combinable

from app.db import write_transaction
from app.domain import routing as rules
from app.domain.access import Principal
from app.domain.agency import ACTIONS, check_step, flags, state_after, state_message
from app.domain.photos import PhotoError, Processed
from app.i18n import N_, gettext
from app.services import alerts, audit, matter_facts, notifications, paging, photos, push, routing
from app.services.auth import now
from app.services.report_lists import category_labels
from app.services.reports import _decorate, _select_report, _steps, missed_before
from app.tables import Agency, Report, ReportReporter, ReportStep, ReportStepPhoto

ROLE = "agency_staff"
TABS = {
    "new": N_("New"),
    "accepted": N_("Accepted"),
    "overdue": N_("Overdue"),
    "answered": N_("Answered"),
    "returned": N_("Returned"),
    "calls": N_("110 calls"),
}
NO_AGENCY = N_("Your role is not linked to an agency yet: ask the administrator to link it.")


def _mine(principal: Principal):
    return Report.responsible_agency.is_in(list(principal.agency_ids) or [-1])


def _with_flags(rows: list[dict], labels: dict, moment: datetime) -> list[dict]:
    for row in rows:
        _decorate(row, labels)
        row["flags"] = flags(row, moment)
    return rows


BY_DEADLINE = paging.soonest_first(Report.finish_due)
RETURNED = paging.newest_first(Report.updated_at)


async def queue(
    principal: Principal, tab: str, moment: datetime | None = None, after: int | None = None
) -> paging.Page:
    """A page of the agency's matters in one tab, the soonest deadline first; `returned`: those
    it sent back or on (now elsewhere), the latest first."""
    moment = moment or now()
    if tab == "returned":
        condition = await _returned(principal) & (
            Report.responsible_agency.is_null() | Report.responsible_agency.not_in(list(principal.agency_ids) or [-1])
        )
        order, scope = RETURNED, condition
    else:
        tab_condition = (
            (Report.agency_state == tab) if tab in ("new", "accepted", "answered") else missed_before(moment)
        )
        condition, order, scope = _mine(principal) & tab_condition, BY_DEADLINE, _mine(principal)

    # An anchor only among the matters the agency has (or had, returned).
    found = await paging.page(
        order,
        lambda: paging.everything(_select_report().where(condition)),
        lambda query: paging.everything(query.where(scope)),
        after,
    )
    _with_flags(found.rows, await category_labels(), moment)
    return found


async def _returned(principal: Principal) -> Combinable:
    """The matters the agency sent back to the police or on to another agency (subqueries: an
    agency's years of steps stay in the database)."""
    gone = ReportStep.select(ReportStep.report).where(
        (ReportStep.kind == "returned") & ReportStep.agency.is_in(list(principal.agency_ids) or [-1])
    )
    moved = ReportStep.select(ReportStep.report).where(
        (ReportStep.kind == "transferred") & ReportStep.actor.is_in(await _colleagues(principal))
    )
    return Report.id.is_in(gone) | Report.id.is_in(moved)


async def _colleagues(principal: Principal) -> list[int]:
    """The people holding a role for the principal's agencies (whose transfers on are theirs)."""
    from app.tables import PersonRole

    rows = await PersonRole.select(PersonRole.person).where(
        (PersonRole.role == ROLE) & PersonRole.agency.is_in(list(principal.agency_ids) or [-1])
    )
    return [r["person"] for r in rows] or [-1]


async def counts(principal: Principal, moment: datetime | None = None) -> dict[str, int]:
    """Open matters by tab, for the tabs and the home page."""
    moment = moment or now()
    rows = await Report.select(Report.agency_state, Report.accept_due, Report.finish_due).where(
        _mine(principal) & Report.agency_state.is_in(["new", "accepted"])
    )
    result = {"new": 0, "accepted": 0, "overdue": 0}
    for row in rows:
        result[row["agency_state"]] += 1
        result["overdue"] += flags(row, moment).overdue
    return result


async def get(principal: Principal, report_id: int, moment: datetime | None = None) -> dict | None:
    """A matter of the principal's agency with its timeline: the public steps and the agency's own
    notes (never the police's internal notes); None for anything else."""
    row = await _select_report().where((Report.id == report_id) & _mine(principal)).first()
    if row is None:
        return None
    report = _with_flags([row], await category_labels(), moment or now())[0]
    steps = await _steps(report_id, public_only=False)
    report["steps"] = [
        s for s in steps if s["public"] or (s["kind"] == "agency_note" and s["agency"] in principal.agency_ids)
    ]
    pictures = await ReportStepPhoto.select(
        ReportStepPhoto.id, ReportStepPhoto.step, ReportStepPhoto.width, ReportStepPhoto.height
    ).where(ReportStepPhoto.step.is_in([s["id"] for s in report["steps"] if s["kind"] == "agency_note"] or [-1]))
    for step in report["steps"]:
        step["photos"] = [p for p in pictures if p["step"] == step["id"]]
    report["descriptions"] = (
        await ReportReporter.select(ReportReporter.description, ReportReporter.created_at)
        .where(ReportReporter.report == report_id)
        .order_by(ReportReporter.id)
    )
    report["actions"] = [a for a, states in ACTIONS.items() if report["agency_state"] in states]
    return report


async def other_agencies(principal: Principal) -> list[dict]:
    return (
        await Agency.select(Agency.id, Agency.name)
        .where(Agency.active.eq(True) & Agency.id.not_in(list(principal.agency_ids) or [-1]))
        .order_by(Agency.name)
    )


async def act(
    principal: Principal,
    report_id: int,
    action: str,
    raw: dict,
    photo: Processed | PhotoError | None = None,
    upload_dir: Path | None = None,
) -> dict[str, str] | None:
    """One agency step; {} when done, the errors otherwise, None when the matter is not theirs.
    A photo goes with an internal note only (the handling), kept from the resident."""
    if action not in ACTIONS:
        return {"form": N_("Unknown action")}
    report = await get(principal, report_id)
    if report is None:
        return None
    own = report["responsible_agency"]
    active = {a["id"] for a in await Agency.select(Agency.id).where(Agency.active.eq(True))}
    photo = photo if action == "note" else None
    values, errors = check_step(action, raw, own, active, photo)
    if report["agency_state"] not in ACTIONS[action]:
        errors = {"form": state_message(report["agency_state"])}
    if errors:
        return errors
    moment = now()
    target = values.get("agency")
    rule = None
    if target:
        found = await routing.rule_for(
            "report", report["category_code"], report["station"], report["office"], report["grid"]
        )
        rule = found if found and found["agency"] == target else None
        accept_due, finish_due = await routing.deadlines(rule, moment)
    if isinstance(photo, Processed) and upload_dir is not None:
        photos.store(upload_dir, photo)
    async with write_transaction(Report._meta.db):
        current = (
            await Report.select(Report.agency_state, Report.responsible_agency).where(Report.id == report_id).first()
        )
        if current["responsible_agency"] != own or current["agency_state"] not in ACTIONS[action]:
            return {"form": state_message(current["agency_state"])}  # someone moved it meanwhile
        changes, step = _step(action, values, own, moment)
        if target:
            changes = {
                **routing.routed_changes(target, rule, accept_due, finish_due, moment),
                Report.returns: Report.returns + 1,
            }
        await Report.update(changes).where(Report.id == report_id)
        [inserted] = await ReportStep.insert(ReportStep(report=report_id, actor=principal.id, **step)).returning(
            ReportStep.id
        )
        await push.report_steps([inserted["id"]])  # an answer or a transfer: the residents who asked
        if isinstance(photo, Processed):
            await ReportStepPhoto.insert(
                ReportStepPhoto(
                    step=inserted["id"],
                    sha256=photo.sha256,
                    width=photo.width,
                    height=photo.height,
                    size=len(photo.data),
                )
            )
        await audit.record(
            audit.actor_of(principal),
            f"agency_{action}",
            "report",
            report_id,
            {
                "agency_state": [current["agency_state"], state_after(action)],
                "agency": [own, target or (None if action == "return" else own)],
            },
        )
        await matter_facts.refresh([report_id])
        await _tell(report, action, target)
    return {}


async def _tell(report: dict, action: str, target: int | None) -> None:
    """Inside the transaction: a returned matter is news for the report's handler (else the
    grid's officer); a transferred one for the staff of the agency it goes to."""
    people: list[int] = []
    kind = "report_returned" if action == "return" else "report_transferred"
    if action == "return":
        if report["assignee"]:
            people = [report["assignee"]]
        elif report["grid"]:
            people = list((await alerts.chain_for(report["grid"])).at(0))
    elif target:
        people = await notifications.agency_staff(target)
    url = f"/reports/{report['id']}" if action == "return" else f"/agency/{report['id']}"
    await notifications.add(
        [notifications.New(person=p, kind=kind, text=report["description"], url=url) for p in people]
    )


async def step_photo(principal: Principal, photo_id: int, upload_dir: Path) -> Path | None:
    """A photo of the principal's agency's own note on a matter it still has; None otherwise."""
    row = (
        await ReportStepPhoto.select(
            ReportStepPhoto.sha256,
            ReportStepPhoto.step.report.as_alias("report"),
            ReportStepPhoto.step.agency.as_alias("agency"),
        )
        .where(ReportStepPhoto.id == photo_id)
        .first()
    )
    if row is None or row["agency"] not in principal.agency_ids or await get(principal, row["report"]) is None:
        return None
    path = photos.path_for(upload_dir, row["sha256"])
    return path if path.exists() else None


def _step(action: str, values: dict, own: int, moment: datetime) -> tuple[dict, dict]:
    """(the report's changes, the timeline step) for an agency step."""
    if action == "accept":
        return (
            {Report.agency_state: "accepted", Report.agency_accepted_at: moment, Report.updated_at: moment},
            {"kind": "agency_accepted", "public": True, "agency": own},
        )
    if action == "note":
        return {Report.updated_at: moment}, {
            "kind": "agency_note",
            "public": False,
            "agency": own,
            "text": values["text"],
        }
    if action == "answer":
        return (
            {
                Report.agency_state: "answered",
                Report.status: "done",
                Report.done_at: moment,
                Report.answered_by: own,
                Report.updated_at: moment,
            },
            {"kind": "answered", "public": True, "agency": own, "text": values["text"]},
        )
    if action == "return":
        reason = gettext(rules.RETURN_REASONS[values["reason"]])
        return (
            {
                Report.agency_state: "returned",
                Report.status: "received",
                Report.responsible_agency: None,
                Report.accept_due: None,
                Report.finish_due: None,
                Report.returns: Report.returns + 1,
                Report.updated_at: moment,
            },
            {"kind": "returned", "public": True, "agency": own, "text": f"{reason}: {values['text']}"},
        )
    return {}, {"kind": "transferred", "public": True, "agency": values["agency"], "text": values["text"]}
