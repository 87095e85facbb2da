"""Volunteers: public registration, the officers' approval queue, patrol shifts (one-off or a
weekly series), sign-up with a waiting list, check-in / check-out, the leader's attendance,
observations, the hours ledger, the certificate and the CSV export. The only code that writes
the volunteer tables; each write and its audit row share one transaction.

Races: every sign-up, cancellation and promotion runs in `write_transaction`. On SQLite that is
BEGIN IMMEDIATE, so writers take turns; on PostgreSQL the transaction first locks the shift's
row (SELECT … FOR UPDATE; at sign-up the person's row before it, for the overlap check), so two
volunteers taking the last place at the same moment are served one after the other: exactly
one gets it and the other finds the shift full and joins the waiting list.

Sign-ups nobody checked out of are closed by `close_overdue`, which each app process runs every
minute (services/jobs.py): reading a page never writes."""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from piccolo.engine.postgres import PostgresEngine

from app.browser import current_browser
from app.db import write_transaction
from app.domain import csv_export
from app.domain import fieldwork as field_rules
from app.domain import phone as phones
from app.domain import volunteers as rules
from app.domain.access import Principal
from app.domain.photos import PhotoError, Processed
from app.i18n import N_
from app.request_context import current_request
from app.services import audit, auth, photos, ratelimit, scope
from app.services.auth import now
from app.settings import Settings
from app.tables import (
    Grid,
    Observation,
    PatrolShift,
    Person,
    PersonRole,
    Photo,
    Place,
    ShiftSignup,
    Station,
    VolunteerApplication,
    VolunteerProfile,
)

log = logging.getLogger("qianmo.volunteers")
STAFF = ("officer", "supervisor")
PUBLIC = audit.Actor(id=None, role="public")
ACTIVE = ("confirmed", "waiting")


@dataclass
class Outcome:
    """What an action did: ok, or a refusal (a message id with values) or form errors."""

    ok: bool = False
    refusal: rules.Refusal | None = None
    errors: dict[str, str] = field(default_factory=dict)
    status: str = ""  # sign-up: confirmed | waiting
    id: int | None = None
    link: str = ""  # approval: the invitation link


def refused(message: str, **params) -> Outcome:
    return Outcome(refusal=rules.Refusal(message, params))


def _is_postgres() -> bool:
    return isinstance(PatrolShift._meta.db, PostgresEngine)


async def _lock(table, row_id: int) -> None:
    """PostgreSQL: hold the row until the transaction ends. SQLite's BEGIN IMMEDIATE already
    lets only one writer in at a time."""
    if _is_postgres():
        await table.select(table.id).where(table.id == row_id).lock_rows()


def is_staff(principal: Principal) -> bool:
    return principal.has(*STAFF)


async def staff_grids(principal: Principal) -> set[int]:
    """Grids whose volunteers, shifts and applications the officer or supervisor manages."""
    if not is_staff(principal):
        return set()
    grids = await scope.grid_ids(principal)
    return await _all_grids() if grids is scope.ALL else set(grids)


async def _all_grids() -> set[int]:
    return {r["id"] for r in await Grid.select(Grid.id)}


def volunteer_grids(principal: Principal) -> set[int]:
    return set(principal.grid_ids) if principal.has("volunteer") else set()


def zone(tz: str) -> ZoneInfo:
    return ZoneInfo(tz)


# --- registration (public) -------------------------------------------------------------------

async def registration_choices() -> dict:
    """Active grids by office, for the public form."""
    grids = await Grid.select(Grid.id, Grid.name, Grid.office, Grid.office.name.as_alias("office_name")).where(
        Grid.active.eq(True) & Grid.office.active.eq(True)).order_by(Grid.office.name).order_by(Grid.name)
    offices: dict[tuple[int, str], list[dict]] = {}
    for g in grids:
        offices.setdefault((g["office"], g["office_name"]), []).append(g)
    return {"offices": offices}


async def register(raw: dict, settings: Settings) -> Outcome:
    """Store an application. A filled honeypot field, or a phone already waiting, answers as if
    stored and stores nothing; too many from one browser is refused. Beyond the usual number
    from one client address (shared by a building, or by a carrier's thousands of phones) or from
    everyone in a day, the application is still stored, held apart for a careful look, and the
    applicant sees the same "received": a flood must not shut the form for real people."""
    if str(raw.get("website", "")).strip():
        log.info("volunteer registration honeypot filled")
        return Outcome(ok=True)
    choices = await registration_choices()
    grids = {g["id"] for gs in choices["offices"].values() for g in gs}
    offices = {o for o, _n in choices["offices"]}
    checked = rules.check_application(raw, grids, offices)
    if checked.errors:
        return Outcome(errors=checked.errors)
    hour, browser = timedelta(hours=1), current_browser.get()
    if browser and not await ratelimit.allow(f"volunteer_register:browser:{browser}",
                                             settings.volunteer_register_per_hour, hour):
        return refused(N_("Too many registrations from this browser. Please try again in an hour."))
    ip = current_request.get().ip or "unknown"
    # Held by its address's limit, an application does not count against everyone's day.
    held = not (await ratelimit.allow(f"volunteer_register:ip:{ip}", settings.volunteer_register_address_per_hour, hour)
                and await ratelimit.allow("volunteer_register:all", settings.volunteer_register_per_day,
                                          timedelta(days=1)))
    values = checked.values
    values["phone"] = phones.normalise(values["phone"])
    async with write_transaction(VolunteerApplication._meta.db):
        if await VolunteerApplication.exists().where((VolunteerApplication.phone == values["phone"])
                                                     & (VolunteerApplication.status == "pending")):
            return Outcome(ok=True)  # one application per phone waits at a time
        rows = await VolunteerApplication.insert(VolunteerApplication(**values, consent_at=now(), held=held)).returning(
            VolunteerApplication.id)
        await audit.record(PUBLIC, "create", "volunteer_application", rows[0]["id"],
                           {"grids": [None, values["grids"]], "office": [None, values["office"]], "held": [None, held]})
    return Outcome(ok=True, id=rows[0]["id"])


# --- the approval queue (officers) ------------------------------------------------------------

async def _office_ids(grids: set[int]) -> set[int]:
    if not grids:
        return set()
    return {r["office"] for r in await Grid.select(Grid.office).where(Grid.id.is_in(list(grids)))}


def _application_in(row: dict, grids: set[int], offices: set[int]) -> bool:
    return bool(set(rules.ids_list(row["grids"])) & grids) or (row["office"] is not None and row["office"] in offices)


async def applications(principal: Principal, status: str = "pending") -> list[dict]:
    """Applications whose grids (or office) lie in the officer's scope; phones masked."""
    grids = await staff_grids(principal)
    offices = await _office_ids(grids)
    status = status if status in rules.STATUSES else "pending"
    rows = await VolunteerApplication.select(
        VolunteerApplication.all_columns(), VolunteerApplication.office.name.as_alias("office_name")).where(
        VolunteerApplication.status == status).order_by(VolunteerApplication.created_at,
                                                         ascending=status == "pending").limit(500)
    names = await _grid_names()
    out = []
    for row in rows:
        if _application_in(row, grids, offices):
            _describe_application(row, names)
            out.append(row)
    return out


async def pending_count(principal: Principal) -> int:
    return len(await applications(principal, "pending"))


async def _grid_names() -> dict[int, str]:
    return {r["id"]: r["name"] for r in await Grid.select(Grid.id, Grid.name)}


def _describe_application(row: dict, names: dict[int, str]) -> None:
    row["grid_ids"] = rules.ids_list(row["grids"])
    row["grid_names"] = [names.get(g, "?") for g in row["grid_ids"]]
    row["availability_list"] = rules.codes_list(row["availability"])
    row["skills_list"] = rules.codes_list(row["skills"])
    row["phone_masked"] = phones.mask(row["phone"])


