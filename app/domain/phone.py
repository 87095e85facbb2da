"""Phone numbers: normalised for matching, masked for lists."""

from __future__ import annotations

import re

# Mobile, landline with area code and extension, or +86: digits and the usual separators.
VALID = re.compile(r"^\+?[0-9(][0-9 \-()]{2,30}$")


def is_valid(phone: str) -> bool:
    return bool(VALID.match(phone))


def normalise(phone: str) -> str:
    digits = re.sub(r"\D", "", phone or "")
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits


def mask(phone: str) -> str:
    """138****5678: enough to recognise, not enough to call."""
    digits = normalise(phone)
    if len(digits) < 7:
        return "*" * len(digits)
    return f"{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"
