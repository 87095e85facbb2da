"""Volunteers (平安志愿者): the application form, patrol shifts and their weekly series, the
sign-up, cancel and check-in windows, overlap, and the hours arithmetic.
Pure: no database, no clock. Services pass in "now", the settings and what exists."""

from __future__ import annotations

import math
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.domain import phone as phones
from app.i18n import N_, too_long

AVAILABILITY = {
    "weekdays": N_("Weekdays"),
    "evenings": N_("Evenings"),
    "weekends": N_("Weekends"),
}
SKILLS = {
    "first_aid": N_("First aid"),
    "languages": N_("Languages"),
    "driving": N_("Driving"),
}
STATUSES = {"pending": N_("Waiting for an officer"), "approved": N_("Approved"), "declined": N_("Declined")}
SIGNUP_STATUSES = {"confirmed": N_("Signed up"), "waiting": N_("Waiting list"), "cancelled": N_("Cancelled")}
ATTENDANCE = {"present": N_("Present"), "no_show": N_("No-show")}

# Check-in is open from 30 minutes before the start to 30 minutes after it.
CHECK_IN_BEFORE = timedelta(minutes=30)
CHECK_IN_AFTER = timedelta(minutes=30)
# A volunteer may still check out this long after the planned end; after that the shift is
# closed at its planned end and flagged for the leader.
CHECK_OUT_GRACE = timedelta(hours=1)
MAX_SHIFT = timedelta(hours=12)
MAX_WEEKS = 26  # a weekly series: at most half a year at once
MAX_VOLUNTEERS = 200
MAX_NAME = 50
MAX_SKILLS_NOTE = 100
MAX_ROUTE = 500
MAX_MEETING_POINT = 200
MAX_NOTES = 1000
MAX_REASON = 200
MAX_OBSERVATION = 1000
HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class Refusal:
    """Why something was refused: a message id and the values it names (times already local)."""

    message: str
    params: dict = field(default_factory=dict)


@dataclass
class Checked:
    values: dict = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def _text(raw: dict, name: str) -> str:
    value = raw.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def _list(raw: dict, name: str) -> list[str]:
    value = raw.get(name, [])
    if isinstance(value, str):
        value = [value] if value else []
    return [v for v in value if isinstance(v, str)]


def codes_column(codes: Collection[object]) -> str:
    """["a", "b"] -> ",a,b," (searchable with LIKE '%,a,%' on both engines)."""
    return "," + ",".join(sorted(str(c) for c in codes)) + "," if codes else ""


def codes_list(column: str) -> list[str]:
    return [c for c in (column or "").split(",") if c]


def ids_list(column: str) -> list[int]:
    return [int(c) for c in codes_list(column) if c.isdecimal()]


# --- the public application ------------------------------------------------------------------


def check_application(raw: dict, grids: set[int], offices: set[int]) -> Checked:
    """The registration form: name, phone, preferred grids or an office, availability, skills,
    consent. `grids` and `offices` are the active units one may choose."""
    out = Checked()
    name = _text(raw, "name")
    if not name:
        out.errors["name"] = N_("Required")
    elif len(name) > MAX_NAME:
        out.errors["name"] = too_long(MAX_NAME)
    phone = _text(raw, "phone")
    if not phone:
        out.errors["phone"] = N_("Required")
    elif not phones.is_valid(phone) or len(phones.normalise(phone)) < 7:
        out.errors["phone"] = N_("Not a phone number")
    chosen = {int(g) for g in _list(raw, "grids") if g.isdecimal()}
    office_text = _text(raw, "office")
    office = int(office_text) if office_text.isdecimal() else None
    if chosen - grids or (office is not None and office not in offices):
        out.errors["grids"] = N_("Choose from the list")
    elif not chosen and office is None:
        out.errors["grids"] = N_("Choose at least one grid, or an office")
    availability = [a for a in _list(raw, "availability") if a in AVAILABILITY]
    if not availability:
        out.errors["availability"] = N_("Choose at least one")
    skills = [s for s in _list(raw, "skills") if s in SKILLS]
    skills_note = _text(raw, "skills_note")
    if len(skills_note) > MAX_SKILLS_NOTE:
        out.errors["skills_note"] = too_long(MAX_SKILLS_NOTE)
    if _text(raw, "consent") != "yes":
        out.errors["consent"] = N_("Please read the notice and agree to it")
    out.values = {
        "name": name,
        "phone": phone,
        "grids": codes_column(chosen),
        "office": office,
        "availability": codes_column(availability),
        "skills": codes_column(skills),
        "skills_note": skills_note,
    }
    return out


