"""Routing rules (分流转办清单): which agency a non-police matter goes to, and by when it must be
accepted (签收) and finished (办结). Pure: no database, no clock (services pass `now` in).

A rule is (kind of matter, category) × unit → agency. The unit is a grid, an office or a
whole station; the most specific rule that covers the matter's place wins. Deadlines are in
hours (the clock runs day and night) or in working days, which follow China's holiday calendar
(days off and the make-up workdays 调休), in Beijing time: the calendar is China's."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.i18n import N_, too_long

TIME_ZONE = ZoneInfo("Asia/Shanghai")
KINDS = {"report": N_("Resident report"), "call": N_("110 call")}
UNITS = {"hours": N_("hours"), "workdays": N_("working days")}
MAX_HOURS = 24 * 90
MAX_WORKDAYS = 60
MAX_NOTE = 200

# Why an agency sends a matter back (退回); the text beside it says more.
RETURN_REASONS = {
    "not_ours": N_("Not ours to handle"),
    "wrong_address": N_("Wrong or unclear address"),
    "need_info": N_("Need more information"),
    "duplicate": N_("Already handled (duplicate)"),
    "other": N_("Other"),
}

# China's official holidays (国务院办公厅通知) as (day, is a workday, name). 2026 is the notice
# of 4 Nov 2025; 2027 is provisional (the notice was not out when this was written): the
# statutory days only, without make-up workdays, for the admin to correct.
HOLIDAYS_2026 = [
    *[(date(2026, 1, d), False, "元旦") for d in (1, 2, 3)],
    (date(2026, 1, 4), True, "元旦调休上班"),
    (date(2026, 2, 14), True, "春节调休上班"),
    *[(date(2026, 2, d), False, "春节") for d in range(15, 24)],
    (date(2026, 2, 28), True, "春节调休上班"),
    *[(date(2026, 4, d), False, "清明节") for d in (4, 5, 6)],
    *[(date(2026, 5, d), False, "劳动节") for d in range(1, 6)],
    (date(2026, 5, 9), True, "劳动节调休上班"),
    *[(date(2026, 6, d), False, "端午节") for d in (19, 20, 21)],
    (date(2026, 9, 20), True, "国庆节调休上班"),
    *[(date(2026, 9, d), False, "中秋节") for d in (25, 26, 27)],
    *[(date(2026, 10, d), False, "国庆节") for d in range(1, 8)],
    (date(2026, 10, 10), True, "国庆节调休上班"),
]
HOLIDAYS_2027_PROVISIONAL = [
    (date(2027, 1, 1), False, "元旦"),
    *[(date(2027, 2, d), False, "春节") for d in (5, 6, 7, 8)],
    (date(2027, 4, 5), False, "清明节"),
    *[(date(2027, 5, d), False, "劳动节") for d in (1, 2)],
    (date(2027, 6, 9), False, "端午节"),
    (date(2027, 9, 15), False, "中秋节"),
    *[(date(2027, 10, d), False, "国庆节") for d in (1, 2, 3)],
]


@dataclass(frozen=True)
class Calendar:
    """Days off and make-up workdays; any other day is a workday from Monday to Friday."""

    days_off: frozenset[date] = field(default_factory=frozenset)
    workdays: frozenset[date] = field(default_factory=frozenset)

    @classmethod
    def of(cls, entries) -> "Calendar":
        """From (day, is a workday) pairs."""
        entries = list(entries)
        return cls(frozenset(d for d, work in entries if not work), frozenset(d for d, work in entries if work))

    def is_workday(self, day: date) -> bool:
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.days_off


def due(start: datetime, amount: int, unit: str, calendar: Calendar) -> datetime:
    """The deadline for a step begun at `start`. Hours: that many hours later. Working days: the
    end (24:00 Beijing time) of the `amount`-th working day after the day it began, so a matter
    that arrives on Friday with 1 working day is due at the end of Monday, and one that arrives
    on a holiday counts from the first day back."""
    if unit == "hours":
        return start + timedelta(hours=amount)
    day = start.astimezone(TIME_ZONE).date()
    left = amount
    while left > 0:
        day += timedelta(days=1)
        if calendar.is_workday(day):
            left -= 1
    return datetime.combine(day + timedelta(days=1), time(), TIME_ZONE)


@dataclass(frozen=True)
class Rule:
    id: int
    kind: str
    category: str
    agency: int
    station: int | None = None
    office: int | None = None
    grid: int | None = None


def specificity(rule: Rule) -> int:
    return 3 if rule.grid else 2 if rule.office else 1


def choose(
    rules: list[Rule], kind: str, category: str, station: int, office: int | None, grid: int | None
) -> Rule | None:
    """The most specific active rule covering the place (grid, then office, then station);
    `rules` are the active ones. None: no rule, the police unit handles it."""
    fitting = [
        r
        for r in rules
        if r.kind == kind
        and r.category == category
        and (
            (r.grid is not None and r.grid == grid)
            or (r.grid is None and r.office is not None and r.office == office)
            or (r.grid is None and r.office is None and r.station == station)
        )
    ]
    return max(fitting, key=specificity, default=None)


def missed(agency_state: str, accept_due: datetime | None, finish_due: datetime | None) -> datetime | None:
    """The deadline that counts now for a matter with an agency: to accept while new, to finish
    until answered; None once it is answered or returned."""
    if agency_state == "new":
        return min(d for d in (accept_due, finish_due) if d) if (accept_due or finish_due) else None
    return finish_due if agency_state == "accepted" else None


def standing(
    agency_state: str,
    accept_due: datetime | None,
    finish_due: datetime | None,
    now: datetime,
    escalate_after: timedelta,
) -> str:
    """on_time | overdue (a deadline passed: flagged for the agency) | escalated (past it by
    `escalate_after` too: the station's supervisor is to act)."""
    deadline = missed(agency_state, accept_due, finish_due)
    if deadline is None or now <= deadline:
        return "on_time"
    return "escalated" if now > deadline + escalate_after else "overdue"


# --- the admin's form ---------------------------------------------------------------------------


def _amount(text: str, unit: str, errors: dict, key: str) -> int | None:
    value = str(text or "").strip()
    if not value.lstrip("-").isdecimal():
        errors[key] = N_("Enter a whole number")
        return None
    number = int(value)
    limit = MAX_HOURS if unit == "hours" else MAX_WORKDAYS
    if number <= 0:
        errors[key] = N_("Must be more than zero")
    elif number > limit:
        errors[key] = N_("Too long for a deadline")
    return number


def check_rule(
    raw: dict, categories: set[str], units: dict[str, int], agencies: set[int], taken: set[tuple[str, str, str]]
) -> tuple[dict, dict[str, str]]:
    """(values, errors) for a rule. `categories`: the codes of its kind; `units`: 'grid:3' → the
    station it lies in; `agencies`: the active agencies; `taken`: (kind, category, unit) of the
    other active rules."""
    values: dict = {}
    errors: dict[str, str] = {}
    kind = str(raw.get("kind", "")).strip()
    if kind not in KINDS:
        errors["kind"] = N_("Choose one")
    values["kind"] = kind
    category = str(raw.get("category", "")).strip()
    if kind == "call" and category and len(category) <= 60:
        pass  # a call category is the call system's own words
    elif kind != "call" and category in categories:
        pass
    else:
        errors["category"] = N_("Choose the category")
    values["category"] = category
    unit = str(raw.get("unit", "")).strip()
    if unit not in units:
        errors["unit"] = N_("Choose the grid, office or station")
    values["unit"] = unit
    agency = str(raw.get("agency", "")).strip()
    if not agency:
        errors["agency"] = N_("Choose the agency")
    elif not agency.isdecimal() or int(agency) not in agencies:
        errors["agency"] = N_("This agency is retired or unknown")
    else:
        values["agency"] = int(agency)
    for step in ("accept", "finish"):
        step_unit = str(raw.get(f"{step}_unit", "")).strip()
        if step_unit not in UNITS:
            errors[f"{step}_unit"] = N_("Choose one")
        values[f"{step}_unit"] = step_unit
        values[f"{step}_amount"] = _amount(raw.get(f"{step}_amount", ""), step_unit, errors, f"{step}_amount")
    note = str(raw.get("note", "")).strip()
    if len(note) > MAX_NOTE:
        errors["note"] = too_long(MAX_NOTE)
    values["note"] = note
    if not errors and (kind, category, unit) in taken:
        errors["unit"] = N_("A rule for this category and unit exists already: edit or retire that one")
    return values, errors


def check_return(raw: dict) -> tuple[dict, dict[str, str]]:
    """An agency's return (退回): a reason from the list, and words that say more."""
    reason = str(raw.get("reason", "")).strip()
    text = str(raw.get("text", "")).replace("\r\n", "\n").strip()
    errors: dict[str, str] = {}
    if reason not in RETURN_REASONS:
        errors["reason"] = N_("Choose why it comes back")
    if not text:
        errors["text"] = N_("Say why, so the next unit knows")
    elif len(text) > 2000:
        errors["text"] = N_("At most 2,000 characters")
    return {"reason": reason, "text": text}, errors


def check_holiday(raw: dict) -> tuple[dict, dict[str, str]]:
    """A calendar day: its date, day off or make-up workday, and its name."""
    errors: dict[str, str] = {}
    try:
        day = date.fromisoformat(str(raw.get("day", "")).strip())
    except ValueError:
        day = None
        errors["day"] = N_("Enter a date like 2027-02-06")
    kind = str(raw.get("workday", "")).strip()
    if kind not in ("0", "1"):
        errors["workday"] = N_("Choose one")
    name = str(raw.get("name", "")).strip()
    if not name:
        errors["name"] = N_("Required")
    elif len(name) > 40:
        errors["name"] = too_long(40)
    return {"day": day, "workday": kind == "1", "name": name}, errors


def rule_changes(before: dict, after: dict) -> dict:
    """{field: [before, after]} for the fields a rule's edit changed (its history)."""
    keys = ("agency", "accept_amount", "accept_unit", "finish_amount", "finish_unit", "note")
    return {k: [before.get(k), after.get(k)] for k in keys if before.get(k) != after.get(k)}
