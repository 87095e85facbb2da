"""Patrol shifts: created one-off or as a weekly series, edited and cancelled by officers; the
lists and the shift page (roster, observations) that volunteers and officers read."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from piccolo.columns.combination import Combinable

from app.db import Prepared, write_transaction
from app.domain import phone as phones
from app.domain import volunteers as rules
from app.domain.access import Principal
from app.i18n import N_
from app.services import audit, notifications, scope
from app.services.notifications import New
from app.services.volunteers import common
from app.services.volunteers.common import (
    ACTIVE,
    Outcome,
    _grid_names,
    _lock,
    _visible_to_volunteer,
    refused,
    staff_grids,
    volunteer_grids,
    zone,
)
from app.services.volunteers.observations import _observations
from app.services.volunteers.signups import _promote
from app.settings import Settings
from app.tables import (
    Grid,
    PatrolShift,
    PersonRole,
    Place,
    ShiftSignup,
    Station,
    VolunteerProfile,
)

# --- shifts: create, edit, cancel (officers) ----------------------------------------------------


async def leader_choices(principal: Principal) -> list[dict]:
    """Officers of the principal's stations and senior volunteers of their grids."""
    grids = await staff_grids(principal)
    stations = (
        await scope.station_ids(principal)
        if not principal.has("admin")
        else {r["id"] for r in await Station.select(Station.id)}
    )
    officer_rows = await PersonRole.select(PersonRole.person, PersonRole.person.name.as_alias("name")).where(
        (PersonRole.role == "officer")
        & PersonRole.person.active.eq(True)
        & (
            PersonRole.station.is_in(list(stations) or [-1])
            | PersonRole.office.station.is_in(list(stations) or [-1])
            | PersonRole.grid.office.station.is_in(list(stations) or [-1])
        )
    )
    senior_rows = await PersonRole.select(PersonRole.person, PersonRole.person.name.as_alias("name")).where(
        (PersonRole.role == "volunteer")
        & PersonRole.grid.is_in(list(grids) or [-1])
        & PersonRole.person.active.eq(True)
    )
    seniors = {
        r["person"]
        for r in await VolunteerProfile.select(VolunteerProfile.person).where(VolunteerProfile.senior.eq(True))
    }
    out: dict[int, dict] = {}
    for r in officer_rows:
        out.setdefault(r["person"], {"id": r["person"], "name": r["name"], "kind": "officer"})
    for r in senior_rows:
        if r["person"] in seniors:
            out.setdefault(r["person"], {"id": r["person"], "name": r["name"], "kind": "volunteer"})
    return sorted(out.values(), key=lambda p: (p["kind"] != "officer", p["name"]))


async def shift_form_choices(principal: Principal) -> dict:
    grids = await staff_grids(principal)
    rows = (
        await Grid.select(Grid.id, Grid.name, Grid.office.name.as_alias("office_name"))
        .where(Grid.id.is_in(list(grids) or [-1]) & Grid.active.eq(True))
        .order_by(Grid.office.name)
        .order_by(Grid.name)
    )
    return {"grids": rows, "leaders": await leader_choices(principal)}


async def _shift_rules(
    principal: Principal, settings: Settings, min_confirmed: int = 0, editing: bool = False
) -> rules.ShiftRules:
    return rules.ShiftRules(
        grids=await staff_grids(principal),
        leaders={p["id"] for p in await leader_choices(principal)},
        tz=settings.time_zone,
        now=common.now(),
        min_confirmed=min_confirmed,
        editing=editing,
    )


def _shift_values(values: dict) -> dict:
    grids = values["grids"]
    return {
        "grid": grids[0],
        "grids": rules.codes_column(grids),
        "route": values["route"],
        "meeting_point": values["meeting_point"],
        "min_volunteers": values["min_volunteers"],
        "max_volunteers": values["max_volunteers"],
        "leader": values["leader"],
        "notes": values["notes"],
    }


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
            rows = await PatrolShift.insert(
                PatrolShift(
                    series=series,
                    starts_at=starts_at,
                    ends_at=ends_at,
                    created_by=principal.id,
                    **_shift_values(values),
                )
            ).returning(PatrolShift.id)
            ids.append(rows[0]["id"])
        await audit.record(
            audit.actor_of(principal),
            "create",
            "patrol_shift",
            ids[0],
            {"shifts": [None, ids], "series": [None, series], "grids": [None, values["grids"]]},
        )
    return Outcome(ok=True, id=ids[0])