def check_reason(text: str) -> str | None:
    text = (text or "").strip()
    if not text:
        return N_("Give a reason")
    if len(text) > MAX_REASON:
        return too_long(MAX_REASON)
    return None


# --- shifts and series -----------------------------------------------------------------------


@dataclass
class ShiftRules:
    """What the shift form may use: grids in the officer's scope, possible leaders, today."""

    grids: set[int]
    leaders: set[int]
    tz: str
    now: datetime
    min_confirmed: int = 0  # an edit may not set the maximum below the volunteers signed up
    editing: bool = False


def local_span(day: date, start: time, end: time, tz: str) -> tuple[datetime, datetime]:
    """A start and end on a local day, in UTC; an end at or before the start is the next day
    (a night patrol 22:00–02:00)."""
    zone = ZoneInfo(tz)
    starts = datetime.combine(day, start, zone)
    end_day = day + timedelta(days=1) if end <= start else day
    ends = datetime.combine(end_day, end, zone)
    return starts.astimezone(UTC), ends.astimezone(UTC)


def _hhmm(text: str) -> time | None:
    match = HHMM.match(text)
    return time(int(match.group(1)), int(match.group(2))) if match else None


def _whole(raw: dict, name: str, out: Checked, low: int, high: int, message: str) -> int | None:
    text = _text(raw, name)
    if not text:
        out.errors[name] = N_("Required")
        return None
    if not text.isdecimal():
        out.errors[name] = N_("Enter a whole number")
        return None
    value = int(text)
    if not low <= value <= high:
        out.errors[name] = message
        return None
    return value


def check_shift(raw: dict, rules: ShiftRules) -> Checked:
    """The shift form: date, start and end times, grids, route, meeting point, min/max,
    leader, notes and (when creating) how many weeks to repeat."""
    out = Checked()
    try:
        day = date.fromisoformat(_text(raw, "day"))
    except ValueError:
        day = None
        out.errors["day"] = N_("Not a date")
    start, end = _hhmm(_text(raw, "start")), _hhmm(_text(raw, "end"))
    if start is None:
        out.errors["start"] = N_("Enter a time like 19:30")
    if end is None:
        out.errors["end"] = N_("Enter a time like 19:30")
    if day and start and end:
        starts_at, ends_at = local_span(day, start, end, rules.tz)
        if ends_at - starts_at > MAX_SHIFT:
            out.errors["end"] = N_("A shift lasts at most 12 hours")
        elif starts_at < rules.now - timedelta(minutes=5) and not rules.editing:
            out.errors["day"] = N_("The shift cannot start in the past")
        out.values.update(starts_at=starts_at, ends_at=ends_at)
    grids = sorted({int(g) for g in _list(raw, "grids") if g.isdecimal()})
    if not grids:
        out.errors["grids"] = N_("Choose at least one grid")
    elif set(grids) - rules.grids:
        out.errors["grids"] = N_("Choose from the list")
    out.values["grids"] = grids
    for name, limit, required in (
        ("route", MAX_ROUTE, True),
        ("meeting_point", MAX_MEETING_POINT, True),
        ("notes", MAX_NOTES, False),
    ):
        value = _text(raw, name)
        if required and not value:
            out.errors[name] = N_("Required")
        elif len(value) > limit:
            out.errors[name] = too_long(limit)
        out.values[name] = value
    low = _whole(raw, "min_volunteers", out, 1, MAX_VOLUNTEERS, N_("Enter a number from 1 to 200"))
    high = _whole(raw, "max_volunteers", out, 1, MAX_VOLUNTEERS, N_("Enter a number from 1 to 200"))
    if low is not None and high is not None:
        if high < low:
            out.errors["max_volunteers"] = N_("The maximum must be at least the minimum")
        elif high < rules.min_confirmed:
            out.errors["max_volunteers"] = N_("More volunteers have already signed up; cancel the shift instead")
    out.values.update(min_volunteers=low, max_volunteers=high)
    leader = _text(raw, "leader")
    if not leader:
        out.values["leader"] = None
    elif leader.isdecimal() and int(leader) in rules.leaders:
        out.values["leader"] = int(leader)
    else:
        out.errors["leader"] = N_("Choose from the list")
    if not rules.editing:
        weeks = _whole(raw, "weeks", out, 1, MAX_WEEKS, N_("Enter a number from 1 to 26")) if _text(raw, "weeks") else 1
        out.values["weeks"] = weeks or 1
    return out


