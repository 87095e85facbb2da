"""The time of a 110 call as exports and spreadsheets write it. Pure: no I/O.

Accepted: year first, then month and day of one or two digits, separated by / - . or written
2026年11月27日; a space or T; an hour of one or two digits, minutes, optional seconds (and
fractions), 上午/下午 or AM/PM; an optional offset (Z, +08:00, +0800). Without an offset the
time is the station's. An Excel serial date number (days since 1899-12-30, the day's fraction
the time) is read in the station's zone too. Refused: a year written last (03/04/2026 is
4 March in one country and 3 April in another), two-digit years, and a date without a time
(a call has one; midnight put in its place would skew every hour-of-day figure)."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from app.i18n import N_

INVALID = N_("Not a date and time (use 2026-03-01 14:30)")
AMBIGUOUS = N_("Ambiguous date: write the year first (2026-03-04 14:30)")
NO_TIME = N_("The time of day is missing (2026-03-01 14:30)")

_DATE = r"(?P<y>\d{4})(?:(?P<sep>[/\-.])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})|年(?P<m2>\d{1,2})月(?P<d2>\d{1,2})日?)"
_MERIDIEM = r"(?P<ap>上午|下午|凌晨|早上|中午|晚上|am|pm|a\.m\.|p\.m\.)"
_TIME = r"(?P<H>\d{1,2})(?::|时|點|点)(?P<M>\d{2})(?:(?::|分)(?P<S>\d{2})(?:[.,](?P<f>\d{1,6}))?秒?|分)?"
_OFFSET = r"(?P<z>z|[+\-]\d{2}(?::?\d{2})?)"
FULL = re.compile(
    rf"{_DATE}(?:\s*t\s*|\s+|(?<=日))(?:{_MERIDIEM}\s*)?{_TIME}\s*(?:{_MERIDIEM.replace('ap', 'ap2')})?"
    rf"\s*{_OFFSET}?"
)
DATE_ONLY = re.compile(rf"{_DATE}")
YEAR_LAST = re.compile(r"\d{1,2}[/\-.]\d{1,2}[/\-.]\d{2,4}(\s.*)?")
SERIAL = re.compile(r"\d{4,5}(\.\d+)?")
EXCEL_EPOCH = datetime(1899, 12, 30)
# Serial numbers of 1950 to 2100: a bare number outside them is a mistake, not a date.
SERIALS = (18264, 73051)
AFTERNOON = {"下午", "晚上", "pm", "p.m."}
MORNING = {"上午", "凌晨", "早上", "am", "a.m."}


class TimeError(ValueError):
    """Why a text is not a call time (a message to translate)."""


def parse_call_time(text: str, tz: str) -> datetime:
    """The instant a text names, in UTC; TimeError when it names none, or more than one."""
    value = unicodedata.normalize("NFKC", text or "").strip().lower()
    if SERIAL.fullmatch(value):
        return _serial(value, tz)
    match = FULL.fullmatch(value)
    if match is None:
        if YEAR_LAST.fullmatch(value):
            raise TimeError(AMBIGUOUS)
        if DATE_ONLY.fullmatch(value):
            raise TimeError(NO_TIME)
        raise TimeError(INVALID)
    parts = match.groupdict()
    hour = _hour(int(parts["H"]), parts["ap"] or parts["ap2"])
    fraction = (parts["f"] or "").ljust(6, "0")
    try:
        local = datetime(
            int(parts["y"]),
            int(parts["m"] or parts["m2"]),
            int(parts["d"] or parts["d2"]),
            hour,
            int(parts["M"]),
            int(parts["S"] or 0),
            int(fraction),
        )
    except ValueError:
        raise TimeError(INVALID) from None
    zone = _offset(parts["z"]) or ZoneInfo(tz)
    return local.replace(tzinfo=zone).astimezone(timezone.utc)


def _hour(hour: int, meridiem: str | None) -> int:
    if meridiem is None:
        return hour
    if not 1 <= hour <= 12 and not (hour == 0 and meridiem in MORNING):
        raise TimeError(INVALID)
    if meridiem in AFTERNOON:
        return hour % 12 + 12
    if meridiem == "中午":  # 中午12:30 is half past noon, 中午1:00 one o'clock
        return 12 if hour == 12 else hour + 12 if hour < 6 else hour
    return hour % 12


def _offset(text: str | None) -> timezone | None:
    if not text:
        return None
    if text == "z":
        return timezone.utc
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 14 or minutes > 59:
        raise TimeError(INVALID)
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if text[0] == "-" else delta)


def _serial(text: str, tz: str) -> datetime:
    number = float(text)
    if not SERIALS[0] <= number < SERIALS[1]:
        raise TimeError(INVALID)
    # To the second: Excel keeps milliseconds, a CSV's few decimals round to them.
    local = EXCEL_EPOCH + timedelta(seconds=round(number * 86400))
    return local.replace(tzinfo=ZoneInfo(tz)).astimezone(timezone.utc)


# A time this far ahead of the import, or back, is most likely a typing or export slip.
AHEAD = timedelta(hours=1)
BACK = timedelta(days=3653)


def implausible(at: datetime, now: datetime) -> bool:
    """A call dated in the future or decades back: imported, but flagged for a look."""
    return at > now + AHEAD or at < now - BACK
