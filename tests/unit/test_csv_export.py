"""The shared CSV writer: OWASP's rule for cells a spreadsheet would run as formulas."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from app.domain.csv_export import render, safe_cell


def test_text_that_starts_like_a_formula_becomes_text():
    for text in ("=1+1", "+86 1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"):
        assert safe_cell(text) == "'" + text


def test_other_text_and_our_numbers_are_left_alone():
    assert [safe_cell(v) for v in ("张大爷", "a=1", " =1", "", "2026-03-01")] == [
        "张大爷",
        "a=1",
        " =1",
        "",
        "2026-03-01",
    ]
    assert [safe_cell(v) for v in (-3, -1.5, Decimal("-2.50"), 0, None)] == [-3, -1.5, Decimal("-2.50"), 0, None]
    assert safe_cell("-3") == "'-3"  # a string may come from anyone


def test_the_file_starts_with_a_bom_and_reads_back():
    text = render(["name", "count"], [["=cmd", -2], ["李四", 3]])
    assert text.startswith("\ufeffname,count\r\n")
    assert list(csv.reader(io.StringIO(text.removeprefix("\ufeff")))) == [
        ["name", "count"],
        ["'=cmd", "-2"],
        ["李四", "3"],
    ]