async def application(principal: Principal, app_id: int, reveal_phone: bool = False) -> dict | None:
    grids = await staff_grids(principal)
    row = await _application_row(app_id)
    if row is None or not _application_in(row, grids, await _office_ids(grids)):
        return None
    _describe_application(row, await _grid_names())
    row["phone_shown"] = False
    if reveal_phone:
        async with write_transaction(VolunteerApplication._meta.db):
            await audit.record(audit.actor_of(principal), "view_personal_data", "volunteer_application", app_id,
                               {"field": [None, "phone"]})
        row["phone_shown"] = True
    row["grid_choices"] = await _grid_choices(row, grids)
    # The phone may be someone's already: the officer is told, and no approval reaches that account.
    row["existing"] = await people_with_phone(row["phone"])
    return row


async def _application_row(app_id: int) -> dict | None:
    return await VolunteerApplication.select(
        VolunteerApplication.all_columns(), VolunteerApplication.office.name.as_alias("office_name"),
        VolunteerApplication.decided_by.name.as_alias("decided_by_name"),
        VolunteerApplication.person.name.as_alias("person_name")).where(VolunteerApplication.id == app_id).first()


async def _grid_choices(row: dict, grids: set[int]) -> list[tuple[int, str]]:
    """The grids one may approve for: the applicant's choices in `grids`, or their office's."""
    office_grids = await Grid.select(Grid.id, Grid.name).where(
        Grid.active.eq(True) & (Grid.office == row["office"] if row["office"] else Grid.id.is_in(row["grid_ids"] or [-1])))
    choices = {g["id"]: g["name"] for g in office_grids if g["id"] in grids}
    choices.update({g: n for g, n in zip(row["grid_ids"], row["grid_names"]) if g in grids})
    return sorted(choices.items(), key=lambda c: c[1])


async def people_with_phone(phone: str) -> list[dict]:
    """Everyone whose stored phone is this number (however it was typed): id and name."""
    digits = phones.normalise(phone)
    if len(digits) < 4:
        return []
    rows = await Person.select(Person.id, Person.name, Person.phone).where(
        Person.phone.like(f"%{digits[-4:]}")).order_by(Person.id)
    return [{"id": r["id"], "name": r["name"]} for r in rows if phones.normalise(r["phone"]) == digits]


def _chosen_grids(grid_ids: list[int], choices: list[tuple[int, str]]) -> tuple[set[int], dict[str, str]]:
    chosen = set(grid_ids)
    if not chosen:
        return chosen, {"grids": N_("Choose at least one grid")}
    if chosen - {g for g, _n in choices}:
        return chosen, {"grids": N_("Choose from the list")}
    return chosen, {}


async def _decide(app_id: int, principal: Principal, person_id: int | None = None) -> bool:
    """Mark a pending application approved (inside the caller's transaction); False when it was decided already."""
    values = {VolunteerApplication.status: "approved", VolunteerApplication.decided_by: principal.id,
              VolunteerApplication.decided_at: now()}
    if person_id is not None:
        values[VolunteerApplication.person] = person_id
    return bool(await VolunteerApplication.update(values).where(
        (VolunteerApplication.id == app_id) & (VolunteerApplication.status == "pending")).returning(
        VolunteerApplication.id))


async def _make_volunteer(person_id: int, row: dict, grids: set[int]) -> list[int]:
    """The volunteer role for the grids the person does not hold yet, and a profile if none; the grids added."""
    held = {r["grid"] for r in await PersonRole.select(PersonRole.grid).where(
        (PersonRole.person == person_id) & (PersonRole.role == "volunteer"))}
    added = sorted(grids - held)
    for grid in added:
        await PersonRole.insert(PersonRole(person=person_id, role="volunteer", grid=grid))
    if not await VolunteerProfile.exists().where(VolunteerProfile.person == person_id):
        await VolunteerProfile.insert(VolunteerProfile(person=person_id, availability=row["availability"],
                                                       skills=row["skills"], skills_note=row["skills_note"]))
    return added


EXISTING_PHONE = N_("This number belongs to an existing person: %(names)s. Approving makes the applicant a new, "
                    "separate person; it gives no access to that account. To give the existing person the "
                    "volunteer role instead, ask an administrator.")


async def approve(principal: Principal, app_id: int, grid_ids: list[int], settings: Settings,
                  separate: bool = False) -> Outcome:
    """The applicant becomes a new person, a volunteer of the chosen grids, with an invitation
    link to register a passkey. An application never reaches an existing account: when the
    phone is someone's already, the officer must say that the applicant is a separate person
    (`separate`); only an administrator links the role to the existing person (`link`)."""
    row = await application(principal, app_id)
    if row is None:
        return refused(N_("This application cannot be found."))
    chosen, errors = _chosen_grids(grid_ids, row["grid_choices"])
    if errors:
        return Outcome(errors=errors)
    actor = audit.actor_of(principal)
    async with write_transaction(VolunteerApplication._meta.db):
        existing = await people_with_phone(row["phone"])
        if existing and not separate:
            return refused(EXISTING_PHONE, names="、".join(p["name"] for p in existing))
        if not await _decide(app_id, principal):
            return refused(N_("This application has already been decided."))
        rows = await Person.insert(Person(name=row["name"], phone=row["phone"])).returning(Person.id)
        person_id = rows[0]["id"]
        await VolunteerApplication.update({VolunteerApplication.person: person_id}).where(
            VolunteerApplication.id == app_id)
        await audit.record(actor, "create", "person", person_id, {"name": [None, row["name"]], "phone": [None, "***"]})
        # Invited while the person holds nothing yet: the invitation policy allows it for a new person only.
        link = await auth.issue_invitation(person_id, settings, actor)
        await _make_volunteer(person_id, row, chosen)
        await audit.record(actor, "approve", "volunteer_application", app_id, {
            "person": [None, person_id], "grids": [None, sorted(chosen)],
            **({"separate_from": [None, [p["id"] for p in existing]]} if existing else {})})
    return Outcome(ok=True, id=person_id, link=link)


async def link(principal: Principal, app_id: int, person_id: int, grid_ids: list[int]) -> Outcome:
    """An administrator gives the volunteer role for the chosen grids to the existing person
    whose phone the application names. No invitation: the person already signs in, and adds
    a passkey on their own page."""
    if not principal.has("admin"):
        return refused(N_("Only an administrator links an application to an existing person."))
    row = await _application_row(app_id)
    if row is None or row["status"] != "pending":
        return refused(N_("This application cannot be found."))
    _describe_application(row, await _grid_names())
    if person_id not in {p["id"] for p in await people_with_phone(row["phone"])}:
        return Outcome(errors={"person": N_("Choose from the list")})
    chosen, errors = _chosen_grids(grid_ids, await _grid_choices(row, await _all_grids()))
    if errors:
        return Outcome(errors=errors)
    actor = audit.actor_of(principal)
    async with write_transaction(VolunteerApplication._meta.db):
        if not await _decide(app_id, principal, person_id):
            return refused(N_("This application has already been decided."))
        added = await _make_volunteer(person_id, row, chosen)
        await audit.record(actor, "link", "volunteer_application", app_id,
                           {"person": [None, person_id], "grids": [None, sorted(chosen)]})
        await audit.record(actor, "update", "person", person_id, {"volunteer_grids": [None, added]})
    return Outcome(ok=True, id=person_id)


