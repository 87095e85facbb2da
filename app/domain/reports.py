"""Resident reports (群众诉求): codes, statuses, the steps staff may take, what a resident may
send, ratings and the reopen rule, and the Open311 mapping. Pure: no database, no clock
(services pass `now` in)."""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from app.domain import phone as phones
from app.i18n import N_, too_long

# Codes people read, type and scan: no 0/O or 1/I look-alikes. 32^8 ≈ 1.1 × 10^12 codes.
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
CODE = re.compile(rf"^[{ALPHABET}]{{{CODE_LENGTH}}}$")

MAX_DESCRIPTION = 2000
MAX_COMMENT = 500
MAX_REPLY = 2000
MAX_PHONE = 32
REOPEN_WINDOW = timedelta(days=7)
UNSATISFIED = 2  # a rating of this or less reopens the report (once, within the window)
HONEYPOT = "website"  # a field people never see; bots fill it in

STATUSES = {
    "received": N_("Waiting to be accepted"),
    "accepted": N_("Accepted"),
    "in_progress": N_("In progress"),
    "transferred": N_("Transferred"),
    "done": N_("Done"),
    "closed": N_("Closed"),
}
OPEN_STATUSES = ("received", "accepted", "in_progress", "transferred")
FINISHED_STATUSES = ("done", "closed")

# Timeline steps: (label, shown to the resident)
STEPS = {
    "received": (N_("Report received"), True),
    "joined": (N_("Another resident reported this too"), True),
    "accepted": (N_("Accepted"), True),
    "assigned": (N_("In progress"), True),
    "transferred": (N_("Transferred to %(agency)s"), True),
    "reply": (N_("Reply"), True),
    "note": (N_("Internal note"), False),
    "done": (N_("Done"), True),
    "closed": (N_("Closed"), True),
    "rated": (N_("Rated"), False),
    "reopened": (N_("Reopened for review"), True),
    # An agency's steps (the agency is the step's): accepted, its internal note, its answer, and
    # a return. A return's and a transfer's reasons are for staff: the resident sees the step only.
    "agency_accepted": (N_("Accepted by %(agency)s"), True),
    "agency_note": (N_("Agency's internal note"), False),
    "answered": (N_("Answered by %(agency)s"), True),
    "returned": (N_("Returned by %(agency)s"), True),
    "taken_back": (N_("Taken back from %(agency)s"), True),
    # Staff's correction of the category (the text names the old and the new one); a move to
    # another agency that it causes is its own public `transferred` step.
    "recategorised": (N_("Category changed"), False),
}
AGENCY_STEP_KINDS = ("agency_accepted", "answered", "returned", "transferred", "taken_back")
# Public steps whose text is for staff only (the reasons of transfers and returns).
TEXT_FOR_STAFF = ("transferred", "returned", "taken_back")

# Staff actions: the statuses each may start from and the status it leaves.
ACTIONS: dict[str, tuple[tuple[str, ...], str | None]] = {
    "accept": (("received",), "accepted"),
    "assign": (("received", "accepted", "in_progress", "transferred"), "in_progress"),
    "transfer": (("received", "accepted", "in_progress"), "transferred"),
    "reply": (("received", "accepted", "in_progress", "transferred", "done"), None),
    "note": (tuple(STATUSES), None),
    "done": (("received", "accepted", "in_progress", "transferred"), "done"),
    "close": (("received", "accepted", "in_progress", "transferred", "done"), "closed"),
    "take_back": (("transferred",), "accepted"),  # from the agency, to the police unit again
    "category": (("received", "accepted", "in_progress", "transferred"), None),  # may re-route (services)
}
ACTION_STEP = {
    "accept": "accepted",
    "assign": "assigned",
    "transfer": "transferred",
    "reply": "reply",
    "note": "note",
    "done": "done",
    "close": "closed",
    "take_back": "taken_back",
    "category": "recategorised",
}
# Actions whose text is required (a reply or note without words says nothing).
TEXT_REQUIRED = {"reply", "note", "transfer"}


def new_code() -> str:
    """A tracking or poster code: 8 characters from the unambiguous alphabet, from `secrets`."""
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(text: str) -> str | None:
    """What a person typed (lower case, spaces, dashes) to a code, or None when it cannot be one."""
    cleaned = re.sub(r"[\s\-]", "", (text or "")).upper()[: CODE_LENGTH + 4]
    return cleaned if CODE.match(cleaned) else None


def valid_uuid(text: str) -> str | None:
    try:
        return str(uuid.UUID(text.strip()))
    except (ValueError, AttributeError):
        return None


