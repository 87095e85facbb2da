"""Every message marked in code or templates has a Chinese and an English translation."""
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir

from app import i18n

ROOT = Path(__file__).resolve().parents[2]


def extracted_messages() -> set[str]:
    method_map = [("app/**.py", "python"), ("app/templates/**.html", "jinja2")]
    options = {"app/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    keywords = {**DEFAULT_KEYWORDS, "N_": None}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(str(ROOT), method_map, options, keywords):
        found.add(message if isinstance(message, str) else message[0])
    return found


MESSAGES = sorted(extracted_messages())


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