async def applications_for_person(principal: Principal, person_id: int) -> list[dict]:
    """For an administrator on a person's page: the pending applications made with their phone,
    each with the grids the role may be linked for."""
    if not principal.has("admin"):
        return []
    person = await Person.select(Person.phone).where(Person.id == person_id).first()
    digits = phones.normalise(person["phone"]) if person else ""
    if len(digits) < 4:
        return []
    rows = await VolunteerApplication.select(
        VolunteerApplication.all_columns(), VolunteerApplication.office.name.as_alias("office_name")).where(
        (VolunteerApplication.status == "pending") & VolunteerApplication.phone.like(f"%{digits[-4:]}"))
    names, grids = await _grid_names(), await _all_grids()
    out = []
    for row in rows:
        if phones.normalise(row["phone"]) == digits:
            _describe_application(row, names)
            row["grid_choices"] = await _grid_choices(row, grids)
            out.append(row)
    return out


async def decline(principal: Principal, app_id: int, reason: str) -> Outcome:
    error = rules.check_reason(reason)
    if error:
        return Outcome(errors={"reason": error})
    if await application(principal, app_id) is None:
        return refused(N_("This application cannot be found."))
    async with write_transaction(VolunteerApplication._meta.db):
        taken = await VolunteerApplication.update({
            VolunteerApplication.status: "declined", VolunteerApplication.decided_by: principal.id,
            VolunteerApplication.decided_at: now(), VolunteerApplication.decline_reason: reason.strip()}).where(
            (VolunteerApplication.id == app_id) & (VolunteerApplication.status == "pending")).returning(
            VolunteerApplication.id)
        if not taken:
            return refused(N_("This application has already been decided."))
        await audit.record(audit.actor_of(principal), "decline", "volunteer_application", app_id,
                           {"reason": [None, reason.strip()]})
    return Outcome(ok=True, id=app_id)


# --- shifts: create, edit, cancel (officers) ----------------------------------------------------

async def leader_choices(principal: Principal) -> list[dict]:
    """Officers of the principal's stations and senior volunteers of their grids."""
    grids = await staff_grids(principal)
    stations = await scope.station_ids(principal) if not principal.has("admin") else {
        r["id"] for r in await Station.select(Station.id)}
    officer_rows = await PersonRole.select(PersonRole.person, PersonRole.person.name.as_alias("name")).where(
        (PersonRole.role == "officer") & PersonRole.person.active.eq(True) & (
            PersonRole.station.is_in(list(stations) or [-1]) | PersonRole.office.station.is_in(list(stations) or [-1])
            | PersonRole.grid.office.station.is_in(list(stations) or [-1])))
    senior_rows = await PersonRole.select(PersonRole.person, PersonRole.person.name.as_alias("name")).where(
        (PersonRole.role == "volunteer") & PersonRole.grid.is_in(list(grids) or [-1])
        & PersonRole.person.active.eq(True))
    seniors = {r["person"] for r in await VolunteerProfile.select(VolunteerProfile.person).where(
        VolunteerProfile.senior.eq(True))}
    out: dict[int, dict] = {}
    for r in officer_rows:
        out.setdefault(r["person"], {"id": r["person"], "name": r["name"], "kind": "officer"})
    for r in senior_rows:
        if r["person"] in seniors:
            out.setdefault(r["person"], {"id": r["person"], "name": r["name"], "kind": "volunteer"})
    return sorted(out.values(), key=lambda p: (p["kind"] != "officer", p["name"]))


async def shift_form_choices(principal: Principal) -> dict:
    grids = await staff_grids(principal)
    rows = await Grid.select(Grid.id, Grid.name, Grid.office.name.as_alias("office_name")).where(
        Grid.id.is_in(list(grids) or [-1]) & Grid.active.eq(True)).order_by(Grid.office.name).order_by(Grid.name)
    return {"grids": rows, "leaders": await leader_choices(principal)}


async def _shift_rules(principal: Principal, settings: Settings, min_confirmed: int = 0,
                       editing: bool = False) -> rules.ShiftRules:
    return rules.ShiftRules(grids=await staff_grids(principal),
                            leaders={p["id"] for p in await leader_choices(principal)},
                            tz=settings.time_zone, now=now(), min_confirmed=min_confirmed, editing=editing)


def _shift_values(values: dict) -> dict:
    grids = values["grids"]
    return {"grid": grids[0], "grids": rules.codes_column(grids), "route": values["route"],
            "meeting_point": values["meeting_point"], "min_volunteers": values["min_volunteers"],
            "max_volunteers": values["max_volunteers"], "leader": values["leader"], "notes": values["notes"]}


async def create_shifts(principal: Principal, raw: dict, settings: Settings) -> Outcome:
    """One shift, or a weekly series of them (same weekday, same local times)."""
    checked = rules.check_shift(raw, await _shift_rules(principal, settings))
    if checked.errors:
        return Outcome(errors=checked.errors)
    values = checked.values
    weeks = values["weeks"]
    series = str(uuid.uuid4()) if weeks > 1 else ""
    spans = rules.series_spans(values["starts_at"], values["ends_at"], weeks, settings.time_zone)
    ids = []
    async with write_transaction(PatrolShift._meta.db):
        for starts_at, ends_at in spans:
            rows = await PatrolShift.insert(PatrolShift(series=series, starts_at=starts_at, ends_at=ends_at,
                                                        created_by=principal.id, **_shift_values(values))).returning(
                PatrolShift.id)
            ids.append(rows[0]["id"])
        await audit.record(audit.actor_of(principal), "create", "patrol_shift", ids[0],
                           {"shifts": [None, ids], "series": [None, series], "grids": [None, values["grids"]]})
    return Outcome(ok=True, id=ids[0])


async def _managed_shift(principal: Principal, shift_id: int) -> dict | None:
    row = await PatrolShift.select().where(PatrolShift.id == shift_id).first()
    if row is None or row["grid"] not in await staff_grids(principal):
        return None
    return row


async def _confirmed_count(shift_id: int) -> int:
    return await ShiftSignup.count().where((ShiftSignup.shift == shift_id) & (ShiftSignup.status == "confirmed"))


async def _shifts_to_change(principal: Principal, shift_id: int, with_series: bool) -> tuple[dict, list[dict]] | Outcome:
    """The shift an officer edits or cancels, with the rest of its series when asked; or why not."""
    row = await _managed_shift(principal, shift_id)
    if row is None:
        return refused(N_("This shift cannot be found."))
    if row["cancelled_at"] is not None:
        return refused(N_("This shift has been cancelled."))
    return row, [row] + (await _series_after(row) if with_series else [])


async def _series_after(row: dict) -> list[dict]:
    """The later shifts of the same series that have not started and are not cancelled."""
    if not row["series"]:
        return []
    return await PatrolShift.select().where(
        (PatrolShift.series == row["series"]) & (PatrolShift.starts_at > row["starts_at"])
        & (PatrolShift.starts_at > now()) & PatrolShift.cancelled_at.is_null()).order_by(PatrolShift.starts_at)


async def shift_form_values(principal: Principal, shift_id: int, tz: str) -> dict | None:
    row = await _managed_shift(principal, shift_id)
    if row is None:
        return None
    start, end = row["starts_at"].astimezone(zone(tz)), row["ends_at"].astimezone(zone(tz))
    return {"day": start.date().isoformat(), "start": start.strftime("%H:%M"), "end": end.strftime("%H:%M"),
            "grids": [str(g) for g in rules.ids_list(row["grids"])], "route": row["route"],
            "meeting_point": row["meeting_point"], "min_volunteers": str(row["min_volunteers"]),
            "max_volunteers": str(row["max_volunteers"]), "leader": str(row["leader"] or ""), "notes": row["notes"],
            "_shift": row, "_later": len(await _series_after(row))}