def may_act(action: str, status: str) -> bool:
    return action in ACTIONS and status in ACTIONS[action][0]


def next_status(action: str, status: str) -> str:
    target = ACTIONS[action][1]
    return target or status


# --- what a resident sends ---------------------------------------------------------------------


@dataclass
class Submission:
    values: dict = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def _number(text: str, low: float, high: float) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if low <= value <= high else None


def check_submission(raw: dict, categories: dict[str, int]) -> Submission:
    """The public form (or an Open311 post): category code, description, optional phone and
    location. `categories`: active category codes -> ids."""
    out = Submission()
    if str(raw.get(HONEYPOT, "")).strip():
        out.errors["form"] = N_("Your report could not be sent. Please try again.")
        return out
    code = str(raw.get("category", "")).strip()
    if code not in categories:
        out.errors["category"] = N_("Choose what the problem is about")
    else:
        out.values["category"] = categories[code]
    text = str(raw.get("description", "")).replace("\r\n", "\n").strip()
    if not text:
        out.errors["description"] = N_("Describe the problem in a few words")
    elif len(text) > MAX_DESCRIPTION:
        out.errors["description"] = N_("At most 2,000 characters")
    out.values["description"] = text
    phone = str(raw.get("phone", "")).strip()
    if phone and (len(phone) > MAX_PHONE or not phones.is_valid(phone)):
        out.errors["phone"] = N_("Enter a phone number, or leave it empty")
    out.values["phone"] = phone
    lat, lon = str(raw.get("lat", "")).strip(), str(raw.get("lon", "")).strip()
    out.values["lat"] = out.values["lon"] = out.values["accuracy"] = None
    if lat or lon:
        la, lo = _number(lat, -90, 90), _number(lon, -180, 180)
        if la is None or lo is None:
            out.errors["location"] = N_("The location could not be read")
        else:
            out.values["lat"], out.values["lon"] = la, lo
            out.values["accuracy"] = _number(str(raw.get("accuracy", "")), 0, 100_000)
    return out


def join_choice(raw: dict) -> int | str | None:
    """The resident's answer to "already reported — add yours to it?": a report id, "new", or
    None when they have not answered."""
    value = str(raw.get("join", "")).strip()
    if value == "new":
        return "new"
    return int(value) if value.isdecimal() and len(value) < 12 else None


# --- staff steps -------------------------------------------------------------------------------


def check_step(
    action: str,
    status: str,
    raw: dict,
    assignees: set[int],
    agencies: set[int],
    categories: dict[str, int] | None = None,
    current: str = "",
) -> tuple[dict, dict]:
    """(values, errors) for one staff step on a report in `status`; `categories`: the active
    codes -> ids, `current` the report's category code (for a change of category)."""
    values: dict = {}
    errors: dict[str, str] = {}
    if action not in ACTIONS:
        return values, {"form": N_("Unknown action")}
    if not may_act(action, status):
        return values, {"form": N_("This step is not possible in the report's present state")}
    text = str(raw.get("text", "")).replace("\r\n", "\n").strip()
    if action in TEXT_REQUIRED and not text:
        errors["text"] = N_("Write the message")
    elif len(text) > MAX_REPLY:
        errors["text"] = N_("At most 2,000 characters")
    values["text"] = text
    if action == "assign":
        who = str(raw.get("assignee", ""))
        if not who.isdecimal() or int(who) not in assignees:
            errors["assignee"] = N_("Choose the person who handles it")
        else:
            values["assignee"] = int(who)
    if action == "transfer":
        agency = str(raw.get("agency", ""))
        if not agency.isdecimal() or int(agency) not in agencies:
            errors["agency"] = N_("Choose the agency")
        else:
            values["agency"] = int(agency)
    if action == "category":
        code = str(raw.get("category", "")).strip()
        if code == current:
            errors["category"] = N_("The report has this category already")
        elif code not in (categories or {}):
            errors["category"] = N_("Choose what the problem is about")
        else:
            values["category"] = code
    return values, errors


# --- rating and the reopen rule ------------------------------------------------------------------


def may_rate(status: str, done_at: datetime | None, rated_at: datetime | None) -> bool:
    """Once the report is done: each reporter rates once per time it was done (a reopened and
    done-again report may be rated again)."""
    if status not in FINISHED_STATUSES or done_at is None:
        return False
    return rated_at is None or rated_at < done_at


