"""110 call records (警情): reading one row, normalising phones and addresses, and the
source-governance rules that find what keeps generating calls (警源治理). Pure: no I/O.

Windows are inclusive: "within 30 days" means at most 30 days apart."""

from __future__ import annotations

import math
import re
import unicodedata
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from itertools import accumulate
from zoneinfo import ZoneInfo

from app.domain.call_times import TimeError, parse_call_time
from app.i18n import N_, too_long

# Column names in English or in Chinese, as the 110 system exports them.
COLUMNS = {
    "call_id": ("call_id", "警情编号"),
    "received_at": ("received_at", "报警时间"),
    "caller_phone": ("caller_phone", "报警电话"),
    "address": ("address", "发案地址"),
    "lat": ("lat", "纬度"),
    "lon": ("lon", "经度"),
    "category": ("category", "警情类别"),
    "summary": ("summary", "简要警情"),
    "disposition": ("disposition", "处理结果"),
    "station": ("station", "管辖单位"),
}
REQUIRED = ("call_id", "received_at", "address", "category")
MAX_HEADER = 100


def columns_with(aliases: dict[str, str]) -> dict[str, tuple[str, ...]]:
    """COLUMNS and the header names analysts mapped (header -> field), the mapped ones last."""
    extra: dict[str, list[str]] = {}
    for header, name in aliases.items():
        extra.setdefault(name, []).append(header)
    return {name: (*names, *extra.get(name, ())) for name, names in COLUMNS.items()}


def check_column_choices(
    chosen: dict[str, str], headers: list[str], missing: list[str]
) -> tuple[dict[str, str], dict[str, str]]:
    """An analyst's mapping of the file's headers to the fields it lacks (`missing`): {header:
    field} and the errors by field. Every needed field needs a column; one column, one field."""
    known = {h.strip() for h in headers if h.strip()}
    result: dict[str, str] = {}
    errors: dict[str, str] = {}
    for name in missing:
        header = chosen.get(name, "").strip()
        if not header:
            if name in REQUIRED:
                errors[name] = N_("Choose the column that holds it")
            continue
        if header not in known or len(header) > MAX_HEADER:
            errors[name] = N_("Choose one of the file's columns")
        elif header.lower() in result:
            errors[name] = N_("This column is chosen for another field already")
        else:
            result[header.lower()] = name
    return result, errors


LIMITS = {
    "call_id": 64,
    "caller_phone": 32,
    "address": 200,
    "category": 60,
    "summary": 2000,
    "disposition": 500,
    "station": 100,
}
# What a 110 system writes when the number was not shown.
WITHHELD = {"", "-", "—", "无", "未知", "不详", "匿名", "隐藏", "withheld", "unknown", "anonymous", "private", "none"}

RULES = {
    "repeat_caller": N_("One person, many calls (一人多次)"),
    "repeat_place": N_("One place, many incidents (一地多起)"),
    "category_surge": N_("One kind surging (一类多发)"),
}


# Category families: what the analyst counts a place's repeats by (thefts, disputes …). A
# 110 system's categories vary by city; a category's family is the first word it contains
# (an admin may map a category otherwise).
FAMILIES = {
    "dispute": N_("Disputes"),
    "theft": N_("Thefts"),
    "noise": N_("Noise"),
    "fraud": N_("Fraud"),
    "traffic": N_("Traffic"),
    "help": N_("Requests for help"),
    "suspicious": N_("Suspicious activity"),
    "other": N_("Other"),
}
FAMILY_WORDS = (
    ("纠纷", "dispute"),
    ("dispute", "dispute"),
    ("盗", "theft"),
    ("窃", "theft"),
    ("抢", "theft"),
    ("theft", "theft"),
    ("噪", "noise"),
    ("扰民", "noise"),
    ("noise", "noise"),
    ("诈骗", "fraud"),
    ("fraud", "fraud"),
    ("交通", "traffic"),
    ("traffic", "traffic"),
    ("求助", "help"),
    ("可疑", "suspicious"),
)


# The family's word in a work order's title (titles are Chinese, like the 110 records).
FAMILY_TITLES = {
    "dispute": "纠纷",
    "theft": "盗窃",
    "noise": "噪音扰民",
    "fraud": "诈骗",
    "traffic": "交通",
    "help": "求助",
    "suspicious": "可疑情况",
    "other": "其他警情",
}


def family_of(category: str, mapped: dict[str, str] | None = None) -> str:
    """A category's family: the admin's mapping, else the first family word it contains."""
    if mapped and category in mapped:
        return mapped[category]
    text = category.lower()
    return next((family for word, family in FAMILY_WORDS if word in text), "other")