def series_spans(starts_at: datetime, ends_at: datetime, weeks: int, tz: str) -> list[tuple[datetime, datetime]]:
    """The same local times on the same weekday for `weeks` weeks (daylight saving safe)."""
    zone = ZoneInfo(tz)
    local_start, local_end = starts_at.astimezone(zone), ends_at.astimezone(zone)
    spans = []
    for week in range(weeks):
        day = local_start.date() + timedelta(weeks=week)
        spans.append(local_span(day, local_start.time(), local_end.time(), tz))
    return spans


def moved_to_day(
    template_start: datetime, template_end: datetime, other_start: datetime, tz: str
) -> tuple[datetime, datetime]:
    """An edited series: the edited shift's local times, on another shift's own local day."""
    zone = ZoneInfo(tz)
    day = other_start.astimezone(zone).date()
    return local_span(day, template_start.astimezone(zone).time(), template_end.astimezone(zone).time(), tz)


# --- sign-up, cancel, check-in ---------------------------------------------------------------


def overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    """Two shifts overlap when one starts before the other ends (touching ends do not)."""
    return a_start < b_end and b_start < a_end


def sign_up_opens(starts_at: datetime, open_days: float) -> datetime:
    return starts_at - timedelta(days=open_days)


def signup_refusal(starts_at: datetime, cancelled: bool, now: datetime, open_days: float) -> Refusal | None:
    if cancelled:
        return Refusal(N_("This shift has been cancelled."))
    if now >= starts_at:
        return Refusal(N_("This shift has already started: sign-up is closed."))
    opens = sign_up_opens(starts_at, open_days)
    if now < opens:
        return Refusal(N_("Sign-up opens on %(when)s."), {"when": opens})
    return None


# What a signed-up volunteer must check again when a shift is edited: when and where.
NOTICED_CHANGES = {"starts_at", "ends_at", "grid", "grids", "route", "meeting_point"}


def cancel_deadline(starts_at: datetime, cancel_hours: float) -> datetime:
    return starts_at - timedelta(hours=cancel_hours)


def withdraw_refusal(starts_at: datetime, confirmed: bool, now: datetime, cancel_hours: float) -> Refusal | None:
    """A place may be given back until `cancel_hours` before the start; a place on the waiting
    list may be left until the start."""
    if now >= starts_at:
        return Refusal(N_("This shift has already started."))
    deadline = cancel_deadline(starts_at, cancel_hours)
    if confirmed and now >= deadline:
        return Refusal(
            N_("It is too late to cancel here (the limit was %(when)s). Please tell the shift leader."),
            {"when": deadline},
        )
    return None


def check_in_window(starts_at: datetime) -> tuple[datetime, datetime]:
    return starts_at - CHECK_IN_BEFORE, starts_at + CHECK_IN_AFTER


def check_in_refusal(starts_at: datetime, now: datetime) -> Refusal | None:
    opens, closes = check_in_window(starts_at)
    if now < opens:
        return Refusal(N_("Too early: check-in opens at %(when)s, 30 minutes before the start."), {"when": opens})
    if now > closes:
        return Refusal(
            N_(
                "Too late: check-in closed at %(when)s, 30 minutes after the start. Ask the leader to mark you present."
            ),
            {"when": closes},
        )
    return None


def check_out_closes(ends_at: datetime) -> datetime:
    return ends_at + CHECK_OUT_GRACE