async def _managed_shift(principal: Principal, shift_id: int) -> dict | None:
    row = await PatrolShift.select().where(PatrolShift.id == shift_id).first()
    if row is None or row["grid"] not in await staff_grids(principal):
        return None
    return row


async def _shifts_to_change(
    principal: Principal, shift_id: int, with_series: bool
) -> tuple[dict, list[dict]] | Outcome:
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
    return (
        await PatrolShift.select()
        .where(
            (PatrolShift.series == row["series"])
            & (PatrolShift.starts_at > row["starts_at"])
            & (PatrolShift.starts_at > common.now())
            & PatrolShift.cancelled_at.is_null()
        )
        .order_by(PatrolShift.starts_at)
    )


async def shift_form_values(principal: Principal, shift_id: int, tz: str) -> dict | None:
    row = await _managed_shift(principal, shift_id)
    if row is None:
        return None
    start, end = row["starts_at"].astimezone(zone(tz)), row["ends_at"].astimezone(zone(tz))
    return {
        "day": start.date().isoformat(),
        "start": start.strftime("%H:%M"),
        "end": end.strftime("%H:%M"),
        "grids": [str(g) for g in rules.ids_list(row["grids"])],
        "route": row["route"],
        "meeting_point": row["meeting_point"],
        "min_volunteers": str(row["min_volunteers"]),
        "max_volunteers": str(row["max_volunteers"]),
        "leader": str(row["leader"] or ""),
        "notes": row["notes"],
        "_shift": row,
        "_later": len(await _series_after(row)),
    }


async def update_shift(
    principal: Principal, shift_id: int, raw: dict, settings: Settings, with_series: bool = False
) -> Outcome:
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
    moment = common.now()
    async with write_transaction(PatrolShift._meta.db):
        for target in targets:
            await _lock(PatrolShift, target["id"])
            if target["id"] == row["id"]:
                starts_at, ends_at = values["starts_at"], values["ends_at"]
            else:
                starts_at, ends_at = rules.moved_to_day(
                    values["starts_at"], values["ends_at"], target["starts_at"], settings.time_zone
                )
            new = {**_shift_values(values), "starts_at": starts_at, "ends_at": ends_at}
            diff = {k: [_plain(target[k]), _plain(v)] for k, v in new.items() if target[k] != v}
            if not diff:
                continue
            # Only a new time or place asks volunteers to look again (not a new leader or size).
            if rules.NOTICED_CHANGES & diff.keys():
                new["changed_at"] = moment
                await _tell_signed_up(target["id"], "shift_changed", target["meeting_point"])
            await PatrolShift.update(new).where(PatrolShift.id == target["id"])
            await audit.record(audit.actor_of(principal), "update", "patrol_shift", target["id"], diff)
            await _promote(target["id"], moment)
    return Outcome(ok=True, id=shift_id)


async def _tell_signed_up(shift_id: int, kind: str, text: str) -> None:
    """The volunteers with a place or on the waiting list hear of a change (inside the transaction)."""
    people = await ShiftSignup.select(ShiftSignup.person).where(
        (ShiftSignup.shift == shift_id) & ShiftSignup.status.is_in(list(ACTIVE))
    )
    await notifications.add(
        [New(person=p["person"], kind=kind, text=text, url=f"/volunteers/shifts/{shift_id}") for p in people]
    )


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
            cancelled = (
                await PatrolShift.update(
                    {PatrolShift.cancelled_at: common.now(), PatrolShift.cancel_reason: reason.strip()}
                )
                .where((PatrolShift.id == target["id"]) & PatrolShift.cancelled_at.is_null())
                .returning(PatrolShift.id)
            )
            await audit.record(
                audit.actor_of(principal), "cancel", "patrol_shift", target["id"], {"reason": [None, reason.strip()]}
            )
            if cancelled:
                await _tell_signed_up(target["id"], "shift_cancelled", reason.strip())
    return Outcome(ok=True, id=shift_id)


