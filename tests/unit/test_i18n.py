"""Every message marked in code or templates has a Chinese and an English translation."""

import re
from collections import defaultdict
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir

from app import i18n

ROOT = Path(__file__).resolve().parents[2]


def extracted_messages() -> set[str]:
    """Catalogue keys (i18n.key: a pgettext message with its context)."""
    method_map = [("app/**.py", "python"), ("app/templates/**.html", "jinja2")]
    options = {"app/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    keywords = {**DEFAULT_KEYWORDS, "N_": None}
    found = set()
    for _file, _line, message, _comments, context in extract_from_dir(str(ROOT), method_map, options, keywords):
        found.add(i18n.key(message if isinstance(message, str) else message[0], context))
    return found


MESSAGES = sorted(extracted_messages())
TEMPLATES = ROOT / "app/templates"
LABEL = re.compile(r'<label for="([^"]+)"[^>]*>\s*\{\{ _\("([^"]+)"\) \}\}')


def labelled_fields() -> dict[str, set[str]]:
    """A label's English text (a context-free msgid) -> the names of the fields it labels."""
    fields: dict[str, set[str]] = defaultdict(set)
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        for field_id, message in LABEL.findall(text):
            element = re.search(rf'<(?:input|select|textarea)\b[^>]*\bid="{re.escape(field_id)}"[^>]*>', text)
            name = re.search(r'\bname="([^"]+)"', element.group(0)) if element else None
            fields[message].add(name.group(1) if name else field_id)
    return fields


def test_a_short_label_means_one_thing_or_has_a_context():
    """One English word can need two translations ("To" a date: 截止日期; "To" a person:
    交给): a one- or two-word label on fields of different names must say which with
    pgettext, or the one translation is wrong on some of them."""
    short = {message: names for message, names in labelled_fields().items() if len(message.split()) <= 2}
    assert "To" in short and "Grid" in short  # the check sees the labels
    ambiguous = {message: sorted(names) for message, names in short.items() if len(names) > 1}
    assert ambiguous == {}, f"give these labels a context (pgettext): {ambiguous}"


def test_a_message_with_a_context_is_translated_by_its_context():
    i18n.set_locale("zh_CN")
    try:
        assert i18n.pgettext("assign to a person", "To") == "交给"
        assert i18n.gettext("To") == "截止日期"  # the date range's
    finally:
        i18n.set_locale(i18n.DEFAULT_LOCALE)


def test_extraction_finds_the_app_messages():
    assert "Organisation" in MESSAGES and "You are offline" in MESSAGES


@pytest.mark.parametrize("locale", i18n.LOCALES)
def test_every_message_is_translated(locale):
    catalogue = i18n.catalogue(locale)
    missing = [m for m in MESSAGES if not catalogue.get(m)]
    assert not missing, f"{locale} lacks translations (run scripts/i18n.py): {missing}"


def test_placeholders_survive_translation():
    for message in MESSAGES:
        if "%(" in message:
            zh = i18n.catalogue("zh_CN")[message]
            for name in __import__("re").findall(r"%\((\w+)\)s", message):
                assert f"%({name})s" in zh, (message, zh)


@pytest.mark.parametrize(
    ("cookie", "header", "expected"),
    [
        (None, None, "zh_CN"),
        (None, "en-US,en;q=0.9", "en"),
        (None, "zh-TW,zh;q=0.9,en;q=0.8", "zh_CN"),
        (None, "fr-FR,en;q=0.5", "en"),
        (None, "en;q=0.2,zh-CN;q=0.9", "zh_CN"),
        ("en", "zh-CN", "en"),
        ("xx", "en", "en"),
        (None, "garbage;;q=abc", "zh_CN"),
    ],
)
def test_negotiation(cookie, header, expected):
    assert i18n.negotiate(cookie, header) == expected


def test_formatting_follows_the_locale():
    i18n.set_locale("en")
    assert i18n.format_number(12345) == "12,345"
    i18n.set_locale("zh_CN")
    assert i18n.format_number(12345) == "12,345"
    assert i18n.gettext("Organisation") == "组织机构"


@pytest.mark.parametrize("locale", sorted(i18n.LOCALES))
def test_date_and_time_read_as_babel_writes_them(locale):
    from datetime import datetime, timedelta, timezone

    from babel import dates

    i18n.set_locale(locale)
    try:
        for style in ("short", "medium", "long", "full"):
            for hours in range(0, 9000, 37):  # a year of instants, mornings and evenings
                moment = datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(hours=hours, minutes=hours % 60)
                expected = dates.format_datetime(moment, style, tzinfo=i18n._zone("Asia/Shanghai"), locale=locale)
                assert i18n.format_datetime(moment, "Asia/Shanghai", style) == expected
        assert i18n.format_datetime(datetime(2026, 12, 3, 1, 48), "Asia/Shanghai") == i18n.format_datetime(
            datetime(2026, 12, 3, 1, 48, tzinfo=timezone.utc), "Asia/Shanghai"
        )  # an instant without a zone is UTC's
    finally:
        i18n.set_locale(i18n.DEFAULT_LOCALE)