async def update_shift(principal: Principal, shift_id: int, raw: dict, settings: Settings,
                       with_series: bool = False) -> Outcome:
    """Edit a shift (and, when asked, the later shifts of its series: the same details and local
    times, each on its own day). Volunteers already signed up keep their places and see that
    the shift changed; a larger maximum moves people up from the waiting list."""
    found = await _shifts_to_change(principal, shift_id, with_series)
    if isinstance(found, Outcome):
        return found
    row, targets = found
    counts = await _counts([t["id"] for t in targets])
    most = max(c["confirmed"] for c in counts.values())
    checked = rules.check_shift(raw, await _shift_rules(principal, settings, most, editing=True))
    if checked.errors:
        return Outcome(errors=checked.errors)
    values = checked.values
    moment = now()
    async with write_transaction(PatrolShift._meta.db):
        for target in targets:
            await _lock(PatrolShift, target["id"])
            if target["id"] == row["id"]:
                starts_at, ends_at = values["starts_at"], values["ends_at"]
            else:
                starts_at, ends_at = rules.moved_to_day(values["starts_at"], values["ends_at"], target["starts_at"],
                                                        settings.time_zone)
            new = {**_shift_values(values), "starts_at": starts_at, "ends_at": ends_at}
            diff = {k: [_plain(target[k]), _plain(v)] for k, v in new.items() if target[k] != v}
            if not diff:
                continue
            await PatrolShift.update({**new, "changed_at": moment}).where(PatrolShift.id == target["id"])
            await audit.record(audit.actor_of(principal), "update", "patrol_shift", target["id"], diff)
            await _promote(target["id"], moment)
    return Outcome(ok=True, id=shift_id)


