"""Sign-up with a waiting list, withdrawal and promotion; on the spot: check-in, check-out, the
leader's attendance, and closing the sign-ups nobody checked out of.

Races: see the package's docstring (app/services/volunteers/__init__.py)."""

from __future__ import annotations

from datetime import datetime

from app.db import write_transaction
from app.domain import fieldwork as field_rules
from app.domain import volunteers as rules
from app.domain.access import Principal
from app.i18n import N_
from app.services import audit, notifications
from app.services.notifications import New
from app.services.volunteers import common
from app.services.volunteers.common import (
    ACTIVE,
    Outcome,
    _confirmed_count,
    _lock,
    _visible_to_volunteer,
    refused,
    staff_grids,
    volunteer_grids,
)
from app.settings import Settings
from app.tables import (
    PatrolShift,
    Person,
    ShiftSignup,
)

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
        moment = common.now()
        refusal = rules.signup_refusal(
            row["starts_at"], row["cancelled_at"] is not None, moment, settings.signup_open_days
        )
        if refusal:
            return Outcome(refusal=refusal)
        if await ShiftSignup.exists().where(
            (ShiftSignup.shift == shift_id)
            & (ShiftSignup.person == principal.id)
            & ShiftSignup.status.is_in(list(ACTIVE))
        ):
            return refused(N_("You are already signed up for this shift."))
        clash = (
            await ShiftSignup.select(ShiftSignup.shift.starts_at.as_alias("starts_at"))
            .where(
                (ShiftSignup.person == principal.id)
                & ShiftSignup.status.is_in(list(ACTIVE))
                & (ShiftSignup.shift != shift_id)
                & ShiftSignup.shift.cancelled_at.is_null()
                & (ShiftSignup.shift.starts_at < row["ends_at"])
                & (ShiftSignup.shift.ends_at > row["starts_at"])
            )
            .first()
        )
        if clash:
            return refused(N_("This shift overlaps your shift of %(when)s."), when=clash["starts_at"])
        status = "confirmed" if await _confirmed_count(shift_id) < row["max_volunteers"] else "waiting"
        rows = await ShiftSignup.insert(
            ShiftSignup(shift=shift_id, person=principal.id, status=status, created_at=moment)
        ).returning(ShiftSignup.id)
        await audit.record(
            audit.actor_of(principal),
            "sign_up",
            "patrol_shift",
            shift_id,
            {"status": [None, status], "signup": [None, rows[0]["id"]]},
        )
    return Outcome(ok=True, status=status, id=rows[0]["id"])


async def withdraw(principal: Principal, shift_id: int, settings: Settings) -> Outcome:
    """Give a place back (until `cancel_hours` before the start) or leave the waiting list;
    the first on the waiting list moves up at once."""
    async with write_transaction(ShiftSignup._meta.db):
        await _lock(PatrolShift, shift_id)
        row = await PatrolShift.select().where(PatrolShift.id == shift_id).first()
        mine = (
            await ShiftSignup.select()
            .where(
                (ShiftSignup.shift == shift_id)
                & (ShiftSignup.person == principal.id)
                & ShiftSignup.status.is_in(list(ACTIVE))
            )
            .first()
        )
        if row is None or mine is None:
            return refused(N_("You are not signed up for this shift."))
        moment = common.now()
        refusal = rules.withdraw_refusal(row["starts_at"], mine["status"] == "confirmed", moment, settings.cancel_hours)
        if refusal:
            return Outcome(refusal=refusal)
        await ShiftSignup.update({ShiftSignup.status: "cancelled", ShiftSignup.cancelled_at: moment}).where(
            ShiftSignup.id == mine["id"]
        )
        await audit.record(
            audit.actor_of(principal),
            "withdraw",
            "patrol_shift",
            shift_id,
            {"status": [mine["status"], "cancelled"], "signup": [None, mine["id"]]},
        )
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
    waiting = (
        await ShiftSignup.select(ShiftSignup.id, ShiftSignup.person)
        .where((ShiftSignup.shift == shift_id) & (ShiftSignup.status == "waiting"))
        .order_by(ShiftSignup.created_at)
        .order_by(ShiftSignup.id)
        .limit(free)
    )
    for w in waiting:
        await ShiftSignup.update({ShiftSignup.status: "confirmed", ShiftSignup.promoted_at: moment}).where(
            ShiftSignup.id == w["id"]
        )
        await audit.record(
            audit.SYSTEM,
            "promote",
            "patrol_shift",
            shift_id,
            {"status": ["waiting", "confirmed"], "signup": [None, w["id"]], "person": [None, w["person"]]},
        )
    await notifications.add(
        [
            New(
                person=w["person"],
                kind="shift_promoted",
                text=row["meeting_point"],
                url=f"/volunteers/shifts/{shift_id}",
            )
            for w in waiting
        ]
    )
    return [w["id"] for w in waiting]


