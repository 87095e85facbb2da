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


# --- the issuing body and the number -----------------------------------------------------------

MEDIATION_TYPES = {"people": N_("People's mediation (committee)"), "police": N_("Police mediation (the station)")}


def issued_title(mediation_type: str, wording_title: str) -> str:
    """治安调解 is the station's own act under the public security law and has its own form; a
    people's mediation uses the admin's wording for the dispute type."""
    return "公安机关治安调解协议书" if mediation_type == "police" else wording_title


def issuer(mediation_type: str, station_name: str, committee_name: str) -> str:
    """Who signs and seals: the station for 治安调解; its mediation committee for 人民调解 (the
    station's own name with 人民调解委员会 when the admin named none)."""
    if mediation_type == "police":
        return station_name
    return committee_name or f"{station_name}人民调解委员会"


def document_number(prefix: str, year: int | None, n: int | None) -> str:
    """〔2026〕第3号 behind the station's prefix; blank before the mediation was agreed."""
    if year is None or n is None:
        return ""
    return f"{prefix}〔{year}〕第{n}号"


# --- the parties' resident ID ------------------------------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_SHAPE = re.compile(r"^\d{17}[\dX]$")


def valid_resident_id(text: str) -> bool:
    """18 characters, the last the GB 11643 check digit (ISO 7064 MOD 11-2) of the first 17."""
    if not _ID_SHAPE.match(text):
        return False
    total = sum(int(d) * w for d, w in zip(text[:17], _ID_WEIGHTS))
    return _ID_CHECK[total % 11] == text[17]


def mask_resident_id(text: str) -> str:
    """The region's first digits and the check digit: 110105********123X → 1101**********123X."""
    return text[:4] + "*" * (len(text) - 8) + text[-4:] if len(text) > 8 else "*" * len(text)
