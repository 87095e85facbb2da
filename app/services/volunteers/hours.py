"""The hours ledger: a volunteer's served shifts and hours, the certificate, the officers'
totals and the CSV export."""

from __future__ import annotations

import secrets
from datetime import date, datetime

from app.db import write_transaction
from app.domain import csv_export
from app.domain import phone as phones
from app.domain import volunteers as rules
from app.domain.access import Principal
from app.services import audit
from app.services.volunteers import common
from app.services.volunteers.common import staff_grids, zone
from app.tables import (
    Person,
    PersonRole,
    ShiftSignup,
    VolunteerCertificate,
)

# --- hours ledger, certificate, totals, export ---------------------------------------------------


async def may_see_person(principal: Principal, person_id: int) -> bool:
    """Volunteers see their own record only; officers the volunteers of their grids."""
    if person_id == principal.id:
        return True
    grids = await staff_grids(principal)
    return bool(grids) and await PersonRole.exists().where(
        (PersonRole.person == person_id) & (PersonRole.role == "volunteer") & PersonRole.grid.is_in(list(grids))
    )


def _served_or_started():
    """Sign-ups the ledger counts: shifts that have started, or where the volunteer already
    checked in (check-in opens 30 minutes before the start)."""
    return (ShiftSignup.shift.starts_at <= common.now()) | ShiftSignup.check_in_at.is_not_null()


async def ledger(principal: Principal, person_id: int, since: date | None, until: date | None, tz: str) -> dict | None:
    """One volunteer's shifts that have started, with the minutes each counts for."""
    if not await may_see_person(principal, person_id):
        return None
    start, end = rules.local_day_bounds(since, until, tz)
    query = (
        ShiftSignup.select(
            ShiftSignup.all_columns(),
            ShiftSignup.shift.starts_at.as_alias("starts_at"),
            ShiftSignup.shift.ends_at.as_alias("ends_at"),
            ShiftSignup.shift.grid.name.as_alias("grid_name"),
            ShiftSignup.shift.meeting_point.as_alias("meeting_point"),
            ShiftSignup.shift.cancelled_at.as_alias("shift_cancelled_at"),
        )
        .where(
            (ShiftSignup.person == person_id)
            & (ShiftSignup.status == "confirmed")
            & ShiftSignup.shift.cancelled_at.is_null()
            & _served_or_started()
        )
        .order_by(ShiftSignup.shift.starts_at)
    )
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
        r["confirmed"] = r["attendance"] == "present" and r["minutes"] > 0  # what a certificate counts
        # The time really served: check-in to check-out; the planned time when the leader
        # marked the volunteer present without them.
        r["actual"] = rules.actual_span(r["check_in_at"], r["check_out_at"], zone_) or (
            f"{r['start_local']:%H:%M}–{r['end_local']:%H:%M}"
        )
    total = sum(r["minutes"] for r in rows)
    confirmed = [r for r in rows if r["confirmed"]]
    person = await Person.select(Person.id, Person.name).where(Person.id == person_id).first()
    return {
        "confirmed_rows": confirmed,
        "confirmed_minutes": sum(r["minutes"] for r in confirmed),
        "unconfirmed": sum(1 for r in rows if r["minutes"] > 0 and not r["confirmed"]),
        "person": person,
        "rows": rows,
        "minutes": total,
        "hm": rules.hours_and_minutes(total),
        "served": sum(1 for r in rows if r["minutes"] > 0),
        "no_shows": sum(1 for r in rows if r["no_show"]),
        "since": since,
        "until": until,
        "station": await station_of_volunteer(person_id),
    }


async def station_of_volunteer(person_id: int) -> str:
    row = (
        await PersonRole.select(PersonRole.grid.office.station.name.as_alias("station"))
        .where((PersonRole.person == person_id) & (PersonRole.role == "volunteer"))
        .order_by(PersonRole.id)
        .first()
    )
    return row["station"] if row and row["station"] else ""


async def _scoped_signups(principal: Principal, since: date | None, until: date | None, tz: str) -> list[dict]:
    grids = await staff_grids(principal)
    start, end = rules.local_day_bounds(since, until, tz)
    query = (
        ShiftSignup.select(
            ShiftSignup.all_columns(),
            ShiftSignup.person.name.as_alias("name"),
            ShiftSignup.person.phone.as_alias("phone"),
            ShiftSignup.shift.starts_at.as_alias("starts_at"),
            ShiftSignup.shift.ends_at.as_alias("ends_at"),
            ShiftSignup.shift.grid.as_alias("grid"),
            ShiftSignup.shift.grid.name.as_alias("grid_name"),
        )
        .where(
            (ShiftSignup.status == "confirmed")
            & ShiftSignup.shift.cancelled_at.is_null()
            & ShiftSignup.shift.grid.is_in(list(grids) or [-1])
            & _served_or_started()
        )
        .order_by(ShiftSignup.shift.starts_at)
    )
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
        g = groups.setdefault(
            key, {"month": key[0], "grid_name": key[1], "shifts": set(), "people": set(), "minutes": 0, "no_shows": 0}
        )
        g["shifts"].add(r["shift"])
        g["people"].add(r["person"])
        g["minutes"] += r["minutes"]
        g["no_shows"] += r["attendance"] == "no_show"
    out = []
    for key in sorted(groups, key=lambda k: (k[0], k[1]), reverse=False):
        g = groups[key]
        out.append(
            {**g, "shifts": len(g["shifts"]), "people": len(g["people"]), "hm": rules.hours_and_minutes(g["minutes"])}
        )
    return sorted(out, key=lambda g: g["month"], reverse=True)