# --- reading shifts ------------------------------------------------------------------------------


def _shift_select():
    return PatrolShift.select(
        PatrolShift.all_columns(),
        PatrolShift.grid.name.as_alias("grid_name"),
        PatrolShift.leader.name.as_alias("leader_name"),
    )


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
            ShiftSignup.shift.is_in(shift_ids) & ShiftSignup.status.is_in(list(ACTIVE))
        ):
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


def _upcoming(p):
    """The shifts ahead that the person leads, lie in their staff grids or are open to their grids:
    `p.staff` and `p.mine` are lists of any length or not given (a shape each, built once)."""
    theirs: Combinable = PatrolShift.leader == p.leader
    if isinstance(p.staff, list):
        theirs = theirs | PatrolShift.grid.is_in(p.staff)
    for pattern in p.mine if isinstance(p.mine, list) else []:
        theirs = theirs | PatrolShift.grids.like(pattern)
    return (
        _shift_select()
        .where((PatrolShift.ends_at > p.after) & (PatrolShift.starts_at < p.before) & theirs)
        .order_by(PatrolShift.starts_at)
    )


_UPCOMING = Prepared(_upcoming)


async def upcoming(principal: Principal, settings: Settings, days: int = 31) -> list[dict]:
    """Shifts from now on: a volunteer's grids, or the officer's (cancelled ones too, marked)."""
    moment = common.now()
    staff = await staff_grids(principal)
    mine = volunteer_grids(principal)
    # Narrowed in SQL to the person's grids (a city has thousands of shifts a month), then
    # exactly as _may_see reads them.
    values: dict = {"leader": principal.id, "after": moment, "before": moment + timedelta(days=days)}
    values |= {"staff": sorted(staff)} if staff else {}
    values |= {"mine": [f"%,{int(grid)},%" for grid in sorted(mine)]} if mine else {}
    rows = await _UPCOMING.rows(**values)
    rows = [r for r in rows if r["grid"] in staff or _visible_to_volunteer(r, mine) or r["leader"] == principal.id]
    if not staff:  # a volunteer does not need to read about shifts cancelled before they saw them
        rows = [r for r in rows if r["cancelled_at"] is None]
    counts = await _counts([r["id"] for r in rows])
    names = await _grid_names()
    signups = {
        r["shift"]: r
        for r in await ShiftSignup.select().where(
            (ShiftSignup.person == principal.id) & ShiftSignup.status.is_in(list(ACTIVE))
        )
    }
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
    moment = common.now()
    mine = (
        await ShiftSignup.select()
        .where((ShiftSignup.shift == shift_id) & (ShiftSignup.person == principal.id))
        .order_by(ShiftSignup.id, ascending=False)
        .first()
    )
    if mine and mine["status"] == "waiting":
        mine["position"] = await ShiftSignup.count().where(
            (ShiftSignup.shift == shift_id)
            & (ShiftSignup.status == "waiting")
            & (ShiftSignup.created_at <= mine["created_at"])
        )
    row["mine"] = mine
    cancelled = row["cancelled_at"] is not None
    active = mine is not None and mine["status"] in ACTIVE
    row["may_sign_up"] = (
        principal.has("volunteer") and not active and _visible_to_volunteer(row, volunteer_grids(principal))
    )
    row["signup_refusal"] = rules.signup_refusal(row["starts_at"], cancelled, moment, settings.signup_open_days)
    row["cancel_deadline"] = rules.cancel_deadline(row["starts_at"], settings.cancel_hours)
    row["cancel_deadline_passed"] = moment >= row["cancel_deadline"]
    row["withdraw_refusal"] = (
        rules.withdraw_refusal(row["starts_at"], mine["status"] == "confirmed", moment, settings.cancel_hours)
        if active
        else None
    )
    row["may_withdraw"] = active and not cancelled and row["withdraw_refusal"] is None
    opens, closes = rules.check_in_window(row["starts_at"])
    row["check_in_opens"], row["check_in_closes"] = opens, closes
    confirmed = mine is not None and mine["status"] == "confirmed" and not cancelled
    row["may_check_in"] = (
        confirmed and mine["check_in_at"] is None and mine["attendance"] != "no_show" and (moment <= closes)
    )
    row["check_in_now"] = row["may_check_in"] and opens <= moment
    row["may_check_out"] = confirmed and mine["check_in_at"] is not None and mine["check_out_at"] is None
    row["check_out_now"] = row["may_check_out"] and moment >= row["starts_at"]  # not before the start
    row["on_patrol"] = (confirmed and mine["check_in_at"] is not None and mine["check_out_at"] is None) or (
        row["leader"] == principal.id and opens <= moment <= rules.check_out_closes(row["ends_at"])
    )
    row["is_staff"] = row["grid"] in await staff_grids(principal)
    row["may_mark"] = (row["is_staff"] or row["leader"] == principal.id) and moment >= opens and not cancelled
    row["roster"] = await _roster(shift_id) if row["is_staff"] or row["leader"] == principal.id else []
    row["observations"] = await _observations(principal, shift_id, row["is_staff"] or row["leader"] == principal.id)
    row["places"] = (
        await Place.select(Place.id, Place.name)
        .where(Place.grid.is_in(rules.ids_list(row["grids"]) or [-1]) & Place.active.eq(True))
        .order_by(Place.name)
    )
    row["changed_since_signup"] = bool(mine and row["changed_at"] and row["changed_at"] > mine["created_at"])
    return row


