"""Grid alerts (云上警格): posted from the phone by a grid worker, an officer or a volunteer on
patrol; sent to the grid's responsible officer; acknowledged in one tap; escalated along the
chain (domain/alerts.Chain) when an urgent one waits; closed with an outcome, a field log or a
work order.

Escalation is exactly-once by a conditional UPDATE: a process takes a due step only if the
alert is still open at the level it read (`WHERE id = … AND level = … AND state = 'open'`).
On PostgreSQL a second process running the same step blocks on the row, re-reads it once the
first commits, finds the level moved and updates nothing; SQLite's writes take one lock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cache

from piccolo.columns.combination import Combinable

from app.db import Prepared, write_transaction
from app.domain import alerts as rules
from app.domain import fieldwork as field_rules
from app.domain import volunteers as volunteer_rules
from app.domain.access import Principal
from app.domain.photos import PhotoError, Processed
from app.i18n import N_, too_long
from app.services import audit, auth, fieldwork, notifications, orders, photos, scope
from app.services.notifications import New
from app.tables import (
    AlertRecipient,
    AlertSetting,
    AlertStep,
    Grid,
    GridAlert,
    Person,
    PersonRole,
    Photo,
    Place,
    ShiftSignup,
)

STAFF = ("officer", "supervisor", "admin")
SYSTEM = audit.Actor(id=None, role="system")


@dataclass
class Outcome:
    ok: bool = False
    id: int | None = None
    errors: dict[str, str] = field(default_factory=dict)
    refusal: str = ""


# --- who is in the chain --------------------------------------------------------------------


async def _grid_units(grid_id: int) -> dict | None:
    return (
        await Grid.select(Grid.id, Grid.name, Grid.office, Grid.office.station.as_alias("station"))
        .where(Grid.id == grid_id)
        .first()
    )


async def chain_for(grid_id: int, sender: int | None = None) -> rules.Chain:
    """The grid's officer (held for the grid, else its office, else its station; the lowest id
    when several, as work orders choose), the office's other officers, the station's supervisors."""
    units = await _grid_units(grid_id)
    if units is None:
        return rules.Chain(())
    office_grids = [g["id"] for g in await Grid.select(Grid.id).where(Grid.office == units["office"])]
    holders = (
        await PersonRole.select(
            PersonRole.person, PersonRole.role, PersonRole.grid, PersonRole.office, PersonRole.station
        )
        .where(PersonRole.role.is_in(["officer", "supervisor"]) & PersonRole.person.active.eq(True))
        .order_by(PersonRole.person)
    )
    officers = [h for h in holders if h["role"] == "officer"]
    responsible = (
        next((h["person"] for h in officers if h["grid"] == grid_id), None)
        or next((h["person"] for h in officers if h["office"] == units["office"]), None)
        or next((h["person"] for h in officers if h["station"] == units["station"]), None)
    )
    office_officers = [h["person"] for h in officers if h["office"] == units["office"] or h["grid"] in office_grids]
    supervisors = [h["person"] for h in holders if h["role"] == "supervisor" and h["station"] == units["station"]]
    return rules.chain(responsible, office_officers, supervisors, sender)


async def escalate_minutes(station_id: int) -> int:
    row = await AlertSetting.select(AlertSetting.escalate_minutes).where(AlertSetting.station == station_id).first()
    return rules.escalate_minutes(row["escalate_minutes"] if row else None)


# --- who may post -----------------------------------------------------------------------------


async def _patrol_grids(principal: Principal) -> set[int]:
    """The grids of the patrols the volunteer is on now (checked in, not yet out)."""
    rows = await ShiftSignup.select(ShiftSignup.shift.grids.as_alias("grids")).where(
        (ShiftSignup.person == principal.id)
        & (ShiftSignup.status == "confirmed")
        & ShiftSignup.check_in_at.is_not_null()
        & ShiftSignup.check_out_at.is_null()
        & ShiftSignup.shift.cancelled_at.is_null()
    )
    return {g for r in rows for g in volunteer_rules.ids_list(r["grids"])}


async def postable_grids(principal: Principal) -> set[int]:
    grids: set[int] = set()
    if principal.has(*STAFF):
        seen = await scope.grid_ids(principal)
        grids |= {g["id"] for g in await Grid.select(Grid.id)} if seen is scope.ALL else set(seen)
    if principal.has("grid_worker"):
        grids |= set(principal.grid_ids)
    if principal.has("volunteer"):
        grids |= await _patrol_grids(principal)
    return grids


async def form_choices(principal: Principal) -> list[dict]:
    """The grids the person may alert for, each with its places."""
    grids = await postable_grids(principal)
    if not grids:
        return []
    rows = (
        await Grid.select(Grid.id, Grid.name)
        .where(Grid.id.is_in(list(grids)) & Grid.active.eq(True))
        .order_by(Grid.name)
    )
    places = (
        await Place.select(Place.id, Place.name, Place.grid)
        .where(Place.grid.is_in(list(grids)) & Place.active.eq(True))
        .order_by(Place.name)
    )
    for row in rows:
        row["places"] = [p for p in places if p["grid"] == row["id"]]
    return rows


# --- posting ---------------------------------------------------------------------------------


def _check(raw: dict, grids: set[int]) -> tuple[dict, dict[str, str]]:
    errors: dict[str, str] = {}
    text = str(raw.get("text", "")).strip()
    if not text:
        errors["text"] = N_("Required")
    elif len(text) > rules.MAX_TEXT:
        errors["text"] = too_long(rules.MAX_TEXT)
    urgency = str(raw.get("urgency", ""))
    if urgency not in rules.URGENCIES:
        errors["urgency"] = N_("Choose one")
    grid_text = str(raw.get("grid", ""))
    grid = int(grid_text) if grid_text.isdecimal() else None
    if grid not in grids:
        errors["grid"] = N_("Choose a grid")
    place_text = str(raw.get("place_text", "")).strip()
    if len(place_text) > rules.MAX_PLACE:
        errors["place_text"] = too_long(rules.MAX_PLACE)
    place = str(raw.get("place", ""))
    location = field_rules.Checked()
    field_rules._check_location(raw, location)  # the field logs' rule: lat, lon, accuracy or nothing
    errors.update(location.errors)
    values = {
        "text": text,
        "urgency": urgency,
        "grid": grid,
        "place": int(place) if place.isdecimal() else None,
        "place_text": place_text,
        **location.values,
    }
    return values, errors


async def post(principal: Principal, raw: dict, photo: Processed | PhotoError | None, upload_dir) -> Outcome:
    client_uuid = field_rules.valid_uuid(str(raw.get("client_uuid", "")))
    if client_uuid is None:
        return Outcome(errors={"form": N_("This form is out of date: reload the page and send it again")})
    existing = (
        await GridAlert.select(GridAlert.id, GridAlert.person).where(GridAlert.client_uuid == client_uuid).first()
    )
    if existing is not None:  # a replay of what was sent already
        return Outcome(ok=existing["person"] == principal.id, id=existing["id"])
    values, errors = _check(raw, await postable_grids(principal))
    if values["place"] is not None and not errors:
        found = await Place.select(Place.grid).where(Place.id == values["place"]).first()
        if found is None or found["grid"] != values["grid"]:
            errors["place"] = N_("Choose from the list")
    if isinstance(photo, PhotoError):
        errors["photo"] = str(photo)
    if errors:
        return Outcome(errors=errors)
    units = await _grid_units(values["grid"])
    assert units is not None  # a postable grid exists
    chain_ = await chain_for(values["grid"], principal.id)
    moment = auth.now()
    minutes = await escalate_minutes(units["station"])
    if isinstance(photo, Processed):
        photos.store(upload_dir, photo)
    async with write_transaction(GridAlert._meta.db):
        photo_id = None
        if isinstance(photo, Processed):
            rows = await Photo.insert(
                Photo(sha256=photo.sha256, width=photo.width, height=photo.height, size=len(photo.data))
            ).returning(Photo.id)
            photo_id = rows[0]["id"]
        rows = await GridAlert.insert(
            GridAlert(
                client_uuid=client_uuid,
                station=units["station"],
                person=principal.id,
                photo=photo_id,
                created_at=moment,
                level=0,
                escalate_at=rules.next_escalation(values["urgency"], chain_, 0, moment, minutes),
                **values,
            )
        ).returning(GridAlert.id)
        alert_id = rows[0]["id"]
        await AlertStep.insert(AlertStep(alert=alert_id, kind="posted", person=principal.id, created_at=moment))
        await _send_to(alert_id, chain_.at(0), 0, "sent", values, moment)
        await audit.record(
            audit.actor_of(principal), "create", "grid_alert", alert_id, {"urgency": [None, values["urgency"]]}
        )
    return Outcome(ok=True, id=alert_id)


async def _send_to(
    alert_id: int, people: tuple[int, ...], level: int, step: str, alert: dict, moment: datetime
) -> None:
    """Recipients, the timeline step naming them, and their notifications (inside the caller's
    transaction)."""
    if not people:
        return
    names = {
        p["id"]: p["name"] for p in await Person.select(Person.id, Person.name).where(Person.id.is_in(list(people)))
    }
    await AlertRecipient.insert(*[AlertRecipient(alert=alert_id, person=p, level=level) for p in people])
    await AlertStep.insert(
        AlertStep(alert=alert_id, kind=step, note="、".join(names.get(p, "") for p in people), created_at=moment)
    )
    kind = "alert" if step == "sent" else "alert_escalated"
    await notifications.add(
        [
            New(person=p, kind=kind, text=alert["text"], url=f"/alerts/{alert_id}", urgent=alert["urgency"] == "urgent")
            for p in people
        ]
    )


# --- escalation (the background job) ---------------------------------------------------------


async def escalate_due(moment: datetime | None = None) -> int:
    """Every due step of every open urgent alert, once; returns how many this process took."""
    moment = moment or auth.now()
    due = await GridAlert.select(
        GridAlert.id,
        GridAlert.person,
        GridAlert.level,
        GridAlert.grid,
        GridAlert.station,
        GridAlert.urgency,
        GridAlert.text,
        GridAlert.escalate_at,
    ).where((GridAlert.state == "open") & GridAlert.escalate_at.is_not_null() & (GridAlert.escalate_at <= moment))
    taken = 0
    for row in due:
        taken += await _escalate(row, moment)
    return taken


async def _escalate(row: dict, moment: datetime) -> int:
    chain_ = await chain_for(row["grid"], row["person"])
    level = row["level"] + 1
    already = {
        r["person"] for r in await AlertRecipient.select(AlertRecipient.person).where(AlertRecipient.alert == row["id"])
    }
    people = tuple(p for p in chain_.at(level) if p not in already)
    # Counted from when this step fell due, not from when the job ran: a restart does not delay the chain.
    since = row["escalate_at"]
    next_at = rules.next_escalation(row["urgency"], chain_, level, since, await escalate_minutes(row["station"]))
    async with write_transaction(GridAlert._meta.db):
        won = (
            await GridAlert.update({GridAlert.level: level, GridAlert.escalate_at: next_at})
            .where((GridAlert.id == row["id"]) & (GridAlert.level == row["level"]) & (GridAlert.state == "open"))
            .returning(GridAlert.id)
        )
        if not won:
            return 0  # another process took this step, or someone acknowledged meanwhile
        await _send_to(row["id"], people, level, "escalated", row, moment)
        await audit.record(SYSTEM, "escalate", "grid_alert", row["id"], {"level": [row["level"], level]})
    return 1


# --- reading ---------------------------------------------------------------------------------


def _select():
    return GridAlert.select(
        GridAlert.all_columns(),
        GridAlert.person.name.as_alias("person_name"),
        GridAlert.grid.name.as_alias("grid_name"),
        GridAlert.place.name.as_alias("place_name"),
        GridAlert.acknowledged_by.name.as_alias("acknowledged_by_name"),
    )


async def _staff_grids(principal: Principal) -> set[int] | None:
    if not principal.has(*STAFF):
        return set()
    grids = await scope.grid_ids(principal)
    return None if grids is scope.ALL else set(grids)


async def _may_see(principal: Principal, alert: dict) -> tuple[bool, bool]:
    """(may see it, may act on it: acknowledge, close)."""
    grids = await _staff_grids(principal)
    recipient = await AlertRecipient.exists().where(
        (AlertRecipient.alert == alert["id"]) & (AlertRecipient.person == principal.id)
    )
    may_act = recipient or (grids is None or alert["grid"] in grids)
    if not principal.has(*STAFF) and not recipient:
        may_act = False
    sees = may_act or alert["person"] == principal.id or alert["grid"] in principal.grid_ids
    return sees, may_act


def visible_sql(principal: Principal) -> str:
    """_may_see as an SQL condition on grid_alert's columns (the map's alerts layer counts in SQL):
    alerts the person sent or was sent, staff's alerts in their grids, a grid worker's in theirs."""
    me = int(principal.id)
    parts = [f"person = {me}", f"id IN (SELECT alert FROM alert_recipient WHERE person = {me})"]
    if principal.has(*STAFF):
        grids = scope.grid_scope_sql(principal)
        parts.append("1 = 1" if grids is None else f"grid IN ({grids})")
    if principal.grid_ids:
        parts.append(f"grid IN ({', '.join(str(int(g)) for g in principal.grid_ids)})")
    return "(" + " OR ".join(parts) + ")"


async def get(principal: Principal, alert_id: int) -> dict | None:
    alert = await _select().where(GridAlert.id == alert_id).first()
    if alert is None:
        return None
    sees, may_act = await _may_see(principal, alert)
    if not sees:
        return None
    alert["may_acknowledge"] = may_act and alert["state"] == "open"
    alert["may_close"] = may_act and alert["state"] != "closed"
    alert["mine"] = alert["person"] == principal.id
    alert["steps"] = (
        await AlertStep.select(AlertStep.all_columns(), AlertStep.person.name.as_alias("person_name"))
        .where(AlertStep.alert == alert_id)
        .order_by(AlertStep.created_at)
        .order_by(AlertStep.id)
    )
    return alert


@cache
def _listing(reach: str, open_only: bool, limit: int) -> Prepared:
    """The alerts list's select, built once per kind of reach: "all" (administrators), "grids"
    (staff: their grids' alerts too) or "own" (what they sent or were sent)."""

    def build(p):
        mine: Combinable = GridAlert.id.is_not_null()
        if reach != "all":
            mine = (GridAlert.person == p.person) | GridAlert.id.is_in(
                AlertRecipient.select(AlertRecipient.alert).where(AlertRecipient.person == p.person)
            )
            if reach == "grids":
                mine |= GridAlert.grid.is_in(p.grids)
        if open_only:
            mine &= GridAlert.state != "closed"
        return _select().where(mine).order_by(GridAlert.created_at, ascending=False).limit(limit)

    return Prepared(build)


async def listing(principal: Principal, include_closed: bool = True, limit: int = 100) -> list[dict]:
    """Alerts the person sent, was sent, or (staff) that lie in their grids; unfinished first."""
    grids = await _staff_grids(principal)
    reach = "all" if grids is None else "grids" if grids else "own"
    values: dict = {"person": principal.id} | ({"grids": sorted(grids)} if grids else {})
    rows = await _listing(reach, not include_closed, limit).rows(**values)
    order = {"open": 0, "acknowledged": 1, "closed": 2}
    return sorted(rows, key=lambda r: order.get(r["state"], 3))


# The red box at the top of My day: built once (a select with four joins).
_FOR_MY_DAY = Prepared(
    lambda p: (
        _select()
        .where(
            (
                (GridAlert.person == p.person)
                | GridAlert.id.is_in(
                    AlertRecipient.select(AlertRecipient.alert).where(AlertRecipient.person == p.person)
                )
            )
            & (GridAlert.state != "closed")
        )
        .order_by(GridAlert.created_at, ascending=False)
        .limit(20)
    )
)


async def for_my_day(principal: Principal) -> list[dict]:
    """The unfinished alerts sent to the person or by them: the red box at the top of My day."""
    rows = await _FOR_MY_DAY.rows(person=principal.id)
    return sorted(rows, key=lambda r: r["state"] != "open")


# --- acting on it ----------------------------------------------------------------------------


async def acknowledge(principal: Principal, alert_id: int, kind: str) -> Outcome:
    alert = await get(principal, alert_id)
    if alert is None or not alert["may_close"]:
        return Outcome(refusal=N_("This alert cannot be found."))
    if kind not in rules.ACKS:
        return Outcome(refusal=N_("Choose one"))
    if not alert["may_acknowledge"]:
        return Outcome(refusal=N_("This alert was acknowledged already."))
    moment = auth.now()
    async with write_transaction(GridAlert._meta.db):
        won = (
            await GridAlert.update(
                {
                    GridAlert.state: "acknowledged",
                    GridAlert.acknowledged_at: moment,
                    GridAlert.acknowledged_by: principal.id,
                    GridAlert.ack_kind: kind,
                    GridAlert.escalate_at: None,
                }
            )
            .where((GridAlert.id == alert_id) & (GridAlert.state == "open"))
            .returning(GridAlert.id)
        )
        if not won:
            return Outcome(refusal=N_("This alert was acknowledged already."))
        await AlertStep.insert(
            AlertStep(alert=alert_id, kind="acknowledged", person=principal.id, note=kind, created_at=moment)
        )
        await notifications.add(
            [
                New(
                    person=alert["person"],
                    kind=f"alert_{kind}",
                    text=alert["text"],
                    url=f"/alerts/{alert_id}",
                    urgent=True,
                )
            ]
        )
        await audit.record(audit.actor_of(principal), "acknowledge", "grid_alert", alert_id, {"ack": [None, kind]})
    return Outcome(ok=True, id=alert_id)


async def close(principal: Principal, alert_id: int, raw: dict) -> Outcome:
    """With an outcome; optionally the field log that followed (one the person may see) or a new
    work order for the grid (services/orders.create_manual)."""
    alert = await get(principal, alert_id)
    if alert is None or not alert["may_close"]:
        return Outcome(refusal=N_("This alert cannot be found."))
    errors: dict[str, str] = {}
    outcome = str(raw.get("outcome", "")).strip()
    if not outcome:
        errors["outcome"] = N_("Required")
    elif len(outcome) > rules.MAX_OUTCOME:
        errors["outcome"] = too_long(rules.MAX_OUTCOME)
    log_text = str(raw.get("field_log", "")).strip()
    field_log = None
    if log_text:
        found = await fieldwork.get(principal, int(log_text)) if log_text.isdecimal() else None
        if found is None:
            errors["field_log"] = N_("No field log with this number that you can see")
        else:
            field_log = found["id"]
    if errors:
        return Outcome(errors=errors)
    order_id = None
    if str(raw.get("work_order", "")) in ("1", "on"):
        order_id, order_errors = await orders.create_manual(
            principal,
            {"title": alert["text"][:200], "instructions": outcome, "grid": str(alert["grid"])},
            {alert["grid"]},
        )
        if order_id is None:
            return Outcome(errors={"work_order": next(iter(order_errors.values()), N_("Required"))})
    moment = auth.now()
    async with write_transaction(GridAlert._meta.db):
        won = (
            await GridAlert.update(
                {
                    GridAlert.state: "closed",
                    GridAlert.closed_at: moment,
                    GridAlert.closed_by: principal.id,
                    GridAlert.outcome: outcome,
                    GridAlert.field_log: field_log,
                    GridAlert.work_order: order_id,
                    GridAlert.escalate_at: None,
                }
            )
            .where((GridAlert.id == alert_id) & (GridAlert.state != "closed"))
            .returning(GridAlert.id)
        )
        if not won:
            return Outcome(refusal=N_("This alert was closed already."))
        await AlertStep.insert(
            AlertStep(alert=alert_id, kind="closed", person=principal.id, note=outcome, created_at=moment)
        )
        if alert["person"] != principal.id:
            await notifications.add(
                [New(person=alert["person"], kind="alert_closed", text=outcome, url=f"/alerts/{alert_id}")]
            )
        await audit.record(
            audit.actor_of(principal),
            "close",
            "grid_alert",
            alert_id,
            {"field_log": [None, field_log], "work_order": [None, order_id]},
        )
    return Outcome(ok=True, id=alert_id)


async def photo_file(principal: Principal, photo_id: int, upload_dir):
    row = await GridAlert.select(GridAlert.id).where(GridAlert.photo == photo_id).first()
    if row is None or await get(principal, row["id"]) is None:
        return None
    photo = await Photo.select(Photo.sha256).where(Photo.id == photo_id).first()
    path = photos.path_for(upload_dir, photo["sha256"])
    return path if path.exists() else None


# --- the station's setting -------------------------------------------------------------------


async def settings_for(principal: Principal) -> list[dict]:
    """The stations whose alert settings the supervisor or administrator keeps."""
    from app.tables import Station

    query = Station.select(Station.id, Station.name).where(Station.active.eq(True)).order_by(Station.name)
    if not principal.has("admin"):
        query = query.where(Station.id.is_in(list(await scope.station_ids(principal)) or [-1]))
    rows = await query
    for row in rows:
        row["escalate_minutes"] = await escalate_minutes(row["id"])
    return rows


async def save_setting(principal: Principal, station_id: int, raw: dict) -> Outcome:
    if station_id not in {s["id"] for s in await settings_for(principal)}:
        return Outcome(refusal=N_("This station cannot be found."))
    minutes, error = rules.check_minutes(str(raw.get("escalate_minutes", "")))
    if error:
        return Outcome(errors={"escalate_minutes": error})
    async with write_transaction(AlertSetting._meta.db):
        before = await escalate_minutes(station_id)
        updated = (
            await AlertSetting.update({AlertSetting.escalate_minutes: minutes})
            .where(AlertSetting.station == station_id)
            .returning(AlertSetting.id)
        )
        if not updated:
            await AlertSetting.insert(AlertSetting(station=station_id, escalate_minutes=minutes))
        await audit.record(
            audit.actor_of(principal), "update", "alert_setting", station_id, {"escalate_minutes": [before, minutes]}
        )
    return Outcome(ok=True, id=station_id)
