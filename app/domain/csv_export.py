"""Writing spreadsheets people open in Excel or WPS: the one CSV writer every export uses.

A text cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is run as a formula
when the file is opened (`=HYPERLINK(...)` typed into a public form, a call summary, a log note).
OWASP's rule: such a cell gets a leading apostrophe, which makes it text. Numbers the app
writes itself (ints, floats, Decimals: counts, ids, coordinates) are not text and stay as they
are, so a negative count stays a number; a string that looks like one is still prefixed."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"  # Excel reads a UTF-8 file as UTF-8 (Chinese intact) only with it


def safe_cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def render(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """The whole file: BOM, header line, one line per row, every text cell made safe."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out)
    writer.writerow(columns)
    writer.writerows([safe_cell(value) for value in row] for row in rows)
    return out.getvalue()
