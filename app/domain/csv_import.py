"""Reading spreadsheets exported by hand: UTF-8 (with or without BOM) or GBK/GB18030."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field

from app.i18n import N_

MAX_ROWS = 5000


@dataclass(frozen=True)
class Sheet:
    rows: list[tuple[int, dict[str, str]]]  # (line number in the file, field -> text)
    error: str | None = None
    error_args: dict[str, str] = field(default_factory=dict)


NOT_TEXT = N_("The file is not UTF-8 or GBK text. Save it as CSV (UTF-8) and try again.")
MIXED = N_(
    "Line %(line)s is not in the same encoding as the rest of the file (UTF-8 and GBK mixed). "
    "Save the whole file as CSV (UTF-8) and try again."
)


@dataclass(frozen=True)
class Encoding:
    """What a file's lines are written in: a codec, or why the file is refused."""

    codec: str | None  # "utf-8-sig" or "gb18030"; None when refused
    error: str | None = None
    error_args: dict[str, str] = field(default_factory=dict)


def sniff(lines: Iterable[bytes]) -> Encoding:
    """UTF-8 (with or without BOM) or GB18030 (Excel in China saves GBK unless told otherwise;
    GB18030 is its superset), judged line by line over the whole file. A file with lines of
    both is refused with the first line of the fewer kind: decoded either way, those lines
    would be stored as mojibake without a word. Line 1 is the header; a NUL byte means a
    binary file, whatever its name. Only the lines' own bytes are held, one at a time."""
    utf8: list[int] = []  # lines only UTF-8 explains
    gbk: list[int] = []  # lines UTF-8 cannot explain
    for number, line in enumerate(lines, 1):
        if b"\x00" in line:
            return Encoding(None, NOT_TEXT)
        if number == 1 and line.startswith(codecs.BOM_UTF8):
            line = line[len(codecs.BOM_UTF8) :]
            utf8.append(1)  # the file says so itself
        if line.isascii():
            continue
        kind = _kind(line)
        if kind is None:
            return Encoding(None, NOT_TEXT)
        if kind:
            (utf8 if kind == "utf-8" else gbk).append(number)
    if utf8 and gbk:
        odd = gbk if len(gbk) <= len(utf8) else utf8
        return Encoding(None, MIXED, {"line": str(odd[0])})
    return Encoding("gb18030" if gbk else "utf-8-sig")


def _kind(line: bytes) -> str | None:
    """ "utf-8", "gbk", "" (either: a short line of GBK can happen to be valid UTF-8) or None."""
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        try:
            line.decode("gb18030")
        except UnicodeDecodeError:
            return None
        return "gbk"
    try:  # Valid UTF-8 that also reads as common GBK text (GB2312) proves nothing.
        line.decode("gb18030").encode("gb2312")
    except UnicodeError:
        return "utf-8"
    return ""


def decode(data: bytes) -> tuple[str | None, Encoding]:
    """The text of a file held in memory (the org import's few thousand rows), or None with
    the reason it is refused."""
    encoding = sniff(io.BytesIO(data))  # lines split as a file's are, so line numbers agree
    return (None if encoding.codec is None else data.decode(encoding.codec)), encoding


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
    rows: list[tuple[int, dict[str, str]]] = []
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