def _plain(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


async def cancel_shift(principal: Principal, shift_id: int, reason: str, with_series: bool = False) -> Outcome:
    """Cancelled shifts stay (with the reason) so that volunteers see it on their page."""
    error = rules.check_reason(reason)
    if error:
        return Outcome(errors={"reason": error})
    found = await _shifts_to_change(principal, shift_id, with_series)
    if isinstance(found, Outcome):
        return found
    _row, targets = found
    async with write_transaction(PatrolShift._meta.db):
        for target in targets:
            await PatrolShift.update({PatrolShift.cancelled_at: now(), PatrolShift.cancel_reason: reason.strip()}).where(
                (PatrolShift.id == target["id"]) & PatrolShift.cancelled_at.is_null())
            await audit.record(audit.actor_of(principal), "cancel", "patrol_shift", target["id"],
                               {"reason": [None, reason.strip()]})
    return Outcome(ok=True, id=shift_id)


# --- reading shifts ------------------------------------------------------------------------------

def _shift_select():
    return PatrolShift.select(PatrolShift.all_columns(), PatrolShift.grid.name.as_alias("grid_name"),
                              PatrolShift.leader.name.as_alias("leader_name"))


def _visible_to_volunteer(row: dict, grids: set[int]) -> bool:
    return bool(set(rules.ids_list(row["grids"])) & grids)


async def _may_see(principal: Principal, row: dict) -> bool:
    if row["grid"] in await staff_grids(principal):
        return True
    if row["leader"] == principal.id or _visible_to_volunteer(row, volunteer_grids(principal)):
        return True
    return await ShiftSignup.exists().where((ShiftSignup.shift == row["id"]) & (ShiftSignup.person == principal.id))


async def _counts(shift_ids: list[int]) -> dict[int, dict[str, int]]:
    counts: dict[int, dict[str, int]] = {i: {"confirmed": 0, "waiting": 0} for i in shift_ids}
    if shift_ids:
        for r in await ShiftSignup.select(ShiftSignup.shift, ShiftSignup.status).where(
                ShiftSignup.shift.is_in(shift_ids) & ShiftSignup.status.is_in(list(ACTIVE))):
            counts[r["shift"]][r["status"]] += 1
    return counts


def _decorate(row: dict, counts: dict[str, int], names: dict[int, str], settings: Settings) -> dict:
    tz = zone(settings.time_zone)
    row["start_local"] = row["starts_at"].astimezone(tz)
    row["end_local"] = row["ends_at"].astimezone(tz)
    row["overnight"] = row["end_local"].date() != row["start_local"].date()
    row["grid_names"] = [names.get(g, "?") for g in rules.ids_list(row["grids"])]
    row["confirmed"] = counts["confirmed"]
    row["waiting"] = counts["waiting"]
    row["full"] = counts["confirmed"] >= row["max_volunteers"]
    row["short"] = counts["confirmed"] < row["min_volunteers"]
    row["opens_at"] = rules.sign_up_opens(row["starts_at"], settings.signup_open_days)
    return row


async def upcoming(principal: Principal, settings: Settings, days: int = 31) -> list[dict]:
    """Shifts from now on: a volunteer's grids, or the officer's (cancelled ones too, marked)."""
    moment = now()
    query = _shift_select().where((PatrolShift.ends_at > moment)
                                  & (PatrolShift.starts_at < moment + timedelta(days=days))).order_by(
        PatrolShift.starts_at)
    rows = await query
    staff = await staff_grids(principal)
    mine = volunteer_grids(principal)
    rows = [r for r in rows if r["grid"] in staff or _visible_to_volunteer(r, mine) or r["leader"] == principal.id]
    if not staff:  # a volunteer does not need to read about shifts cancelled before they saw them
        rows = [r for r in rows if r["cancelled_at"] is None]
    counts = await _counts([r["id"] for r in rows])
    names = await _grid_names()
    signups = {r["shift"]: r for r in await ShiftSignup.select().where(
        (ShiftSignup.person == principal.id) & ShiftSignup.status.is_in(list(ACTIVE)))}
    for r in rows:
        _decorate(r, counts[r["id"]], names, settings)
        r["my_status"] = signups[r["id"]]["status"] if r["id"] in signups else ""
    return rows


async def shift(principal: Principal, shift_id: int, settings: Settings) -> dict | None:
    """One shift as the person may see it: details, counts, their own sign-up and what they may
    do now; the roster for staff and the shift's leader."""
    row = await _shift_select().where(PatrolShift.id == shift_id).first()
    if row is None or not await _may_see(principal, row):
        return None
    _decorate(row, (await _counts([shift_id]))[shift_id], await _grid_names(), settings)
    moment = now()
    mine = await ShiftSignup.select().where((ShiftSignup.shift == shift_id) & (ShiftSignup.person == principal.id)
                                            ).order_by(ShiftSignup.id, ascending=False).first()
    if mine and mine["status"] == "waiting":
        mine["position"] = await ShiftSignup.count().where(
            (ShiftSignup.shift == shift_id) & (ShiftSignup.status == "waiting")
            & (ShiftSignup.created_at <= mine["created_at"]))
    row["mine"] = mine
    cancelled = row["cancelled_at"] is not None
    active = mine is not None and mine["status"] in ACTIVE
    row["may_sign_up"] = principal.has("volunteer") and not active and _visible_to_volunteer(
        row, volunteer_grids(principal))
    row["signup_refusal"] = rules.signup_refusal(row["starts_at"], cancelled, moment, settings.signup_open_days)
    row["cancel_deadline"] = rules.cancel_deadline(row["starts_at"], settings.cancel_hours)
    row["may_withdraw"] = active and not cancelled and rules.withdraw_refusal(
        row["starts_at"], mine["status"] == "confirmed", moment, settings.cancel_hours) is None
    opens, closes = rules.check_in_window(row["starts_at"])
    row["check_in_opens"], row["check_in_closes"] = opens, closes
    confirmed = mine is not None and mine["status"] == "confirmed" and not cancelled
    row["may_check_in"] = confirmed and mine["check_in_at"] is None and mine["attendance"] != "no_show" and (
        moment <= closes)
    row["check_in_now"] = row["may_check_in"] and opens <= moment
    row["may_check_out"] = confirmed and mine["check_in_at"] is not None and mine["check_out_at"] is None
    row["on_patrol"] = (confirmed and mine["check_in_at"] is not None and mine["check_out_at"] is None) or (
        row["leader"] == principal.id and opens <= moment <= rules.check_out_closes(row["ends_at"]))
    row["is_staff"] = row["grid"] in await staff_grids(principal)
    row["may_mark"] = (row["is_staff"] or row["leader"] == principal.id) and moment >= opens and not cancelled
    row["roster"] = await _roster(shift_id) if row["is_staff"] or row["leader"] == principal.id else []
    row["observations"] = await _observations(principal, shift_id, row["is_staff"] or row["leader"] == principal.id)
    row["places"] = await Place.select(Place.id, Place.name).where(
        Place.grid.is_in(rules.ids_list(row["grids"]) or [-1]) & Place.active.eq(True)).order_by(Place.name)
    row["changed_since_signup"] = bool(mine and row["changed_at"] and row["changed_at"] > mine["created_at"])
    return row


async def _roster(shift_id: int) -> list[dict]:
    rows = await ShiftSignup.select(ShiftSignup.all_columns(), ShiftSignup.person.name.as_alias("name"),
                                    ShiftSignup.person.phone.as_alias("phone")).where(
        (ShiftSignup.shift == shift_id) & ShiftSignup.status.is_in(list(ACTIVE))).order_by(ShiftSignup.created_at)
    for r in rows:
        r["phone_masked"] = phones.mask(r["phone"]) if r["phone"] else ""
        r["flagged"] = r["auto_closed"] and not r["attendance"]
    return rows


async def my_shifts(principal: Principal, settings: Settings) -> dict:
    """The volunteer's own sign-ups: upcoming (with changes and cancellations) and recent."""
    rows = await ShiftSignup.select(
        ShiftSignup.all_columns(), ShiftSignup.shift.starts_at.as_alias("starts_at"),
        ShiftSignup.shift.ends_at.as_alias("ends_at"), ShiftSignup.shift.meeting_point.as_alias("meeting_point"),
        ShiftSignup.shift.route.as_alias("route"), ShiftSignup.shift.cancelled_at.as_alias("shift_cancelled_at"),
        ShiftSignup.shift.cancel_reason.as_alias("cancel_reason"), ShiftSignup.shift.changed_at.as_alias("changed_at"),
        ShiftSignup.shift.grid.name.as_alias("grid_name"), ShiftSignup.shift.leader.name.as_alias("leader_name"),
    ).where((ShiftSignup.person == principal.id) & ShiftSignup.status.is_in(list(ACTIVE))).order_by(
        ShiftSignup.shift.starts_at)
    moment = now()
    tz = zone(settings.time_zone)
    upcoming_rows, recent = [], []
    for r in rows:
        r["start_local"], r["end_local"] = r["starts_at"].astimezone(tz), r["ends_at"].astimezone(tz)
        r["changed"] = bool(r["changed_at"] and r["changed_at"] > r["created_at"])
        r["check_in_open"] = rules.check_in_window(r["starts_at"])[0] <= moment <= rules.check_in_window(
            r["starts_at"])[1]
        if r["ends_at"] + rules.CHECK_OUT_GRACE > moment:
            upcoming_rows.append(r)
        elif r["starts_at"] > moment - timedelta(days=30):
            recent.append(r)
    return {"upcoming": upcoming_rows, "recent": list(reversed(recent))}


# --- sign-up, cancel, promotion ---------------------------------------------------------------

async def sign_up(principal: Principal, shift_id: int, settings: Settings) -> Outcome:
    """A place if one is free, else the waiting list; refused before sign-up opens, once the
    shift started, twice on one shift, or when it overlaps another of the person's shifts."""
    if not principal.has("volunteer"):
        return refused(N_("Only volunteers sign up for patrol shifts."))
    row = await PatrolShift.select().where(PatrolShift.id == shift_id).first()
    if row is None or not _visible_to_volunteer(row, volunteer_grids(principal)):
        return refused(N_("This shift cannot be found."))
    async with write_transaction(ShiftSignup._meta.db):
        await _lock(Person, principal.id)  # one person's sign-ups one at a time (the overlap check)
        await _lock(PatrolShift, shift_id)  # one place-taker at a time per shift
        row = await PatrolShift.select().where(PatrolShift.id == shift_id).first()
        moment = now()
        refusal = rules.signup_refusal(row["starts_at"], row["cancelled_at"] is not None, moment,
                                       settings.signup_open_days)
        if refusal:
            return Outcome(refusal=refusal)
        if await ShiftSignup.exists().where((ShiftSignup.shift == shift_id) & (ShiftSignup.person == principal.id)
                                            & ShiftSignup.status.is_in(list(ACTIVE))):
            return refused(N_("You are already signed up for this shift."))
        clash = await ShiftSignup.select(ShiftSignup.shift.starts_at.as_alias("starts_at")).where(
            (ShiftSignup.person == principal.id) & ShiftSignup.status.is_in(list(ACTIVE))
            & (ShiftSignup.shift != shift_id) & ShiftSignup.shift.cancelled_at.is_null()
            & (ShiftSignup.shift.starts_at < row["ends_at"]) & (ShiftSignup.shift.ends_at > row["starts_at"])).first()
        if clash:
            return refused(N_("This shift overlaps your shift of %(when)s."), when=clash["starts_at"])
        status = "confirmed" if await _confirmed_count(shift_id) < row["max_volunteers"] else "waiting"
        rows = await ShiftSignup.insert(ShiftSignup(shift=shift_id, person=principal.id, status=status,
                                                    created_at=moment)).returning(ShiftSignup.id)
        await audit.record(audit.actor_of(principal), "sign_up", "patrol_shift", shift_id,
                           {"status": [None, status], "signup": [None, rows[0]["id"]]})
    return Outcome(ok=True, status=status, id=rows[0]["id"])


async def withdraw(principal: Principal, shift_id: int, settings: Settings) -> Outcome:
    """Give a place back (until `cancel_hours` before the start) or leave the waiting list;
    the first on the waiting list moves up at once."""
    async with write_transaction(ShiftSignup._meta.db):
        await _lock(PatrolShift, shift_id)
        row = await PatrolShift.select().where(PatrolShift.id == shift_id).first()
        mine = await ShiftSignup.select().where(
            (ShiftSignup.shift == shift_id) & (ShiftSignup.person == principal.id)
            & ShiftSignup.status.is_in(list(ACTIVE))).first()
        if row is None or mine is None:
            return refused(N_("You are not signed up for this shift."))
        moment = now()
        refusal = rules.withdraw_refusal(row["starts_at"], mine["status"] == "confirmed", moment, settings.cancel_hours)
        if refusal:
            return Outcome(refusal=refusal)
        await ShiftSignup.update({ShiftSignup.status: "cancelled", ShiftSignup.cancelled_at: moment}).where(
            ShiftSignup.id == mine["id"])
        await audit.record(audit.actor_of(principal), "withdraw", "patrol_shift", shift_id,
                           {"status": [mine["status"], "cancelled"], "signup": [None, mine["id"]]})
        if row["cancelled_at"] is None:
            await _promote(shift_id, moment)
    return Outcome(ok=True)


async def _promote(shift_id: int, moment: datetime) -> list[int]:
    """Inside the caller's transaction (shift row locked): fill free places from the waiting list
    in the order people joined it, while the shift has not started."""
    row = await PatrolShift.select().where(PatrolShift.id == shift_id).first()
    if row is None or row["cancelled_at"] is not None or row["starts_at"] <= moment:
        return []
    free = row["max_volunteers"] - await _confirmed_count(shift_id)
    if free <= 0:
        return []
    waiting = await ShiftSignup.select(ShiftSignup.id, ShiftSignup.person).where(
        (ShiftSignup.shift == shift_id) & (ShiftSignup.status == "waiting")).order_by(
        ShiftSignup.created_at).order_by(ShiftSignup.id).limit(free)
    for w in waiting:
        await ShiftSignup.update({ShiftSignup.status: "confirmed", ShiftSignup.promoted_at: moment}).where(
            ShiftSignup.id == w["id"])
        await audit.record(audit.SYSTEM, "promote", "patrol_shift", shift_id,
                           {"status": ["waiting", "confirmed"], "signup": [None, w["id"]], "person": [None, w["person"]]})
    return [w["id"] for w in waiting]


# --- on the spot ----------------------------------------------------------------------------------

def _location(raw: dict) -> tuple[dict, dict]:
    out = field_rules.Checked()
    field_rules._check_location(raw, out)  # the field logs' rule: lat, lon, accuracy or nothing
    return out.values, out.errors


async def _my_confirmed(principal: Principal, shift_id: int) -> dict | None:
    return await ShiftSignup.select().where(
        (ShiftSignup.shift == shift_id) & (ShiftSignup.person == principal.id)
        & (ShiftSignup.status == "confirmed")).first()


async def check_in(principal: Principal, shift_id: int, raw: dict) -> Outcome:
    """From 30 minutes before to 30 minutes after the start; the time and, if the phone gave it,
    the location are kept."""
    location, errors = _location(raw)
    async with write_transaction(ShiftSignup._meta.db):
        row = await PatrolShift.select().where(PatrolShift.id == shift_id).first()
        mine = await _my_confirmed(principal, shift_id)
        if row is None or mine is None:
            return refused(N_("You do not have a place on this shift."))
        if row["cancelled_at"] is not None:
            return refused(N_("This shift has been cancelled."))
        if mine["check_in_at"] is not None:
            return refused(N_("You checked in at %(when)s."), when=mine["check_in_at"])
        moment = now()
        refusal = rules.check_in_refusal(row["starts_at"], moment)
        if refusal:
            return Outcome(refusal=refusal)
        if errors:  # a location that could not be read is dropped, not a reason to refuse
            location = {"lat": None, "lon": None, "accuracy": None}
        await ShiftSignup.update({ShiftSignup.check_in_at: moment, ShiftSignup.check_in_lat: location["lat"],
                                  ShiftSignup.check_in_lon: location["lon"],
                                  ShiftSignup.check_in_accuracy: location["accuracy"]}).where(ShiftSignup.id == mine["id"])
        await audit.record(audit.actor_of(principal), "check_in", "patrol_shift", shift_id,
                           {"signup": [None, mine["id"]], "located": [None, location["lat"] is not None]})
    return Outcome(ok=True)


async def check_out(principal: Principal, shift_id: int) -> Outcome:
    async with write_transaction(ShiftSignup._meta.db):
        row = await PatrolShift.select().where(PatrolShift.id == shift_id).first()
        mine = await _my_confirmed(principal, shift_id)
        if row is None or mine is None or mine["check_in_at"] is None:
            return refused(N_("You have not checked in on this shift."))
        if mine["check_out_at"] is not None:
            return refused(N_("You checked out at %(when)s."), when=mine["check_out_at"])
        moment = now()
        if moment > rules.check_out_closes(row["ends_at"]):
            return refused(N_("Check-out has closed: the shift was closed at its planned end."))
        minutes = rules.served_minutes(row["starts_at"], row["ends_at"], mine["check_in_at"], moment,
                                       mine["attendance"])
        await ShiftSignup.update({ShiftSignup.check_out_at: moment, ShiftSignup.minutes: minutes}).where(
            ShiftSignup.id == mine["id"])
        await audit.record(audit.actor_of(principal), "check_out", "patrol_shift", shift_id,
                           {"signup": [None, mine["id"]], "minutes": [None, minutes]})
    return Outcome(ok=True)


async def mark(principal: Principal, shift_id: int, signup_id: int, attendance: str) -> Outcome:
    """The leader (or an officer of the grid) marks a volunteer present or a no-show, e.g. for
    someone without their phone; the minutes follow (see domain.served_minutes)."""
    if attendance not in rules.ATTENDANCE:
        return refused(N_("Choose present or no-show."))
    row = await PatrolShift.select().where(PatrolShift.id == shift_id).first()
    if row is None or not (row["leader"] == principal.id or row["grid"] in await staff_grids(principal)):
        return refused(N_("This shift cannot be found."))
    if row["cancelled_at"] is not None:
        return refused(N_("This shift has been cancelled."))
    if now() < rules.check_in_window(row["starts_at"])[0]:
        return refused(N_("Attendance can be marked from 30 minutes before the start."))
    async with write_transaction(ShiftSignup._meta.db):
        signup = await ShiftSignup.select().where((ShiftSignup.id == signup_id) & (ShiftSignup.shift == shift_id)
                                                  & (ShiftSignup.status == "confirmed")).first()
        if signup is None:
            return refused(N_("This volunteer does not have a place on this shift."))
        minutes = rules.served_minutes(row["starts_at"], row["ends_at"], signup["check_in_at"],
                                       signup["check_out_at"], attendance)
        await ShiftSignup.update({ShiftSignup.attendance: attendance, ShiftSignup.marked_by: principal.id,
                                  ShiftSignup.minutes: minutes}).where(ShiftSignup.id == signup_id)
        await audit.record(audit.actor_of(principal), "mark_attendance", "patrol_shift", shift_id,
                           {"signup": [None, signup_id], "attendance": [signup["attendance"] or None, attendance],
                            "minutes": [signup["minutes"], minutes]})
    return Outcome(ok=True)


async def close_overdue() -> int:
    """Sign-ups checked in but never checked out, past the check-out grace: closed at the
    planned end and flagged for the leader. A job (services/jobs.py): several processes may
    run it at once, and each sign-up is closed (and audited) once, by the update that finds
    it still open."""
    cutoff = now() - rules.CHECK_OUT_GRACE
    open_rows = await ShiftSignup.select(
        ShiftSignup.id, ShiftSignup.shift, ShiftSignup.check_in_at, ShiftSignup.attendance,
        ShiftSignup.shift.starts_at.as_alias("starts_at"), ShiftSignup.shift.ends_at.as_alias("ends_at")).where(
        ShiftSignup.check_in_at.is_not_null() & ShiftSignup.check_out_at.is_null()
        & (ShiftSignup.status == "confirmed") & (ShiftSignup.shift.ends_at < cutoff))
    if not open_rows:
        return 0
    async with write_transaction(ShiftSignup._meta.db):
        for r in open_rows:
            end = max(r["ends_at"], r["check_in_at"])
            minutes = rules.served_minutes(r["starts_at"], r["ends_at"], r["check_in_at"], end, r["attendance"])
            done = await ShiftSignup.update({ShiftSignup.check_out_at: end, ShiftSignup.auto_closed: True,
                                             ShiftSignup.minutes: minutes}).where(
                (ShiftSignup.id == r["id"]) & ShiftSignup.check_out_at.is_null()).returning(ShiftSignup.id)
            if done:
                await audit.record(audit.SYSTEM, "auto_close", "patrol_shift", r["shift"],
                                   {"signup": [None, r["id"]], "minutes": [None, minutes]})
    return len(open_rows)


# --- observations -----------------------------------------------------------------------------

def notify_urgent_observation(observation_id: int, grid_id: int) -> None:
    """The seam for push notifications (a later issue): called after an urgent observation is
    saved. Today the officers see it on My day, which reads it from the database."""
    log.info("urgent observation %s in grid %s", observation_id, grid_id)


async def _on_patrol(principal: Principal, row: dict) -> bool:
    """A volunteer checked in and not yet out, or the leader from check-in until check-out closes."""
    if row["cancelled_at"] is not None:
        return False
    mine = await _my_confirmed(principal, row["id"])
    if mine is not None and mine["check_in_at"] is not None and mine["check_out_at"] is None:
        return True
    return row["leader"] == principal.id and \
        rules.check_in_window(row["starts_at"])[0] <= now() <= rules.check_out_closes(row["ends_at"])


async def _check_observation(raw: dict, row: dict) -> tuple[str, int | None, int, dict, dict[str, str]]:
    """The note, the place (one of the shift's grids) and its grid, the location, and the errors."""
    errors: dict[str, str] = {}
    note = str(raw.get("note", "")).strip()
    if not note:
        errors["note"] = N_("Required")
    elif len(note) > rules.MAX_OBSERVATION:
        errors["note"] = N_("Too long")
    place_text = str(raw.get("place", "")).strip()
    place, grid = None, row["grid"]
    if place_text:
        found = await Place.select(Place.id, Place.grid).where(Place.id == int(place_text)).first() \
            if place_text.isdigit() else None
        if found is None or found["grid"] not in rules.ids_list(row["grids"]):
            errors["place"] = N_("Choose from the list")
        else:
            place, grid = found["id"], found["grid"]
    location, location_errors = _location(raw)
    errors.update(location_errors)
    return note, place, grid, location, errors


async def observe(principal: Principal, shift_id: int, raw: dict, photo: Processed | PhotoError | None,
                  upload_dir) -> Outcome:
    """A note (with an optional photo, place and location) during the patrol: by a volunteer
    checked in (until the check-out closes) or by the shift's leader."""
    client_uuid = field_rules.valid_uuid(str(raw.get("client_uuid", "")))
    if client_uuid is None:
        return Outcome(errors={"form": N_("This form is out of date: reload the page and send it again")})
    existing = await Observation.select(Observation.id, Observation.person).where(
        Observation.client_uuid == client_uuid).first()
    if existing is not None:
        return Outcome(ok=existing["person"] == principal.id, id=existing["id"])
    row = await PatrolShift.select().where(PatrolShift.id == shift_id).first()
    if row is None:
        return refused(N_("This shift cannot be found."))
    if not await _on_patrol(principal, row):
        return refused(N_("Observations are sent during the patrol, after you check in."))
    note, place, grid, location, errors = await _check_observation(raw, row)
    if isinstance(photo, PhotoError):
        errors["photo"] = str(photo)
    if errors:
        return Outcome(errors=errors)
    urgent = str(raw.get("urgent", "")) in ("1", "on", "yes", "true")
    if photo is not None:
        photos.store(upload_dir, photo)
    try:
        async with write_transaction(Observation._meta.db):
            photo_id = None
            if photo is not None:
                rows = await Photo.insert(Photo(sha256=photo.sha256, width=photo.width, height=photo.height,
                                                size=len(photo.data))).returning(Photo.id)
                photo_id = rows[0]["id"]
            rows = await Observation.insert(Observation(
                client_uuid=client_uuid, shift=shift_id, person=principal.id, grid=grid, place=place, note=note,
                urgent=urgent, photo=photo_id, **location)).returning(Observation.id)
            observation_id = rows[0]["id"]
            await audit.record(audit.actor_of(principal), "create", "observation", observation_id,
                               {"shift": [None, shift_id], "urgent": [None, urgent]})
    except Exception:  # two sends of one UUID at the same moment: the unique index let one through
        again = await Observation.select(Observation.id).where(Observation.client_uuid == client_uuid).first()
        if again is None:
            raise
        return Outcome(ok=True, id=again["id"])
    if urgent:
        notify_urgent_observation(observation_id, grid)
    return Outcome(ok=True, id=observation_id)


def _observation_select():
    return Observation.select(Observation.all_columns(), Observation.person.name.as_alias("person_name"),
                              Observation.place.name.as_alias("place_name"), Observation.grid.name.as_alias("grid_name"),
                              Observation.shift.meeting_point.as_alias("meeting_point"))


async def _observations(principal: Principal, shift_id: int, all_of_them: bool) -> list[dict]:
    query = _observation_select().where(Observation.shift == shift_id).order_by(Observation.created_at, ascending=False)
    if not all_of_them:
        query = query.where(Observation.person == principal.id)
    return await query


async def urgent_observations(principal: Principal) -> list[dict]:
    """Urgent observations not yet acknowledged, in the officer's grids: for My day."""
    grids = await staff_grids(principal)
    if not grids:
        return []
    return await _observation_select().where(
        Observation.urgent.eq(True) & Observation.acknowledged_at.is_null()
        & Observation.grid.is_in(list(grids))).order_by(Observation.created_at, ascending=False).limit(20)


async def observation(principal: Principal, observation_id: int) -> dict | None:
    row = await _observation_select().where(Observation.id == observation_id).first()
    if row is None:
        return None
    shift_row = await PatrolShift.select(PatrolShift.leader).where(PatrolShift.id == row["shift"]).first()
    if row["person"] == principal.id or row["grid"] in await staff_grids(principal) or (
            shift_row and shift_row["leader"] == principal.id):
        row["may_acknowledge"] = row["urgent"] and row["acknowledged_at"] is None and is_staff(principal) and \
            row["grid"] in await staff_grids(principal)
        return row
    return None


async def acknowledge(principal: Principal, observation_id: int) -> Outcome:
    row = await observation(principal, observation_id)
    if row is None or not row["may_acknowledge"]:
        return refused(N_("This observation cannot be found."))
    async with write_transaction(Observation._meta.db):
        await Observation.update({Observation.acknowledged_at: now(), Observation.acknowledged_by: principal.id}).where(
            (Observation.id == observation_id) & Observation.acknowledged_at.is_null())
        await audit.record(audit.actor_of(principal), "acknowledge", "observation", observation_id)
    return Outcome(ok=True, id=observation_id)


async def photo_file(principal: Principal, photo_id: int, upload_dir):
    row = await Observation.select(Observation.id).where(Observation.photo == photo_id).first()
    if row is None or await observation(principal, row["id"]) is None:
        return None
    photo = await Photo.select(Photo.sha256).where(Photo.id == photo_id).first()
    path = photos.path_for(upload_dir, photo["sha256"])
    return path if path.exists() else None


# --- hours ledger, certificate, totals, export ---------------------------------------------------

async def may_see_person(principal: Principal, person_id: int) -> bool:
    """Volunteers see their own record only; officers the volunteers of their grids."""
    if person_id == principal.id:
        return True
    grids = await staff_grids(principal)
    return bool(grids) and await PersonRole.exists().where(
        (PersonRole.person == person_id) & (PersonRole.role == "volunteer") & PersonRole.grid.is_in(list(grids)))


def _served_or_started():
    """Sign-ups the ledger counts: shifts that have started, or where the volunteer already
    checked in (check-in opens 30 minutes before the start)."""
    return (ShiftSignup.shift.starts_at <= now()) | ShiftSignup.check_in_at.is_not_null()


async def ledger(principal: Principal, person_id: int, since: date | None, until: date | None,
                 tz: str) -> dict | None:
    """One volunteer's shifts that have started, with the minutes each counts for."""
    if not await may_see_person(principal, person_id):
        return None
    start, end = rules.local_day_bounds(since, until, tz)
    query = ShiftSignup.select(
        ShiftSignup.all_columns(), ShiftSignup.shift.starts_at.as_alias("starts_at"),
        ShiftSignup.shift.ends_at.as_alias("ends_at"), ShiftSignup.shift.grid.name.as_alias("grid_name"),
        ShiftSignup.shift.meeting_point.as_alias("meeting_point"),
        ShiftSignup.shift.cancelled_at.as_alias("shift_cancelled_at")).where(
        (ShiftSignup.person == person_id) & (ShiftSignup.status == "confirmed")
        & ShiftSignup.shift.cancelled_at.is_null() & _served_or_started()).order_by(ShiftSignup.shift.starts_at)
    if start:
        query = query.where(ShiftSignup.shift.starts_at >= start)
    if end:
        query = query.where(ShiftSignup.shift.starts_at < end)
    rows = await query
    zone_ = zone(tz)
    for r in rows:
        r["start_local"], r["end_local"] = r["starts_at"].astimezone(zone_), r["ends_at"].astimezone(zone_)
        r["hm"] = rules.hours_and_minutes(r["minutes"])
        r["no_show"] = r["attendance"] == "no_show"
    total = sum(r["minutes"] for r in rows)
    person = await Person.select(Person.id, Person.name).where(Person.id == person_id).first()
    return {"person": person, "rows": rows, "minutes": total, "hm": rules.hours_and_minutes(total),
            "served": sum(1 for r in rows if r["minutes"] > 0), "no_shows": sum(1 for r in rows if r["no_show"]),
            "since": since, "until": until, "station": await station_of_volunteer(person_id)}


async def station_of_volunteer(person_id: int) -> str:
    row = await PersonRole.select(PersonRole.grid.office.station.name.as_alias("station")).where(
        (PersonRole.person == person_id) & (PersonRole.role == "volunteer")).order_by(PersonRole.id).first()
    return row["station"] if row and row["station"] else ""


async def _scoped_signups(principal: Principal, since: date | None, until: date | None, tz: str) -> list[dict]:
    grids = await staff_grids(principal)
    start, end = rules.local_day_bounds(since, until, tz)
    query = ShiftSignup.select(
        ShiftSignup.all_columns(), ShiftSignup.person.name.as_alias("name"), ShiftSignup.person.phone.as_alias("phone"),
        ShiftSignup.shift.starts_at.as_alias("starts_at"), ShiftSignup.shift.ends_at.as_alias("ends_at"),
        ShiftSignup.shift.grid.as_alias("grid"), ShiftSignup.shift.grid.name.as_alias("grid_name")).where(
        (ShiftSignup.status == "confirmed") & ShiftSignup.shift.cancelled_at.is_null()
        & ShiftSignup.shift.grid.is_in(list(grids) or [-1]) & _served_or_started()).order_by(
        ShiftSignup.shift.starts_at)
    if start:
        query = query.where(ShiftSignup.shift.starts_at >= start)
    if end:
        query = query.where(ShiftSignup.shift.starts_at < end)
    return await query


async def totals(principal: Principal, since: date | None, until: date | None, tz: str) -> list[dict]:
    """Per grid and month (local time): shifts, volunteers, hours served, no-shows."""
    groups: dict[tuple[str, str], dict] = {}
    for r in await _scoped_signups(principal, since, until, tz):
        key = (rules.month_of(r["starts_at"], tz), r["grid_name"])
        g = groups.setdefault(key, {"month": key[0], "grid_name": key[1], "shifts": set(), "people": set(),
                                    "minutes": 0, "no_shows": 0})
        g["shifts"].add(r["shift"])
        g["people"].add(r["person"])
        g["minutes"] += r["minutes"]
        g["no_shows"] += r["attendance"] == "no_show"
    out = []
    for key in sorted(groups, key=lambda k: (k[0], k[1]), reverse=False):
        g = groups[key]
        out.append({**g, "shifts": len(g["shifts"]), "people": len(g["people"]), "hm": rules.hours_and_minutes(g["minutes"])})
    return sorted(out, key=lambda g: g["month"], reverse=True)


EXPORT_COLUMNS = ["month", "grid", "shift_start", "shift_end", "volunteer", "phone", "check_in", "check_out",
                  "attendance", "auto_closed", "minutes", "hours"]


async def export_csv(principal: Principal, since: date | None, until: date | None, tz: str) -> str:
    """One line per volunteer and shift (the totals page adds these up); phones masked; UTF-8
    with a BOM for Excel. Audited with its row count."""
    rows = await _scoped_signups(principal, since, until, tz)
    zone_ = zone(tz)

    def when(value: datetime | None) -> str:
        return value.astimezone(zone_).isoformat(timespec="minutes") if value else ""

    text = csv_export.render(EXPORT_COLUMNS, ([
        rules.month_of(r["starts_at"], tz), r["grid_name"], when(r["starts_at"]), when(r["ends_at"]), r["name"],
        phones.mask(r["phone"]) if r["phone"] else "", when(r["check_in_at"]), when(r["check_out_at"]),
        r["attendance"], "yes" if r["auto_closed"] else "", r["minutes"], rules.decimal_hours(r["minutes"]),
    ] for r in rows))
    async with write_transaction(ShiftSignup._meta.db):
        await audit.record(audit.actor_of(principal), "export", "volunteer_hours", "",
                           {"rows": [None, len(rows)], "since": [None, str(since or "")],
                            "until": [None, str(until or "")]})
    return text


async def volunteers_list(principal: Principal) -> list[dict]:
    """The volunteers of the officer's grids with their hours so far; phones masked."""
    grids = await staff_grids(principal)
    roles = await PersonRole.select(PersonRole.person, PersonRole.grid.name.as_alias("grid_name")).where(
        (PersonRole.role == "volunteer") & PersonRole.grid.is_in(list(grids) or [-1]))
    by_person: dict[int, list[str]] = {}
    for r in roles:
        by_person.setdefault(r["person"], []).append(r["grid_name"])
    if not by_person:
        return []
    people_rows = await Person.select(Person.id, Person.name, Person.phone, Person.active).where(
        Person.id.is_in(list(by_person))).order_by(Person.name)
    seniors = {r["person"] for r in await VolunteerProfile.select(VolunteerProfile.person).where(
        VolunteerProfile.senior.eq(True))}
    minutes: dict[int, int] = {}
    no_shows: dict[int, int] = {}
    for s in await ShiftSignup.select(ShiftSignup.person, ShiftSignup.minutes, ShiftSignup.attendance).where(
            ShiftSignup.person.is_in(list(by_person)) & (ShiftSignup.status == "confirmed")
            & ShiftSignup.shift.cancelled_at.is_null()):
        minutes[s["person"]] = minutes.get(s["person"], 0) + s["minutes"]
        no_shows[s["person"]] = no_shows.get(s["person"], 0) + (s["attendance"] == "no_show")
    for p in people_rows:
        p["grid_names"] = sorted(by_person[p["id"]])
        p["phone_masked"] = phones.mask(p["phone"]) if p["phone"] else ""
        p["senior"] = p["id"] in seniors
        p["hm"] = rules.hours_and_minutes(minutes.get(p["id"], 0))
        p["no_shows"] = no_shows.get(p["id"], 0)
    return people_rows


async def set_senior(principal: Principal, person_id: int, senior: bool) -> Outcome:
    if person_id == principal.id or not await may_see_person(principal, person_id):
        return refused(N_("This volunteer cannot be found."))
    async with write_transaction(VolunteerProfile._meta.db):
        row = await VolunteerProfile.select().where(VolunteerProfile.person == person_id).first()
        if row is None:
            await VolunteerProfile.insert(VolunteerProfile(person=person_id, senior=senior))
        else:
            await VolunteerProfile.update({VolunteerProfile.senior: senior}).where(VolunteerProfile.id == row["id"])
        await audit.record(audit.actor_of(principal), "update", "volunteer_profile", person_id,
                           {"senior": [row["senior"] if row else None, senior]})
    return Outcome(ok=True)


async def staff_overview(principal: Principal, settings: Settings) -> dict:
    """The officer's volunteers page: what waits for them, and the shifts ahead."""
    shifts = await upcoming(principal, settings, days=14)
    grids = await staff_grids(principal)
    flagged = await ShiftSignup.select(
        ShiftSignup.id, ShiftSignup.shift, ShiftSignup.person.name.as_alias("name"),
        ShiftSignup.shift.starts_at.as_alias("starts_at")).where(
        ShiftSignup.auto_closed.eq(True) & (ShiftSignup.attendance == "")
        & ShiftSignup.shift.grid.is_in(list(grids) or [-1])).order_by(ShiftSignup.shift.starts_at, ascending=False).limit(20)
    return {"shifts": shifts, "pending": await pending_count(principal),
            "urgent": await urgent_observations(principal), "flagged": flagged}