def closed_complex_dispute(
    rule: str, state: str, categories: dict[str, int], mapped: dict[str, str] | None = None
) -> bool:
    """What "disputes closed through the loop" counts: an order through all six steps (closed
    at 问效) that is a dispute — entered by hand (the form is for complex disputes), or made
    by detection of calls most of which are disputes (a family feud calling again and again)."""
    if state != "closed":
        return False
    if rule == "manual":
        return True
    disputes = sum(n for category, n in categories.items() if family_of(category, mapped) == "dispute")
    return disputes * 2 > sum(categories.values())


@dataclass(frozen=True)
class RuleSetting:
    """A rule's threshold and window; an analyst may set them per station and category."""

    threshold: int
    window_days: int


DEFAULT_SETTINGS = {
    "repeat_caller": RuleSetting(3, 30),
    "repeat_place": RuleSetting(3, 30),
    # Surge: calls of the last 7 days >= max(threshold, 2 x the weekly mean of the 4 weeks before).
    "category_surge": RuleSetting(5, 7),
}
REPEAT_WINDOW = timedelta(days=30)
SURGE_BASE_WEEKS = 4


class PhoneError(ValueError):
    pass


def normalise_phone(raw: str) -> str | None:
    """Digits only; +86 / 0086 / 86 dropped from a mobile; landlines keep their area code.
    None for a withheld or empty number (it never forms a repeat key). Letters: refused."""
    text = unicodedata.normalize("NFKC", raw or "").strip()
    if text.lower() in WITHHELD:
        return None
    if re.search(r"[^\d\s+\-()#*]", text):
        raise PhoneError(N_("A phone number has only digits"))
    digits = re.sub(r"\D", "", text)
    if digits.startswith("0086") and len(digits) == 15:
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    # Short numbers (110, 0, internal extensions) cannot identify a caller.
    return digits if len(digits) >= 7 else None


def normalise_address(raw: str) -> str:
    """The form an address is matched by: full-width folded, spaces and punctuation gone,
    lower case. '徐州市 泰和小区３号楼' and '徐州市泰和小区3号楼' are the same address."""
    text = unicodedata.normalize("NFKC", raw or "").lower()
    return re.sub(r"[\s\-_,.;:()（）【】\[\]，。；：、·#]+", "", text)


@dataclass
class CallRow:
    call_id: str
    received_at: datetime
    caller_key: str | None
    caller_phone: str
    address: str
    address_key: str
    lat: float | None
    lon: float | None
    category: str
    summary: str
    disposition: str
    station: str


def read_row(raw: dict[str, str], tz: str) -> tuple[CallRow | None, dict[str, str]]:
    """One call from a CSV row or an API object (English or Chinese keys): the call, or the
    errors by column."""
    values = {name: _value(raw, names) for name, names in COLUMNS.items()}
    errors: dict[str, str] = {}
    for name in REQUIRED:
        if not values[name]:
            errors[name] = N_("Required")
    for name, limit in LIMITS.items():
        if len(values[name]) > limit:
            errors[name] = too_long(limit)
    received = None
    if values["received_at"]:
        try:
            received = parse_call_time(values["received_at"], tz)
        except TimeError as exc:
            errors["received_at"] = str(exc)
    try:
        caller = normalise_phone(values["caller_phone"])
    except PhoneError as exc:
        caller, errors["caller_phone"] = None, str(exc)
    lat, lon = _coordinate(values["lat"], -90, 90, "lat", errors), _coordinate(values["lon"], -180, 180, "lon", errors)
    if (lat is None) != (lon is None) and "lat" not in errors and "lon" not in errors:
        errors["lat" if lat is None else "lon"] = N_("Give both latitude and longitude, or neither")
    if errors:
        return None, errors
    return CallRow(
        values["call_id"],
        received,  # type: ignore[arg-type]  # no errors: the required time was read
        caller,
        values["caller_phone"],
        values["address"],
        normalise_address(values["address"]),
        lat,
        lon,
        values["category"],
        values["summary"],
        values["disposition"],
        values["station"],
    ), {}


def _value(raw: dict[str, str], names: tuple[str, ...]) -> str:
    for name in names:
        value = raw.get(name)
        if value not in (None, ""):
            return str(value).strip()
    return ""


def _coordinate(text: str, low: float, high: float, name: str, errors: dict) -> float | None:
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        errors[name] = N_("Not a number")
        return None
    if not low <= value <= high:
        errors[name] = N_("Out of range")
        return None
    return value


SAME_CALL = ("received_at", "caller_phone", "address", "category", "summary")


def same_content(stored: dict, new: dict) -> bool:
    """A re-imported call with the same id: the same record, or a conflict to report."""
    return all(stored[k] == new[k] for k in SAME_CALL)


# --- detection -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """What detection needs of a call."""

    id: int
    at: datetime
    caller: str | None
    place: str | None  # "place:12" or "address:<normalised>"
    station: int | None
    category: str


