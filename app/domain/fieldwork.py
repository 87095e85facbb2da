"""Field logs (走访, 宣传, 现场调解): their kinds, lists of choices and validation rules.
Pure: no database. Services pass in what the rules need to know (the places the officer may
use, the topics that exist, today's date)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from app.domain import agreements
from app.domain import phone as phones
from app.i18n import N_, too_long

KINDS = {
    "contact": N_("Contact"),
    "campaign_drop": N_("Campaign drop"),
    "mediation": N_("Mediation"),
}
SUBJECT_KINDS = {
    "resident": N_("Resident"),
    "business": N_("Business"),
    "key_person": N_("Key person"),
    "other": N_("Other"),
}
DISPUTE_TYPES = {
    "neighbours": N_("Noise / neighbours"),
    "family": N_("Marriage & family"),
    "property": N_("Property"),
    "traffic": N_("Traffic"),
    "labour": N_("Labour"),
    "other": N_("Other dispute"),
}
OUTCOMES = {
    "agreed": N_("Agreement reached"),
    "referred": N_("Referred"),
    "unresolved": N_("Not resolved"),
}
# Topic lists an admin can edit; these are the first entries (code, 中文, English).
DEFAULT_TOPICS = {
    "tag": [
        ("fraud", "反诈", "Anti-fraud"),
        ("drugs", "禁毒", "Anti-drug"),
        ("safety", "安全防范", "Safety"),
        ("dispute", "矛盾纠纷", "Disputes"),
        ("key_person", "重点人员", "Key persons"),
        ("other", "其他", "Other"),
    ],
    "campaign": [
        ("fraud", "反诈", "Anti-fraud"),
        ("drugs", "禁毒", "Anti-drug"),
        ("safety", "安全防范", "Safety"),
        ("cult", "反邪教", "Anti-cult"),
        ("drink_driving", "拒酒驾", "No drink-driving"),
        ("other", "其他", "Other"),
    ],
}

EDIT_WINDOW = timedelta(hours=24)
MAX_NOTE = 2000
MAX_PARTIES = 6
MAX_COUNT = 100_000
MAX_TAGS = 10
MAX_LINKS = 10
# How far the device's clock may place a log: a queued log may be sent days later.
MAX_BACKDATE = timedelta(days=7)
MAX_AHEAD = timedelta(minutes=10)
FOLLOW_UP_HORIZON = timedelta(days=366)
CALL_REF = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")


@dataclass(frozen=True)
class Where:
    """A place, or a whole grid ("grid:3") when the contact happened out in the street."""

    grid: int
    place: int | None


@dataclass
class Rules:
    """What validation needs to know about the world."""

    places: dict[int, int]  # place id -> grid id, the places the officer may log at
    grids: set[int]
    tags: set[str]
    campaign_topics: set[str]
    today: date
    now: datetime
    kept_follow_up: date | None = None  # an edit may keep a follow-up date that has passed


@dataclass
class Checked:
    values: dict = field(default_factory=dict)
    parties: list[dict] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


def parse_where(text: str, rules: Rules) -> Where | None:
    text = (text or "").strip()
    if text.startswith("grid:") and text[5:].isdecimal() and int(text[5:]) in rules.grids:
        return Where(int(text[5:]), None)
    if text.isdecimal() and int(text) in rules.places:
        return Where(rules.places[int(text)], int(text))
    return None


def where_value(grid: int, place: int | None) -> str:
    return str(place) if place else f"grid:{grid}"


def valid_uuid(text: str) -> str | None:
    try:
        return str(uuid.UUID(text))
    except (ValueError, TypeError, AttributeError):
        return None


def check(kind: str, raw: dict[str, object], rules: Rules) -> Checked:
    """Validate a submitted form of `kind`; raw maps field names to strings (lists for tags)."""
    out = Checked()
    _check_common(raw, rules, out)
    {"contact": _check_contact, "campaign_drop": _check_campaign_drop, "mediation": _check_mediation}[kind](
        raw, rules, out
    )
    return out


def _text(raw: dict, name: str) -> str:
    value = raw.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def _limited(raw: dict, name: str, limit: int, out: Checked, required: bool = False) -> str:
    value = _text(raw, name)
    if required and not value:
        out.errors[name] = N_("Required")
    elif len(value) > limit:
        out.errors[name] = too_long(limit)
    return value


def _check_common(raw: dict, rules: Rules, out: Checked) -> None:
    where = parse_where(_text(raw, "place"), rules)
    if where is None:
        out.errors["place"] = N_("Choose a place in your grids")
    else:
        out.values.update(grid=where.grid, place=where.place)
    out.values["occurred_at"] = _occurred_at(_text(raw, "occurred_at"), rules.now)
    _check_location(raw, out)
    out.values["follow_up_on"] = _follow_up(raw, rules, out)


def _occurred_at(text: str, now: datetime) -> datetime:
    """The device's time when the form was sent (kept through the offline outbox), if plausible."""
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return now
    if when.tzinfo is None:
        return now
    when = when.astimezone(timezone.utc)
    return when if now - MAX_BACKDATE <= when <= now + MAX_AHEAD else now