def check_out_refusal(starts_at: datetime, ends_at: datetime, now: datetime) -> Refusal | None:
    """Check-out counts time served: not before the shift starts, nor after check-out closed."""
    if now < starts_at:
        return Refusal(
            N_("The shift has not started yet: you can check out from %(when)s, its start."), {"when": starts_at}
        )
    if now > check_out_closes(ends_at):
        return Refusal(N_("Check-out has closed: the shift was closed at its planned end."))
    return None


MAX_CORRECTED_MINUTES = 24 * 60


def check_correction(raw: dict) -> Checked:
    """The leader's corrected minutes (a whole number, 0 to a day) and the reason (required)."""
    out = Checked()
    text = _text(raw, "minutes")
    if not text.isdecimal() or int(text) > MAX_CORRECTED_MINUTES:
        out.errors["minutes"] = N_("A whole number of minutes from 0 to 1440")
    else:
        out.values["minutes"] = int(text)
    reason = check_reason(_text(raw, "reason"))
    if reason:
        out.errors["reason"] = reason
    else:
        out.values["reason"] = _text(raw, "reason")
    return out


def should_auto_close(ends_at: datetime, now: datetime) -> bool:
    """A shift checked in but not out is closed at its planned end once check-out has closed."""
    return now > check_out_closes(ends_at)


# --- hours -----------------------------------------------------------------------------------


def minutes_between(start: datetime, end: datetime) -> int:
    """Whole minutes served, each started minute counted (5 s on the spot is 1 minute; 0 s is 0)."""
    seconds = (end - start).total_seconds()
    return max(0, math.ceil(seconds / 60))


def served_minutes(
    starts_at: datetime, ends_at: datetime, check_in: datetime | None, check_out: datetime | None, attendance: str
) -> int:
    """The minutes a sign-up counts for: 0 for a no-show; check-in to check-out when both are
    there; the planned length when the leader marked the volunteer present without them."""
    if attendance == "no_show":
        return 0
    if check_in is not None and check_out is not None:
        return minutes_between(check_in, check_out)
    if attendance == "present":
        return minutes_between(starts_at, ends_at)
    return 0


def actual_span(check_in: datetime | None, check_out: datetime | None, zone: ZoneInfo) -> str:
    """ "18:02–19:40", local: when the volunteer was really there ("" without both times)."""
    if check_in is None or check_out is None:
        return ""
    return f"{check_in.astimezone(zone):%H:%M}–{check_out.astimezone(zone):%H:%M}"


CERTIFICATE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud or typed from paper
CERTIFICATE_CODE_LENGTH = 10


def certificate_code_shape(code: str) -> str | None:
    """The code as stored (upper case), or None when it cannot be one (nothing to look up)."""
    code = (code or "").strip().upper()
    if len(code) != CERTIFICATE_CODE_LENGTH or any(c not in CERTIFICATE_ALPHABET for c in code):
        return None
    return code


def public_name(name: str) -> str:
    """A name as a public page shows it: the first and last characters, the rest starred
    (赵志愿 → 赵*愿, 王五 → 王*), so a reader who knows the person recognises them and a
    stranger learns little."""
    name = " ".join((name or "").split())
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def hours_and_minutes(minutes: int) -> tuple[int, int]:
    return divmod(max(0, int(minutes)), 60)


def decimal_hours(minutes: int) -> str:
    """For CSV files: hours with two decimals (95 min -> "1.58")."""
    return f"{minutes / 60:.2f}"


def month_of(moment: datetime, tz: str) -> str:
    """2026-11: the local month a shift started in."""
    local = moment.astimezone(ZoneInfo(tz))
    return f"{local.year:04d}-{local.month:02d}"


def local_day_bounds(since: date | None, until: date | None, tz: str) -> tuple[datetime | None, datetime | None]:
    """A local date range (inclusive) as UTC instants [start, end)."""
    zone = ZoneInfo(tz)
    start = datetime.combine(since, time.min, zone).astimezone(UTC) if since else None
    end = datetime.combine(until + timedelta(days=1), time.min, zone).astimezone(UTC) if until else None
    return start, end