@dataclass
class Flag:
    rule: str
    key: str
    station: int | None
    call_ids: list[int] = field(default_factory=list)
    times: dict[int, datetime] = field(default_factory=dict)  # call id -> received_at, when known


RECENT_DAYS = 30  # the default of Settings.detection_recent_days


def recent_calls(flag: Flag, station_newest: datetime | None, recent_days: float, window_days: int) -> list[int]:
    """What of a flag is today's work: nothing when its newest call is older than
    `recent_days` before the station's newest call (a backfill of last year's calls is
    history, for the rankings and place pages); else its calls that can share a window with
    a recent one. Calls without a known time are kept (the flag knows none)."""
    if not flag.times or station_newest is None:
        return list(flag.call_ids)
    cutoff = station_newest - timedelta(days=recent_days)
    if max(flag.times.values()) < cutoff:
        return []
    start = cutoff - timedelta(days=window_days)
    return [cid for cid in flag.call_ids if flag.times.get(cid, start) >= start]


def order_start(created_at: datetime, newest_held: datetime | None, window_days: int) -> datetime:
    """The oldest call an open order may still take: its creation (in the calls' own time,
    when those run behind the clock: an import of past data) less the rule's window."""
    made = min(created_at, newest_held) if newest_held is not None else created_at
    return made - timedelta(days=window_days)


def place_family_key(place: str, category: str, mapped: dict[str, str] | None = None) -> str:
    """一地多起 counts a place's calls per family: "place:12:theft" (five gate e-bike thefts
    are an order of their own, not buried among 28 mixed calls)."""
    return f"{place}:{family_of(category, mapped)}"


def setting_category(rule: str, key: str) -> str:
    """What a flag's setting is looked up by beside its station: a surge's category, a place's
    family (一地多起 may have a threshold per family), nothing for a caller."""
    if rule == "category_surge":
        return key.partition(":")[2]
    return split_place_key(key)[1] if rule == "repeat_place" else ""


def split_place_key(key: str) -> tuple[str, str]:
    """("place:12", "theft") of "place:12:theft"; ("place:12", "") of an order made before
    families (a normalised address never holds a colon)."""
    base, _sep, family = key.rpartition(":")
    return (base, family) if family in FAMILIES and base.count(":") == 1 else (key, "")


def place_key(place_id: int | None, address_key: str) -> str | None:
    if place_id:
        return f"place:{place_id}"
    return f"address:{address_key}" if address_key else None


def in_some_window(times: list[datetime], setting: RuleSetting) -> list[int]:
    """Indexes of the times that lie in a window holding at least `threshold` of them."""
    n, window = setting.threshold, timedelta(days=setting.window_days)
    hit: set[int] = set()
    j = 0
    for i in range(len(times)):
        while times[i] - times[j] > window:
            j += 1
        if i - j + 1 >= n:
            hit.update(range(j, i + 1))
    return sorted(hit)


def detect_repeats(calls: Iterable[Call], rule: str, setting_for, mapped: dict[str, str] | None = None) -> list[Flag]:
    """repeat_caller or repeat_place: one flag per key with the calls in its dense windows.
    `setting_for(station, category, rule)` gives the threshold and window (for a place, by
    its family); `mapped`: the analysts' category families."""
    groups: dict[str, list[Call]] = defaultdict(list)
    for call in calls:
        key = (
            call.caller
            if rule == "repeat_caller"
            else call.place and place_family_key(call.place, call.category, mapped)
        )
        if key:
            groups[key].append(call)
    flags = []
    for key, group in groups.items():
        group.sort(key=lambda c: c.at)
        setting = setting_for(group[-1].station, setting_category(rule, key), rule)
        picked = in_some_window([c.at for c in group], setting)
        if picked:
            flags.append(Flag(rule, key, group[-1].station, [group[i].id for i in picked]))
    return flags


def surge(recent: int, before: int, setting: RuleSetting) -> bool:
    """recent: calls in the last 7 days; before: calls in the 4 weeks before those."""
    return recent >= max(setting.threshold, 2 * before / SURGE_BASE_WEEKS)


def detect_surges(calls: Iterable[Call], as_of: datetime, setting_for) -> list[Flag]:
    """Per station and category: the last 7 days up to `as_of` against the 4 weeks before."""
    start_recent = as_of - timedelta(days=7)
    start_base = start_recent - timedelta(weeks=SURGE_BASE_WEEKS)
    recent: dict[tuple, list[int]] = defaultdict(list)
    base: dict[tuple, int] = defaultdict(int)
    for call in calls:
        key = (call.station, call.category)
        if start_recent < call.at <= as_of:
            recent[key].append(call.id)
        elif start_base < call.at <= start_recent:
            base[key] += 1
    return [
        Flag("category_surge", f"{station or 0}:{category}", station, ids)
        for (station, category), ids in recent.items()
        if surge(len(ids), base[(station, category)], setting_for(station, category, "category_surge"))
    ]


