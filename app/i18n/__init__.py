"""Translations and locale formatting.

The current locale lives in a ContextVar: requests run concurrently on one
thread, so a module global or thread-local would leak between them.
"""

from __future__ import annotations

from contextvars import ContextVar
from datetime import date, datetime, timezone
from functools import cache
from pathlib import Path
from typing import Literal

from babel import Locale, dates, numbers
from babel.messages.pofile import read_po

LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"
LOCALE_COOKIE = "qianmo_locale"
CATALOGUE_DIR = Path(__file__).parent

_current: ContextVar[str] = ContextVar("qianmo_locale", default=DEFAULT_LOCALE)


class Message(str):
    """A message id that carries the values it is formatted with where it is shown."""

    variables: dict[str, object]


def N_(message: str, **variables: object) -> str:
    """Marks a string for extraction; it is translated (and formatted) where it is shown."""
    if not variables:
        return message
    marked = Message(message)
    marked.variables = variables
    return marked


def too_long(limit: int) -> str:
    """Every "too long" names its limit: the user knows how much to cut."""
    return N_("Too long: at most %(max)s characters", max=limit)


@cache
def catalogue(locale: str) -> dict[str, str]:
    path = CATALOGUE_DIR / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as f:
        cat = read_po(f, locale=locale)
    # No plural entries (the app uses none), so each id and text is one string.
    return {key(str(m.id), m.context): str(m.string) for m in cat if m.id and m.string and not m.fuzzy}


def key(message: str, context: str | None = None) -> str:
    """A catalogue entry's key: a message with a context (pgettext) is gettext's context,
    EOT, message."""
    return f"{context}\x04{message}" if context else message


def get_locale() -> str:
    return _current.get()


def set_locale(locale: str) -> None:
    _current.set(locale if locale in LOCALES else DEFAULT_LOCALE)


def gettext(message: str, **variables) -> str:
    text = catalogue(get_locale()).get(message, message)
    variables = {**getattr(message, "variables", {}), **variables}
    return text % variables if variables else text


_ = gettext


def pgettext(context: str, message: str, **variables) -> str:
    """A message whose English is the same as another's with another meaning ("To" a date,
    "To" a person): the context tells the translator which."""
    text = catalogue(get_locale()).get(key(message, context), message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, **variables) -> str:
    variables.setdefault("num", n)
    return gettext(singular if n == 1 else plural, **variables)


def negotiate(cookie: str | None, accept_language: str | None) -> str:
    """The cookie wins; then the browser's Accept-Language; then Chinese."""
    if cookie in LOCALES:
        return cookie
    for tag in _parse_accept_language(accept_language or ""):
        lang = tag.replace("-", "_").lower()
        if lang.startswith("zh"):
            return "zh_CN"
        if lang.startswith("en"):
            return "en"
    return DEFAULT_LOCALE


def _parse_accept_language(header: str) -> list[str]:
    weighted = []
    for index, part in enumerate(header.split(",")):
        tag, _sep, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            weighted.append((-quality, index, tag))
    return [tag for _q, _i, tag in sorted(weighted)]


def _babel_locale() -> Locale:
    return _parsed(get_locale())


@cache
def _parsed(locale: str) -> Locale:
    return Locale.parse(locale)  # parsing (and Babel's failed guesses on the way) costs per call


_zone = cache(dates.get_timezone)
Style = Literal["full", "long", "medium", "short"]


def format_date(value: date | datetime | None, style: str = "medium", tz: str = "Asia/Shanghai") -> str:
    """A date, or the local day of an instant (a log made at 01:48 Beijing time is that day's, not UTC's)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(_zone(tz)).date()
    return dates.format_date(value, format=style, locale=_babel_locale())


def format_datetime(value: datetime | None, tz: str = "Asia/Shanghai", style: Style = "short") -> str:
    """Babel's date and time of an instant, in the time zone (an instant without one is UTC's)."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return _datetime_pattern(get_locale(), style).apply(value.astimezone(_zone(tz)), _babel_locale())


@cache
def _datetime_pattern(locale: str, style: Style) -> dates.DateTimePattern:
    """A locale's date-and-time format as one pattern, parsed once: Babel formats the date and
    the time apart and joins them at each call, 30 µs a time, fifty times on a list page."""
    parsed = _parsed(locale)
    joined = str(dates.get_datetime_format(style, locale=parsed))  # "{1} {0}": date, then time
    time_, date_ = parsed.time_formats[style].pattern, parsed.date_formats[style].pattern
    return dates.parse_pattern(joined.replace("{0}", time_).replace("{1}", date_))


def format_number(value: int | float | None) -> str:
    return "" if value is None else numbers.format_decimal(value, locale=_babel_locale())
