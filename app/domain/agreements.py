"""The written agreement (书面和解协议) of a mediation: its wording per dispute type. The page
itself lays out parties, terms, date, place and signature lines around this wording."""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.i18n import N_, too_long

# The agreement is a Chinese legal document whatever the interface language.
_TYPE_TITLES = {
    "neighbours": "邻里纠纷",
    "family": "婚姻家庭纠纷",
    "property": "物业纠纷",
    "traffic": "交通事故纠纷",
    "labour": "劳动纠纷",
    "other": "民间纠纷",
}
_PREAMBLE = "{type}一案，经现场调解，双方当事人在平等、自愿、合法的基础上，经充分协商，达成如下协议："
_CLOSING = (
    "一、本协议经双方当事人签字（按手印）后生效，双方应自觉履行。\n"
    "二、本协议一式三份，双方当事人各执一份，调解组织留存一份。\n"
    "三、一方不履行协议的，另一方可依法申请司法确认或向人民法院提起诉讼。"
)


_NUMERALS = "一二三四五六七八九十"
# A clause's own number as typed: 一、 (一) （一） 1. 1、 1) — dropped, the page numbers them.
_TYPED_NUMBER = re.compile(r"^\s*(?:[一二三四五六七八九十]+、|[（(][一二三四五六七八九十\d]+[)）]|\d+[.、)）])\s*")


def cn_numeral(n: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 20 → 二十 (clauses rarely pass twenty)."""
    tens, ones = divmod(n, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else _NUMERALS[tens - 1] + "十")
    return head + (_NUMERALS[ones - 1] if ones else "")


def numbered(text: str) -> list[str]:
    """Clauses one a line, numbered 一、二、… from one: the officer's terms and the standard
    clauses each have their own list, so the standard ones never read as the parties' 4th term."""
    lines = [_TYPED_NUMBER.sub("", line).strip() for line in text.splitlines()]
    return [f"{cn_numeral(i)}、{line}" for i, line in enumerate([x for x in lines if x], start=1)]


@dataclass(frozen=True)
class Wording:
    title: str
    preamble: str
    closing: str


def default_wording(dispute_type: str) -> Wording:
    kind = _TYPE_TITLES.get(dispute_type, _TYPE_TITLES["other"])
    return Wording(f"{kind}人民调解协议书", _PREAMBLE.format(type=f"关于{kind}"), _CLOSING)


def wording_errors(wording: Wording) -> dict[str, str]:
    errors = {}
    if not wording.title:
        errors["title"] = N_("Required")
    elif len(wording.title) > 100:
        errors["title"] = too_long(100)
    for name in ("preamble", "closing"):
        if len(getattr(wording, name)) > 4000:
            errors[name] = too_long(4000)
    return errors
