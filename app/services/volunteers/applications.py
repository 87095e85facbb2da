"""Volunteer applications: the public registration, the officers' approval queue, approving
(a new person with an invitation, or an existing person linked) and declining."""

from __future__ import annotations

from datetime import timedelta

from app.browser import current_browser
from app.db import write_transaction
from app.domain import phone as phones
from app.domain import reports as report_rules
from app.domain import volunteers as rules
from app.domain.access import Principal
from app.i18n import N_
from app.request_context import current_request
from app.services import audit, auth, ratelimit
from app.services.volunteers import common
from app.services.volunteers.common import PUBLIC, Outcome, _all_grids, _grid_names, log, refused, staff_grids
from app.settings import Settings
from app.tables import (
    Grid,
    Person,
    PersonRole,
    VolunteerApplication,
    VolunteerProfile,
)

# --- registration (public) -------------------------------------------------------------------


async def registration_choices() -> dict:
    """Active grids by office, for the public form."""
    grids = (
        await Grid.select(Grid.id, Grid.name, Grid.office, Grid.office.name.as_alias("office_name"))
        .where(Grid.active.eq(True) & Grid.office.active.eq(True))
        .order_by(Grid.office.name)
        .order_by(Grid.name)
    )
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
    client_uuid = report_rules.valid_uuid(str(raw.get("client_uuid", "")))
    if client_uuid is None:
        return Outcome(errors={"form": N_("This form is out of date: reload the page and send it again")})
    first = await _by_uuid(client_uuid)
    if first is not None:  # a replay from the phone's outbox: the first one's answer, nothing new
        return first
    choices = await registration_choices()
    grids = {g["id"] for gs in choices["offices"].values() for g in gs}
    offices = {o for o, _n in choices["offices"]}
    checked = rules.check_application(raw, grids, offices)
    if checked.errors:
        return Outcome(errors=checked.errors)
    hour, browser = timedelta(hours=1), current_browser.get()
    if browser and not await ratelimit.allow(
        f"volunteer_register:browser:{browser}", settings.volunteer_register_per_hour, hour
    ):
        return refused(N_("Too many registrations from this browser. Please try again in an hour."))
    ip = current_request.get().ip or "unknown"
    # Held by its address's limit, an application does not count against everyone's day.
    held = not (
        await ratelimit.allow(f"volunteer_register:ip:{ip}", settings.volunteer_register_address_per_hour, hour)
        and await ratelimit.allow("volunteer_register:all", settings.volunteer_register_per_day, timedelta(days=1))
    )
    values = checked.values
    values["phone"] = phones.normalise(values["phone"])
    try:
        async with write_transaction(VolunteerApplication._meta.db):
            if await VolunteerApplication.exists().where(
                (VolunteerApplication.phone == values["phone"]) & (VolunteerApplication.status == "pending")
            ):
                return Outcome(ok=True)  # one application per phone waits at a time
            rows = await VolunteerApplication.insert(
                VolunteerApplication(**values, client_uuid=client_uuid, consent_at=common.now(), held=held)
            ).returning(VolunteerApplication.id)
            await audit.record(
                PUBLIC,
                "create",
                "volunteer_application",
                rows[0]["id"],
                {"grids": [None, values["grids"]], "office": [None, values["office"]], "held": [None, held]},
            )
    except Exception:  # the drivers raise different unique-violation errors
        first = await _by_uuid(client_uuid)  # the same form sent twice at the same moment
        if first is None:
            raise
        return first
    return Outcome(ok=True, id=rows[0]["id"])


async def _by_uuid(client_uuid: str) -> Outcome | None:
    """The answer the first sending of this form got (whatever an officer decided since)."""
    row = (
        await VolunteerApplication.select(VolunteerApplication.id)
        .where(VolunteerApplication.client_uuid == client_uuid)
        .first()
    )
    return Outcome(ok=True, id=row["id"]) if row else None


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
    rows = (
        await VolunteerApplication.select(
            VolunteerApplication.all_columns(), VolunteerApplication.office.name.as_alias("office_name")
        )
        .where(VolunteerApplication.status == status)
        .order_by(VolunteerApplication.created_at, ascending=status == "pending")
        .limit(500)
    )
    names = await _grid_names()
    out = []
    for row in rows:
        if _application_in(row, grids, offices):
            _describe_application(row, names)
            out.append(row)
    return out


async def pending_count(principal: Principal) -> int:
    return len(await applications(principal, "pending"))


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
            await audit.record(
                audit.actor_of(principal),
                "view_personal_data",
                "volunteer_application",
                app_id,
                {"field": [None, "phone"]},
            )
        row["phone_shown"] = True
    row["grid_choices"] = await _grid_choices(row, grids)
    # The phone may be someone's already: the officer is told, and no approval reaches that account.
    row["existing"] = await people_with_phone(row["phone"])
    return row