def _check_location(raw: dict, out: Checked) -> None:
    lat, lon, accuracy = _text(raw, "lat"), _text(raw, "lon"), _text(raw, "accuracy")
    if not (lat or lon):
        out.values.update(lat=None, lon=None, accuracy=None)
        return
    try:
        values = float(lat), float(lon), float(accuracy) if accuracy else None
    except ValueError:
        out.errors["location"] = N_("The location could not be read; try again")
        return
    if not (-90 <= values[0] <= 90 and -180 <= values[1] <= 180) or (values[2] is not None and values[2] < 0):
        out.errors["location"] = N_("The location could not be read; try again")
        return
    out.values.update(lat=values[0], lon=values[1], accuracy=values[2])


def _follow_up(raw: dict, rules: Rules, out: Checked) -> date | None:
    text = _text(raw, "follow_up_on")
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        out.errors["follow_up_on"] = N_("Not a date")
        return None
    if day < rules.today and day != rules.kept_follow_up:
        out.errors["follow_up_on"] = N_("The follow-up date cannot be in the past")
    elif day > rules.today + FOLLOW_UP_HORIZON:
        out.errors["follow_up_on"] = N_("Choose a date within a year")
    return day


def _count(raw: dict, name: str, out: Checked) -> int | None:
    text = _text(raw, name)
    if not text:
        out.errors[name] = N_("Required")
        return None
    if not re.fullmatch(r"-?\d{1,9}", text):
        out.errors[name] = N_("Enter a whole number")
        return None
    value = int(text)
    if not 0 <= value <= MAX_COUNT:
        out.errors[name] = N_("Enter a number from 0 to 100,000")
        return None
    return value


def _check_contact(raw: dict, rules: Rules, out: Checked) -> None:
    kind = _text(raw, "subject_kind")
    if kind not in SUBJECT_KINDS:
        out.errors["subject_kind"] = N_("Choose one")
    phone = _limited(raw, "subject_phone", 32, out)
    if phone and not phones.is_valid(phone):
        out.errors["subject_phone"] = N_("Not a phone number")
    tags = _list(raw, "tags")
    if not set(tags) <= rules.tags or len(tags) > MAX_TAGS:
        out.errors["tags"] = N_("Choose from the list")
    out.values.update(
        subject_kind=kind,
        subject_name=_limited(raw, "subject_name", 100, out),
        subject_phone=phone,
        tags=tags,
        note=_limited(raw, "note", MAX_NOTE, out),
    )


def _check_campaign_drop(raw: dict, rules: Rules, out: Checked) -> None:
    topic = _text(raw, "topic")
    if topic not in rules.campaign_topics:
        out.errors["topic"] = N_("Choose one")
    out.values.update(
        topic=topic,
        leaflets=_count(raw, "leaflets", out),
        reached=_count(raw, "reached", out),
        note=_limited(raw, "note", MAX_NOTE, out),
    )