def count_repeat_calls(times_by_caller: dict[str, list[datetime]], period_start: datetime, period_end: datetime) -> int:
    """Calls in [start, end) whose caller had called within the 30 days before. Each list is
    sorted and reaches back at least 30 days before the period."""
    repeats = 0
    for times in times_by_caller.values():
        for i in range(max(bisect_left(times, period_start), 1), len(times)):
            if times[i] >= period_end:
                break
            if times[i] - times[i - 1] <= REPEAT_WINDOW:
                repeats += 1
    return repeats


def relative_change(now: int, before: int) -> float | None:
    """(now - before) / before as a fraction: -0.276 is the seed's "down 27.6%"; None when
    there was nothing before (no change can be stated)."""
    return round((now - before) / before, 4) if before else None


def pareto_count(counts: list[int], total: int, part: float = 0.8) -> int | None:
    """How many keys, most calls first, make `part` of all `total` calls (the 80/20 line);
    None when all of them together do not (the rest lies at addresses without a place)."""
    running = 0
    for n, count in enumerate(sorted(counts, reverse=True), 1):
        running += count
        if running >= part * total:
            return n
    return None


def pareto_curve(counts: list[int], total: int, points: int = 100) -> list[tuple[float, float]]:
    """The 80/20 curve from (0, 0): (share of keys, share of all `total` calls) with the keys
    most calls first; every key, or every n-th (and the last) when there are more than `points`."""
    if not counts or not total:
        return []
    running = list(accumulate(sorted(counts, reverse=True)))
    step = max(1, math.ceil(len(running) / points))
    taken = sorted({*range(step, len(running) + 1, step), len(running)})
    return [(0.0, 0.0)] + [(k / len(running), running[k - 1] / total) for k in taken]


def top_share(counts: list[int], total: int, part: float = 0.2) -> tuple[int, float] | None:
    """The busiest `part` of the keys (at least one): (how many, their share of all calls)."""
    if not counts or not total:
        return None
    n = max(1, round(part * len(counts)))
    return n, sum(sorted(counts, reverse=True)[:n]) / total


def share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def period_bounds(start: date, end: date, tz: str) -> tuple[datetime, datetime]:
    """Inclusive dates in the station's zone as a half-open UTC interval."""
    zone = ZoneInfo(tz)
    return (
        datetime.combine(start, datetime.min.time(), zone).astimezone(timezone.utc),
        datetime.combine(end + timedelta(days=1), datetime.min.time(), zone).astimezone(timezone.utc),
    )


def year_earlier(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def equal_windows(measures_on: date, today: date, longest: int = 180) -> tuple[date, date, date, date] | None:
    """复盘: the days since the measures, and as many days just before them (at most
    `longest` each): (before_start, before_end, after_start, after_end), ends inclusive.
    None when the measures are today or in the future."""
    days = min((today - measures_on).days, longest)
    if days <= 0:
        return None
    after_end = measures_on + timedelta(days=days - 1)
    return measures_on - timedelta(days=days), measures_on - timedelta(days=1), measures_on, after_end


# A generated work-order title, read back for display: "一地多起 马赛公馆：30天内盗窃5起 · 泰和一网格".
# Stored in Chinese (like the 110 records it comes from); shown in the viewer's language.
_TITLE = re.compile(r"^(一人多次|一地多起|一类多发) (.+?)(?:：(\d+)天内(\S+?)(\d+)起)?( · .+)?$")
_TITLE_RULE = {"一人多次": "repeat_caller", "一地多起": "repeat_place", "一类多发": "category_surge"}
_TITLE_WORDS = {
    "repeat_caller": N_("Repeat caller"),
    "repeat_place": N_("Repeat place"),
    "category_surge": N_("Surging kind"),
}


def title_for_display(title: str, gettext: Callable[[str], str]) -> str:
    """The title in the viewer's language: a generated one is rebuilt from its parts (names and
    numbers kept as written); any other title, typed by a person, is shown as it is."""
    found = _TITLE.match(title)
    if found is None:
        return title
    head, subject, days, family_word, calls, tail = found.groups()
    rule = _TITLE_RULE[head]
    text = f"{gettext(_TITLE_WORDS[rule])} {subject}"
    family = next((code for code, word in FAMILY_TITLES.items() if word == family_word), None)
    if days and family:
        text += gettext(", %(kind)s: %(calls)s in %(days)s days") % {
            "kind": gettext(FAMILIES[family]),
            "calls": calls,
            "days": days,
        }
    elif days:
        return title
    return text + (tail or "")