# --- on the spot ----------------------------------------------------------------------------------


def _location(raw: dict) -> tuple[dict, dict]:
    out = field_rules.Checked()
    field_rules._check_location(raw, out)  # the field logs' rule: lat, lon, accuracy or nothing
    return out.values, out.errors


async def _my_confirmed(principal: Principal, shift_id: int) -> dict | None:
    return (
        await ShiftSignup.select()
        .where(
            (ShiftSignup.shift == shift_id) & (ShiftSignup.person == principal.id) & (ShiftSignup.status == "confirmed")
        )
        .first()
    )


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
        moment = common.now()
        refusal = rules.check_in_refusal(row["starts_at"], moment)
        if refusal:
            return Outcome(refusal=refusal)
        if errors:  # a location that could not be read is dropped, not a reason to refuse
            location = {"lat": None, "lon": None, "accuracy": None}
        await ShiftSignup.update(
            {
                ShiftSignup.check_in_at: moment,
                ShiftSignup.check_in_lat: location["lat"],
                ShiftSignup.check_in_lon: location["lon"],
                ShiftSignup.check_in_accuracy: location["accuracy"],
            }
        ).where(ShiftSignup.id == mine["id"])
        await audit.record(
            audit.actor_of(principal),
            "check_in",
            "patrol_shift",
            shift_id,
            {"signup": [None, mine["id"]], "located": [None, location["lat"] is not None]},
        )
    return Outcome(ok=True)


async def check_out(principal: Principal, shift_id: int) -> Outcome:
    async with write_transaction(ShiftSignup._meta.db):
        row = await PatrolShift.select().where(PatrolShift.id == shift_id).first()
        mine = await _my_confirmed(principal, shift_id)
        if row is None or mine is None or mine["check_in_at"] is None:
            return refused(N_("You have not checked in on this shift."))
        if mine["check_out_at"] is not None:
            return refused(N_("You checked out at %(when)s."), when=mine["check_out_at"])
        moment = common.now()
        refusal = rules.check_out_refusal(row["starts_at"], row["ends_at"], moment)
        if refusal:
            return Outcome(refusal=refusal)
        minutes = rules.served_minutes(
            row["starts_at"], row["ends_at"], mine["check_in_at"], moment, mine["attendance"]
        )
        await ShiftSignup.update({ShiftSignup.check_out_at: moment, ShiftSignup.minutes: minutes}).where(
            ShiftSignup.id == mine["id"]
        )
        await audit.record(
            audit.actor_of(principal),
            "check_out",
            "patrol_shift",
            shift_id,
            {"signup": [None, mine["id"]], "minutes": [None, minutes]},
        )
    return Outcome(ok=True)


async def _led_shift(principal: Principal, shift_id: int) -> dict | Outcome:
    """The shift if the person leads it (or is an officer of its grid) and it may be marked now."""
    row = await PatrolShift.select().where(PatrolShift.id == shift_id).first()
    if row is None or not (row["leader"] == principal.id or row["grid"] in await staff_grids(principal)):
        return refused(N_("This shift cannot be found."))
    if row["cancelled_at"] is not None:
        return refused(N_("This shift has been cancelled."))
    if common.now() < rules.check_in_window(row["starts_at"])[0]:
        return refused(N_("Attendance can be marked from 30 minutes before the start."))
    return row


async def _confirmed_signup(shift_id: int, signup_id: int) -> dict | None:
    return (
        await ShiftSignup.select()
        .where((ShiftSignup.id == signup_id) & (ShiftSignup.shift == shift_id) & (ShiftSignup.status == "confirmed"))
        .first()
    )


