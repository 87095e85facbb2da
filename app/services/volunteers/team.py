"""The officer's team: the volunteers of their grids with hours and no-shows, the senior
flag, and the overview on the officer's volunteers page."""

from __future__ import annotations

from app.db import write_transaction
from app.domain import phone as phones
from app.domain import volunteers as rules
from app.domain.access import Principal
from app.i18n import N_
from app.services import audit
from app.services.volunteers.applications import pending_count
from app.services.volunteers.common import Outcome, refused, staff_grids
from app.services.volunteers.hours import may_see_person
from app.services.volunteers.observations import urgent_observations
from app.services.volunteers.shifts import upcoming
from app.settings import Settings
from app.tables import (
    Person,
    PersonRole,
    ShiftSignup,
    VolunteerProfile,
)


async def volunteers_list(principal: Principal) -> list[dict]:
    """The volunteers of the officer's grids with their hours so far; phones masked."""
    grids = await staff_grids(principal)
    roles = await PersonRole.select(PersonRole.person, PersonRole.grid.name.as_alias("grid_name")).where(
        (PersonRole.role == "volunteer") & PersonRole.grid.is_in(list(grids) or [-1])
    )
    by_person: dict[int, list[str]] = {}
    for r in roles:
        by_person.setdefault(r["person"], []).append(r["grid_name"])
    if not by_person:
        return []
    people_rows = (
        await Person.select(Person.id, Person.name, Person.phone, Person.active)
        .where(Person.id.is_in(list(by_person)))
        .order_by(Person.name)
    )
    seniors = {
        r["person"]
        for r in await VolunteerProfile.select(VolunteerProfile.person).where(VolunteerProfile.senior.eq(True))
    }
    minutes: dict[int, int] = {}
    no_shows: dict[int, int] = {}
    for s in await ShiftSignup.select(ShiftSignup.person, ShiftSignup.minutes, ShiftSignup.attendance).where(
        ShiftSignup.person.is_in(list(by_person))
        & (ShiftSignup.status == "confirmed")
        & ShiftSignup.shift.cancelled_at.is_null()
    ):
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
        await audit.record(
            audit.actor_of(principal),
            "update",
            "volunteer_profile",
            person_id,
            {"senior": [row["senior"] if row else None, senior]},
        )
    return Outcome(ok=True)


async def staff_overview(principal: Principal, settings: Settings) -> dict:
    """The officer's volunteers page: what waits for them, and the shifts ahead."""
    shifts = await upcoming(principal, settings, days=14)
    grids = await staff_grids(principal)
    flagged = (
        await ShiftSignup.select(
            ShiftSignup.id,
            ShiftSignup.shift,
            ShiftSignup.person.name.as_alias("name"),
            ShiftSignup.shift.starts_at.as_alias("starts_at"),
        )
        .where(
            ShiftSignup.auto_closed.eq(True)
            & (ShiftSignup.attendance == "")
            & ShiftSignup.shift.grid.is_in(list(grids) or [-1])
        )
        .order_by(ShiftSignup.shift.starts_at, ascending=False)
        .limit(20)
    )
    return {
        "shifts": shifts,
        "pending": await pending_count(principal),
        "urgent": await urgent_observations(principal),
        "flagged": flagged,
    }