def _check_mediation(raw: dict, rules: Rules, out: Checked) -> None:
    dispute = _text(raw, "dispute_type")
    if dispute not in DISPUTE_TYPES:
        out.errors["dispute_type"] = N_("Choose one")
    outcome = _text(raw, "outcome")
    if outcome not in OUTCOMES:
        out.errors["outcome"] = N_("Choose one")
    mediation_type = _text(raw, "mediation_type") or "people"
    if mediation_type not in agreements.MEDIATION_TYPES:
        out.errors["mediation_type"] = N_("Choose one")
    terms = _limited(raw, "terms", MAX_NOTE, out, required=outcome == "agreed")
    out.values.update(
        dispute_type=dispute,
        mediation_type=mediation_type,
        outcome=outcome,
        terms=terms,
        mediators=_limited(raw, "mediators", 500, out),
        note=_limited(raw, "note", MAX_NOTE, out, required=True),
    )
    out.parties = _parties(raw, out)
    out.links = _links(raw, out)


def _parties(raw: dict, out: Checked) -> list[dict]:
    parties = []
    for i in range(MAX_PARTIES):
        party = {
            k: _limited(raw, f"party_{k}_{i}", limit, out)
            for k, limit in (("name", 100), ("phone", 32), ("role", 40), ("address", 200))
        }
        identity = _identity(raw, i, out)
        if not any(party.values()) and not any(v is not None and v != "" for v in identity.values()):
            continue
        if not party["name"]:
            out.errors[f"party_name_{i}"] = N_("Required")
        if party["phone"] and not phones.is_valid(party["phone"]):
            out.errors[f"party_phone_{i}"] = N_("Not a phone number")
        party.update(identity)
        parties.append(party)
    if len(parties) < 2:
        out.errors["parties"] = N_("Name at least two parties")
    return parties


SEXES = {"male": N_("Male"), "female": N_("Female")}


def _identity(raw: dict, i: int, out: Checked) -> dict:
    """A party's optional ID number, sex and age, as the agreement form asks for them."""
    id_number = _text(raw, f"party_id_number_{i}").upper().replace(" ", "")
    if id_number and not agreements.valid_resident_id(id_number):
        out.errors[f"party_id_number_{i}"] = N_("Not a resident ID number: 18 characters, the last a check digit")
    sex = _text(raw, f"party_sex_{i}")
    if sex not in SEXES:
        sex = ""
    age_text = _text(raw, f"party_age_{i}")
    age = int(age_text) if age_text.isdecimal() and int(age_text) <= 120 else None
    if age_text and age is None:
        out.errors[f"party_age_{i}"] = N_("Enter an age from 0 to 120")
    return {"id_number": id_number, "sex": sex, "age": age}


def _links(raw: dict, out: Checked) -> list[str]:
    refs = [r for r in re.split(r"[\s,，、;；]+", _text(raw, "call_refs")) if r]
    if len(refs) > MAX_LINKS or not all(CALL_REF.match(r) for r in refs):
        out.errors["call_refs"] = N_("Call numbers are letters and digits, separated by spaces")
    return list(dict.fromkeys(refs))


def _list(raw: dict, name: str) -> list[str]:
    value = raw.get(name, [])
    items = [value] if isinstance(value, str) else list(value)
    return list(dict.fromkeys(v.strip() for v in items if isinstance(v, str) and v.strip()))


def may_edit(*, is_author: bool, is_supervisor: bool, created_at: datetime, now: datetime) -> bool:
    """The author within 24 hours of logging, a supervisor at any time."""
    return is_supervisor or (is_author and now - created_at <= EDIT_WINDOW)


def tags_column(tags: list[str]) -> str:
    """Stored as ',a,b,' so that one tag can be found with LIKE '%,a,%' on both engines."""
    return f",{','.join(tags)}," if tags else ""


def tags_list(column: str) -> list[str]:
    return [t for t in (column or "").split(",") if t]
