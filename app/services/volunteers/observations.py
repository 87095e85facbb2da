"""Observations sent from a patrol (an optional photo; urgent ones reach the grid's officers),
read and acknowledged by officers."""

from __future__ import annotations

from app.db import Prepared, write_transaction
from app.domain import fieldwork as field_rules
from app.domain import volunteers as rules
from app.domain.access import Principal
from app.domain.photos import PhotoError, Processed
from app.i18n import N_, too_long
from app.services import alerts, audit, notifications, photos
from app.services.notifications import New
from app.services.volunteers import common
from app.services.volunteers.common import Outcome, is_staff, log, refused, staff_grids
from app.services.volunteers.signups import _location, _my_confirmed
from app.tables import (
    Observation,
    PatrolShift,
    Photo,
    Place,
)

# --- observations -----------------------------------------------------------------------------


async def notify_urgent_observation(observation_id: int, grid_id: int, note: str) -> None:
    """Inside the saving transaction: the grid's responsible officer hears of it at once (a
    live banner, the notification list); My day lists it too."""
    officer = (await alerts.chain_for(grid_id)).at(0)
    await notifications.add(
        [
            New(person=p, kind="observation", text=note, url=f"/volunteers/observations/{observation_id}", urgent=True)
            for p in officer
        ]
    )
    log.info("urgent observation %s in grid %s", observation_id, grid_id)


async def _on_patrol(principal: Principal, row: dict) -> bool:
    """A volunteer checked in and not yet out, or the leader from check-in until check-out closes."""
    if row["cancelled_at"] is not None:
        return False
    mine = await _my_confirmed(principal, row["id"])
    if mine is not None and mine["check_in_at"] is not None and mine["check_out_at"] is None:
        return True
    return row["leader"] == principal.id and rules.check_in_window(row["starts_at"])[
        0
    ] <= common.now() <= rules.check_out_closes(row["ends_at"])


async def _check_observation(raw: dict, row: dict) -> tuple[str, int | None, int, dict, dict[str, str]]:
    """The note, the place (one of the shift's grids) and its grid, the location, and the errors."""
    errors: dict[str, str] = {}
    note = str(raw.get("note", "")).strip()
    if not note:
        errors["note"] = N_("Required")
    elif len(note) > rules.MAX_OBSERVATION:
        errors["note"] = too_long(rules.MAX_OBSERVATION)
    place_text = str(raw.get("place", "")).strip()
    place, grid = None, row["grid"]
    if place_text:
        found = (
            await Place.select(Place.id, Place.grid).where(Place.id == int(place_text)).first()
            if place_text.isdecimal()
            else None
        )
        if found is None or found["grid"] not in rules.ids_list(row["grids"]):
            errors["place"] = N_("Choose from the list")
        else:
            place, grid = found["id"], found["grid"]
    location, location_errors = _location(raw)
    errors.update(location_errors)
    return note, place, grid, location, errors


async def observe(
    principal: Principal, shift_id: int, raw: dict, photo: Processed | PhotoError | None, upload_dir
) -> Outcome:
    """A note (with an optional photo, place and location) during the patrol: by a volunteer
    checked in (until the check-out closes) or by the shift's leader."""
    client_uuid = field_rules.valid_uuid(str(raw.get("client_uuid", "")))
    if client_uuid is None:
        return Outcome(errors={"form": N_("This form is out of date: reload the page and send it again")})
    existing = (
        await Observation.select(Observation.id, Observation.person)
        .where(Observation.client_uuid == client_uuid)
        .first()
    )
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
                rows = await Photo.insert(
                    Photo(sha256=photo.sha256, width=photo.width, height=photo.height, size=len(photo.data))
                ).returning(Photo.id)
                photo_id = rows[0]["id"]
            rows = await Observation.insert(
                Observation(
                    client_uuid=client_uuid,
                    shift=shift_id,
                    person=principal.id,
                    grid=grid,
                    place=place,
                    note=note,
                    urgent=urgent,
                    photo=photo_id,
                    **location,
                )
            ).returning(Observation.id)
            observation_id = rows[0]["id"]
            await audit.record(
                audit.actor_of(principal),
                "create",
                "observation",
                observation_id,
                {"shift": [None, shift_id], "urgent": [None, urgent]},
            )
            if urgent:
                await notify_urgent_observation(observation_id, grid, note)
    except Exception:  # two sends of one UUID at the same moment: the unique index let one through
        again = await Observation.select(Observation.id).where(Observation.client_uuid == client_uuid).first()
        if again is None:
            raise
        return Outcome(ok=True, id=again["id"])
    return Outcome(ok=True, id=observation_id)


def _observation_select():
    return Observation.select(
        Observation.all_columns(),
        Observation.person.name.as_alias("person_name"),
        Observation.place.name.as_alias("place_name"),
        Observation.grid.name.as_alias("grid_name"),
        Observation.shift.meeting_point.as_alias("meeting_point"),
    )


async def _observations(principal: Principal, shift_id: int, all_of_them: bool) -> list[dict]:
    query = _observation_select().where(Observation.shift == shift_id).order_by(Observation.created_at, ascending=False)
    if not all_of_them:
        query = query.where(Observation.person == principal.id)
    return await query


# Built once: a select with four joins, for every My day.
_URGENT = Prepared(
    lambda p: (
        _observation_select()
        .where(Observation.urgent.eq(True) & Observation.acknowledged_at.is_null() & Observation.grid.is_in(p.grids))
        .order_by(Observation.created_at, ascending=False)
        .limit(20)
    )
)


async def urgent_observations(principal: Principal) -> list[dict]:
    """Urgent observations not yet acknowledged, in the officer's grids: for My day."""
    grids = await staff_grids(principal)
    if not grids:
        return []
    return await _URGENT.rows(grids=sorted(grids))


async def observation(principal: Principal, observation_id: int) -> dict | None:
    row = await _observation_select().where(Observation.id == observation_id).first()
    if row is None:
        return None
    shift_row = await PatrolShift.select(PatrolShift.leader).where(PatrolShift.id == row["shift"]).first()
    if (
        row["person"] == principal.id
        or row["grid"] in await staff_grids(principal)
        or (shift_row and shift_row["leader"] == principal.id)
    ):
        row["may_acknowledge"] = (
            row["urgent"]
            and row["acknowledged_at"] is None
            and is_staff(principal)
            and row["grid"] in await staff_grids(principal)
        )
        return row
    return None


async def acknowledge(principal: Principal, observation_id: int) -> Outcome:
    row = await observation(principal, observation_id)
    if row is None or not row["may_acknowledge"]:
        return refused(N_("This observation cannot be found."))
    async with write_transaction(Observation._meta.db):
        await Observation.update(
            {Observation.acknowledged_at: common.now(), Observation.acknowledged_by: principal.id}
        ).where((Observation.id == observation_id) & Observation.acknowledged_at.is_null())
        await audit.record(audit.actor_of(principal), "acknowledge", "observation", observation_id)
        await notifications.add(
            [
                New(
                    person=row["person"],
                    kind="observation_acknowledged",
                    text=row["note"],
                    url=f"/volunteers/observations/{observation_id}",
                )
            ]
        )
    return Outcome(ok=True, id=observation_id)


async def photo_file(principal: Principal, photo_id: int, upload_dir):
    row = await Observation.select(Observation.id).where(Observation.photo == photo_id).first()
    if row is None or await observation(principal, row["id"]) is None:
        return None
    photo = await Photo.select(Photo.sha256).where(Photo.id == photo_id).first()
    path = photos.path_for(upload_dir, photo["sha256"])
    return path if path.exists() else None