async def mark(principal: Principal, shift_id: int, signup_id: int, attendance: str) -> Outcome:
    """The leader (or an officer of the grid) marks a volunteer present or a no-show, e.g. for
    someone without their phone; the minutes follow (see domain.served_minutes), except minutes
    the leader corrected by hand, which "present" keeps. "Present" tells the volunteer."""
    if attendance not in rules.ATTENDANCE:
        return refused(N_("Choose present or no-show."))
    row = await _led_shift(principal, shift_id)
    if isinstance(row, Outcome):
        return row
    async with write_transaction(ShiftSignup._meta.db):
        signup = await _confirmed_signup(shift_id, signup_id)
        if signup is None:
            return refused(N_("This volunteer does not have a place on this shift."))
        minutes = rules.served_minutes(
            row["starts_at"], row["ends_at"], signup["check_in_at"], signup["check_out_at"], attendance
        )
        if attendance == "present" and signup["minutes_reason"]:
            minutes = signup["minutes"]
        await ShiftSignup.update(
            {ShiftSignup.attendance: attendance, ShiftSignup.marked_by: principal.id, ShiftSignup.minutes: minutes}
        ).where(ShiftSignup.id == signup_id)
        await audit.record(
            audit.actor_of(principal),
            "mark_attendance",
            "patrol_shift",
            shift_id,
            {
                "signup": [None, signup_id],
                "attendance": [signup["attendance"] or None, attendance],
                "minutes": [signup["minutes"], minutes],
            },
        )
        if attendance == "present" and signup["attendance"] != "present":
            await _tell_confirmed(signup["person"], row)
    return Outcome(ok=True)


async def _tell_confirmed(person: int, shift: dict) -> None:
    """Inside the caller's transaction: the volunteer hears the leader confirmed them."""
    await notifications.add(
        [
            New(
                person=person,
                kind="attendance_confirmed",
                text=shift["meeting_point"],
                url=f"/volunteers/shifts/{shift['id']}",
            )
        ]
    )


async def correct_minutes(principal: Principal, shift_id: int, signup_id: int, raw: dict) -> Outcome:
    """The leader (or an officer of the grid) corrects the minutes a sign-up counts for, with a
    reason; audited with both numbers. A correction confirms the volunteer was there (it marks
    them present when nobody had marked them yet)."""
    row = await _led_shift(principal, shift_id)
    if isinstance(row, Outcome):
        return row
    checked = rules.check_correction(raw)
    if checked.errors:
        return Outcome(errors=checked.errors)
    minutes, reason = checked.values["minutes"], checked.values["reason"]
    async with write_transaction(ShiftSignup._meta.db):
        signup = await _confirmed_signup(shift_id, signup_id)
        if signup is None:
            return refused(N_("This volunteer does not have a place on this shift."))
        attendance = signup["attendance"] or ("present" if minutes > 0 else "")
        await ShiftSignup.update(
            {
                ShiftSignup.minutes: minutes,
                ShiftSignup.minutes_reason: reason,
                ShiftSignup.attendance: attendance,
                ShiftSignup.marked_by: principal.id,
            }
        ).where(ShiftSignup.id == signup_id)
        await audit.record(
            audit.actor_of(principal),
            "correct_minutes",
            "patrol_shift",
            shift_id,
            {"signup": [None, signup_id], "minutes": [signup["minutes"], minutes], "reason": [None, reason]},
        )
        if attendance == "present" and signup["attendance"] != "present":
            await _tell_confirmed(signup["person"], row)
    return Outcome(ok=True)


async def close_overdue() -> int:
    """Sign-ups checked in but never checked out, past the check-out grace: closed at the
    planned end and flagged for the leader. A job (services/jobs.py): several processes may
    run it at once, and each sign-up is closed (and audited) once, by the update that finds
    it still open."""
    cutoff = common.now() - rules.CHECK_OUT_GRACE
    open_rows = await ShiftSignup.select(
        ShiftSignup.id,
        ShiftSignup.shift,
        ShiftSignup.check_in_at,
        ShiftSignup.attendance,
        ShiftSignup.shift.starts_at.as_alias("starts_at"),
        ShiftSignup.shift.ends_at.as_alias("ends_at"),
    ).where(
        ShiftSignup.check_in_at.is_not_null()
        & ShiftSignup.check_out_at.is_null()
        & (ShiftSignup.status == "confirmed")
        & (ShiftSignup.shift.ends_at < cutoff)
    )
    if not open_rows:
        return 0
    async with write_transaction(ShiftSignup._meta.db):
        for r in open_rows:
            end = max(r["ends_at"], r["check_in_at"])
            minutes = rules.served_minutes(r["starts_at"], r["ends_at"], r["check_in_at"], end, r["attendance"])
            done = (
                await ShiftSignup.update(
                    {ShiftSignup.check_out_at: end, ShiftSignup.auto_closed: True, ShiftSignup.minutes: minutes}
                )
                .where((ShiftSignup.id == r["id"]) & ShiftSignup.check_out_at.is_null())
                .returning(ShiftSignup.id)
            )
            if done:
                await audit.record(
                    audit.SYSTEM,
                    "auto_close",
                    "patrol_shift",
                    r["shift"],
                    {"signup": [None, r["id"]], "minutes": [None, minutes]},
                )
    return len(open_rows)