async def _application_row(app_id: int) -> dict | None:
    return (
        await VolunteerApplication.select(
            VolunteerApplication.all_columns(),
            VolunteerApplication.office.name.as_alias("office_name"),
            VolunteerApplication.decided_by.name.as_alias("decided_by_name"),
            VolunteerApplication.person.name.as_alias("person_name"),
        )
        .where(VolunteerApplication.id == app_id)
        .first()
    )


async def _grid_choices(row: dict, grids: set[int]) -> list[tuple[int, str]]:
    """The grids one may approve for: the applicant's choices in `grids`, or their office's."""
    office_grids = await Grid.select(Grid.id, Grid.name).where(
        Grid.active.eq(True)
        & (Grid.office == row["office"] if row["office"] else Grid.id.is_in(row["grid_ids"] or [-1]))
    )
    choices = {g["id"]: g["name"] for g in office_grids if g["id"] in grids}
    choices.update({g: n for g, n in zip(row["grid_ids"], row["grid_names"]) if g in grids})
    return sorted(choices.items(), key=lambda c: c[1])


async def people_with_phone(phone: str) -> list[dict]:
    """Everyone whose stored phone is this number (however it was typed): id and name."""
    digits = phones.normalise(phone)
    if len(digits) < 4:
        return []
    rows = (
        await Person.select(Person.id, Person.name, Person.phone)
        .where(Person.phone.like(f"%{digits[-4:]}"))
        .order_by(Person.id)
    )
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
    values = {
        VolunteerApplication.status: "approved",
        VolunteerApplication.decided_by: principal.id,
        VolunteerApplication.decided_at: common.now(),
    }
    if person_id is not None:
        values[VolunteerApplication.person] = person_id
    return bool(
        await VolunteerApplication.update(values)
        .where((VolunteerApplication.id == app_id) & (VolunteerApplication.status == "pending"))
        .returning(VolunteerApplication.id)
    )


async def _make_volunteer(person_id: int, row: dict, grids: set[int]) -> list[int]:
    """The volunteer role for the grids the person does not hold yet, and a profile if none; the grids added."""
    held = {
        r["grid"]
        for r in await PersonRole.select(PersonRole.grid).where(
            (PersonRole.person == person_id) & (PersonRole.role == "volunteer")
        )
    }
    added = sorted(grids - held)
    for grid in added:
        await PersonRole.insert(PersonRole(person=person_id, role="volunteer", grid=grid))
    if not await VolunteerProfile.exists().where(VolunteerProfile.person == person_id):
        await VolunteerProfile.insert(
            VolunteerProfile(
                person=person_id, availability=row["availability"], skills=row["skills"], skills_note=row["skills_note"]
            )
        )
    return added


EXISTING_PHONE = N_(
    "This number belongs to an existing person: %(names)s. Approving makes the applicant a new, "
    "separate person; it gives no access to that account. To give the existing person the "
    "volunteer role instead, ask an administrator."
)


async def approve(
    principal: Principal, app_id: int, grid_ids: list[int], settings: Settings, separate: bool = False
) -> Outcome:
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
            VolunteerApplication.id == app_id
        )
        await audit.record(actor, "create", "person", person_id, {"name": [None, row["name"]], "phone": [None, "***"]})
        # Invited while the person holds nothing yet: the invitation policy allows it for a new person only.
        link = await auth.issue_invitation(person_id, settings, actor)
        await _make_volunteer(person_id, row, chosen)
        await audit.record(
            actor,
            "approve",
            "volunteer_application",
            app_id,
            {
                "person": [None, person_id],
                "grids": [None, sorted(chosen)],
                **({"separate_from": [None, [p["id"] for p in existing]]} if existing else {}),
            },
        )
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
        await audit.record(
            actor,
            "link",
            "volunteer_application",
            app_id,
            {"person": [None, person_id], "grids": [None, sorted(chosen)]},
        )
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
        VolunteerApplication.all_columns(), VolunteerApplication.office.name.as_alias("office_name")
    ).where((VolunteerApplication.status == "pending") & VolunteerApplication.phone.like(f"%{digits[-4:]}"))
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
        taken = (
            await VolunteerApplication.update(
                {
                    VolunteerApplication.status: "declined",
                    VolunteerApplication.decided_by: principal.id,
                    VolunteerApplication.decided_at: common.now(),
                    VolunteerApplication.decline_reason: reason.strip(),
                }
            )
            .where((VolunteerApplication.id == app_id) & (VolunteerApplication.status == "pending"))
            .returning(VolunteerApplication.id)
        )
        if not taken:
            return refused(N_("This application has already been decided."))
        await audit.record(
            audit.actor_of(principal), "decline", "volunteer_application", app_id, {"reason": [None, reason.strip()]}
        )
    return Outcome(ok=True, id=app_id)