async def _roster(shift_id: int) -> list[dict]:
    rows = (
        await ShiftSignup.select(
            ShiftSignup.all_columns(),
            ShiftSignup.person.name.as_alias("name"),
            ShiftSignup.person.phone.as_alias("phone"),
        )
        .where((ShiftSignup.shift == shift_id) & ShiftSignup.status.is_in(list(ACTIVE)))
        .order_by(ShiftSignup.created_at)
    )
    for r in rows:
        r["phone_masked"] = phones.mask(r["phone"]) if r["phone"] else ""
        r["flagged"] = r["auto_closed"] and not r["attendance"]
    return rows


# The volunteer's own page: a select with nine joins, built once.
_MY_SHIFTS = Prepared(
    lambda p: (
        ShiftSignup.select(
            ShiftSignup.all_columns(),
            ShiftSignup.shift.starts_at.as_alias("starts_at"),
            ShiftSignup.shift.ends_at.as_alias("ends_at"),
            ShiftSignup.shift.meeting_point.as_alias("meeting_point"),
            ShiftSignup.shift.route.as_alias("route"),
            ShiftSignup.shift.cancelled_at.as_alias("shift_cancelled_at"),
            ShiftSignup.shift.cancel_reason.as_alias("cancel_reason"),
            ShiftSignup.shift.changed_at.as_alias("changed_at"),
            ShiftSignup.shift.grid.name.as_alias("grid_name"),
            ShiftSignup.shift.leader.name.as_alias("leader_name"),
        )
        .where((ShiftSignup.person == p.person) & ShiftSignup.status.is_in(list(ACTIVE)))
        .order_by(ShiftSignup.shift.starts_at)
    )
)


async def my_shifts(principal: Principal, settings: Settings) -> dict:
    """The volunteer's own sign-ups: upcoming (with changes and cancellations) and recent."""
    rows = await _MY_SHIFTS.rows(person=principal.id)
    moment = common.now()
    tz = zone(settings.time_zone)
    upcoming_rows, recent = [], []
    for r in rows:
        r["start_local"], r["end_local"] = r["starts_at"].astimezone(tz), r["ends_at"].astimezone(tz)
        r["changed"] = bool(r["changed_at"] and r["changed_at"] > r["created_at"])
        r["actual"] = rules.actual_span(r["check_in_at"], r["check_out_at"], tz)
        r["check_in_open"] = (
            rules.check_in_window(r["starts_at"])[0] <= moment <= rules.check_in_window(r["starts_at"])[1]
        )
        if r["ends_at"] + rules.CHECK_OUT_GRACE > moment:
            upcoming_rows.append(r)
        elif r["starts_at"] > moment - timedelta(days=30):
            recent.append(r)
    return {"upcoming": upcoming_rows, "recent": list(reversed(recent))}