EXPORT_COLUMNS = [
    "month",
    "grid",
    "shift_start",
    "shift_end",
    "volunteer",
    "phone",
    "check_in",
    "check_out",
    "attendance",
    "auto_closed",
    "minutes",
    "hours",
]


async def export_csv(principal: Principal, since: date | None, until: date | None, tz: str) -> str:
    """One line per volunteer and shift (the totals page adds these up); phones masked; UTF-8
    with a BOM for Excel. Audited with its row count."""
    rows = await _scoped_signups(principal, since, until, tz)
    zone_ = zone(tz)

    def when(value: datetime | None) -> str:
        return value.astimezone(zone_).isoformat(timespec="minutes") if value else ""

    text = csv_export.render(
        EXPORT_COLUMNS,
        (
            [
                rules.month_of(r["starts_at"], tz),
                r["grid_name"],
                when(r["starts_at"]),
                when(r["ends_at"]),
                r["name"],
                phones.mask(r["phone"]) if r["phone"] else "",
                when(r["check_in_at"]),
                when(r["check_out_at"]),
                r["attendance"],
                "yes" if r["auto_closed"] else "",
                r["minutes"],
                rules.decimal_hours(r["minutes"]),
            ]
            for r in rows
        ),
    )
    async with write_transaction(ShiftSignup._meta.db):
        await audit.record(
            audit.actor_of(principal),
            "export",
            "volunteer_hours",
            "",
            {"rows": [None, len(rows)], "since": [None, str(since or "")], "until": [None, str(until or "")]},
        )
    return text


# --- certificates: issued, numbered, checked in public ------------------------------------------


def _new_code() -> str:
    return "".join(secrets.choice(rules.CERTIFICATE_ALPHABET) for _ in range(rules.CERTIFICATE_CODE_LENGTH))


async def issue_certificate(
    principal: Principal, person_id: int, since: date | None, until: date | None, tz: str
) -> str | None:
    """A new certificate of the hours a leader confirmed in the period: a number of its own
    (each issue is one document), what it certifies kept with it, audited. None: not yours."""
    ledger_ = await ledger(principal, person_id, since, until, tz)
    if ledger_ is None:
        return None
    async with write_transaction(VolunteerCertificate._meta.db):
        while True:  # 32^10 codes: a clash is a once-in-never event, but never a second holder
            code = _new_code()
            if not await VolunteerCertificate.exists().where(VolunteerCertificate.code == code):
                break
        await VolunteerCertificate.insert(
            VolunteerCertificate(
                code=code,
                person=person_id,
                since=since,
                until=until,
                served=len(ledger_["confirmed_rows"]),
                minutes=ledger_["confirmed_minutes"],
                station=ledger_["station"],
                issued_by=principal.id,
                issued_at=common.now(),
            )
        )
        await audit.record(
            audit.actor_of(principal),
            "issue",
            "volunteer_certificate",
            code,
            {"person": [None, person_id], "minutes": [None, ledger_["confirmed_minutes"]]},
        )
    return code


async def certificate(principal: Principal, code: str, tz: str) -> dict | None:
    """An issued certificate for its holder or their officers: what it certified, and the
    confirmed shifts of its period served before it was issued."""
    code_ = rules.certificate_code_shape(code)
    row = code_ and await VolunteerCertificate.select().where(VolunteerCertificate.code == code_).first()
    if not row:
        return None
    ledger_ = await ledger(principal, row["person"], row["since"], row["until"], tz)
    if ledger_ is None:
        return None
    rows = [r for r in ledger_["confirmed_rows"] if r["starts_at"] <= row["issued_at"]]
    return {
        **row,
        "person_name": ledger_["person"]["name"] if ledger_["person"] else "",
        "rows": rows,
        "hm": rules.hours_and_minutes(row["minutes"]),
        "issued_local": row["issued_at"].astimezone(zone(tz)),
        "first_local": rows[0]["start_local"] if rows else None,
    }


async def verify_certificate(code: str, tz: str) -> dict | None:
    """What the public check page shows: the name masked, the hours and the date; nothing else."""
    code_ = rules.certificate_code_shape(code)
    if code_ is None:
        return None
    row = (
        await VolunteerCertificate.select(
            VolunteerCertificate.code,
            VolunteerCertificate.minutes,
            VolunteerCertificate.issued_at,
            VolunteerCertificate.person.name.as_alias("name"),
        )
        .where(VolunteerCertificate.code == code_)
        .first()
    )
    if row is None:
        return None
    return {
        "code": row["code"],
        "name": rules.public_name(row["name"] or ""),
        "hm": rules.hours_and_minutes(row["minutes"]),
        "issued_local": row["issued_at"].astimezone(zone(tz)),
    }