def check_rating(raw: dict) -> tuple[int | None, str, dict[str, str]]:
    errors: dict[str, str] = {}
    value = str(raw.get("rating", "")).strip()
    rating = int(value) if value in {"1", "2", "3", "4", "5"} else None
    if rating is None:
        errors["rating"] = N_("Choose from 1 to 5 stars")
    comment = str(raw.get("comment", "")).strip()
    if len(comment) > MAX_COMMENT:
        errors["comment"] = N_("At most 500 characters")
    return rating, comment, errors


def reopens(rating: int, done_at: datetime | None, reopened_at: datetime | None, now: datetime) -> bool:
    """An unsatisfied rating (≤ 2) reopens the report for review: once, within 7 days of done."""
    if rating > UNSATISFIED or done_at is None or reopened_at is not None:
        return False
    return now - done_at <= REOPEN_WINDOW


# --- Open311 ---------------------------------------------------------------------------------


def open311_status(status: str) -> str:
    return "closed" if status in FINISHED_STATUSES else "open"


def statuses_for_open311(value: str) -> tuple[str, ...] | None:
    """The spec's status filter ("open", "closed" or both, comma-separated) to ours; None: bad."""
    wanted = {part.strip().lower() for part in value.split(",") if part.strip()}
    if not wanted <= {"open", "closed"}:
        return None
    chosen: list[str] = []
    if "open" in wanted:
        chosen += OPEN_STATUSES
    if "closed" in wanted:
        chosen += FINISHED_STATUSES
    return tuple(chosen)


OPEN311_MAX_DAYS = 90
OPEN311_MAX_ROWS = 1000


def mask_phone(phone: str) -> str:
    return phones.mask(phone) if phone else ""


# The first categories (code, 中文, English, hint 中文, hint English); admins edit the list.
DEFAULT_CATEGORIES = [
    (
        "noise",
        "噪音扰民",
        "Noise",
        "装修、广场舞、商铺外放等，请写明时间段",
        "Renovation, square dancing, loud shops: say when it happens",
    ),
    (
        "safety",
        "治安隐患",
        "Safety hazard",
        "门禁损坏、路灯不亮、可疑人员等",
        "Broken entrance locks, dark street lights, suspicious people",
    ),
    (
        "fraud",
        "疑似诈骗",
        "Suspected fraud",
        "可疑电话、短信、链接，请写明号码或内容；正在转账请立即拨打110",
        "Suspicious calls, messages or links: give the number or text. Paying right now? Call 110",
    ),
    (
        "dispute",
        "邻里纠纷",
        "Neighbour dispute",
        "漏水、占道、宠物等邻里矛盾",
        "Leaks, blocked passages, pets and other quarrels",
    ),
    (
        "ebike",
        "电动车违规充电",
        "E-bike charging",
        "楼道停放、飞线充电、电瓶入户",
        "Parked in stairwells, cables from windows, batteries indoors",
    ),
    ("traffic", "交通与停车", "Traffic and parking", "乱停车、占用消防通道", "Bad parking, blocked fire lanes"),
    ("environment", "环境卫生", "Litter and sanitation", "垃圾堆放、污水、异味", "Rubbish, sewage, bad smells"),
    (
        "facility",
        "公共设施损坏",
        "Broken public facilities",
        "井盖、护栏、健身器材等",
        "Manhole covers, railings, fitness equipment",
    ),
    ("other", "其他", "Other", "", ""),
]
CATEGORY_CODE = re.compile(r"^[a-z0-9_]{1,32}$")


def check_category(
    code: str, name_zh: str, name_en: str, hint_zh: str, hint_en: str, taken: set[str], editing: bool
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not editing:
        if not CATEGORY_CODE.match(code):
            errors["code"] = N_("Lower-case letters, digits and _ only (at most 32)")
        elif code in taken:
            errors["code"] = N_("This code is taken")
    for key, value, limit in (("name_zh", name_zh, 60), ("name_en", name_en, 60)):
        if not value:
            errors[key] = N_("Required")
        elif len(value) > limit:
            errors[key] = too_long(limit)
    for key, value in (("hint_zh", hint_zh), ("hint_en", hint_en)):
        if len(value) > 200:
            errors[key] = too_long(200)
    return errors


_DIGIT_RUN = re.compile(r"\d{7,}")
SUMMARY_CHARS = 40


def public_summary(text: str) -> str:
    """Another resident's words as the duplicate hint shows them: runs of 7+ digits (a phone,
    an ID number) become ***, and at most 40 characters, since a name cannot be detected."""
    masked = _DIGIT_RUN.sub("***", " ".join(text.split()))
    return masked if len(masked) <= SUMMARY_CHARS else masked[:SUMMARY_CHARS] + "…"
