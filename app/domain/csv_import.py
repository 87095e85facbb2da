"""Reading spreadsheets exported by hand: UTF-8 (with or without BOM) or GBK/GB18030."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from app.i18n import N_

MAX_ROWS = 5000


@dataclass(frozen=True)
class Sheet:
    rows: list[tuple[int, dict[str, str]]]  # (line number in the file, field -> text)
    error: str | None = None
    error_args: dict[str, str] = field(default_factory=dict)


def decode(data: bytes) -> str | None:
    """Excel in China saves CSV as GBK unless told otherwise; GB18030 is its superset."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def read_sheet(text: str, columns: dict[str, tuple[str, ...]], required: tuple[str, ...]) -> Sheet:
    """Map the header row onto fields (English or Chinese column names, any order)."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header:
        return Sheet([], N_("The file is empty"))
    positions = _positions(header, columns)
    missing = [columns[f][0] for f in required if f not in positions]
    if missing:
        return Sheet([], N_("Missing column: %(columns)s"), {"columns": ", ".join(missing)})
    rows = []
    for values in reader:
        if not any(v.strip() for v in values):
            continue
        if len(rows) >= MAX_ROWS:
            return Sheet([], N_("Too many rows: at most %(max)s per file"), {"max": str(MAX_ROWS)})
        line = reader.line_num
        rows.append((line, {f: values[i].strip() if i < len(values) else "" for f, i in positions.items()}))
    if not rows:
        return Sheet([], N_("The file has a header but no rows"))
    return Sheet(rows)


def header_positions(header: list[str], columns: dict[str, tuple[str, ...]]) -> dict[str, int]:
    """Which column holds each field (English or Chinese names, any order, any case)."""
    return _positions(header, columns)


def _positions(header: list[str], columns: dict[str, tuple[str, ...]]) -> dict[str, int]:
    names = [h.strip().lower() for h in header]
    positions = {}
    for field_name, aliases in columns.items():
        for alias in aliases:
            if alias.lower() in names:
                positions[field_name] = names.index(alias.lower())
                break
    return positions
