"""Which encoding a hand-made CSV is in, line by line (domain/csv_import.sniff)."""

import codecs

from app.domain.csv_import import MIXED, NOT_TEXT, sniff


def lines(*parts: bytes) -> list[bytes]:
    return [part + b"\n" for part in parts]


def test_utf8_with_or_without_bom_and_plain_ascii():
    assert sniff(lines("名称,地址".encode(), "幸福里,泰和路".encode())).codec == "utf-8-sig"
    assert sniff(lines(codecs.BOM_UTF8 + "名称".encode(), "幸福里".encode())).codec == "utf-8-sig"
    assert sniff(lines(b"name,address", b"a,b")).codec == "utf-8-sig"


def test_gbk_even_where_a_short_line_happens_to_be_valid_utf8():
    short = "路".encode("gbk")
    short.decode("utf-8")  # valid UTF-8 by accident (so is every 6th common character)
    assert sniff(lines("名称,地址".encode("gbk"), "张三,幸福里".encode("gbk"), short)).codec == "gb18030"


def test_one_gbk_line_among_utf8_lines_is_named():
    found = sniff(
        lines("名称,地址".encode(), "幸福里,泰和路".encode(), "张三,李四家".encode("gbk"), "运河,菜场".encode())
    )
    assert (found.codec, found.error, found.error_args) == (None, MIXED, {"line": "3"})


def test_one_utf8_line_among_gbk_lines_is_named():
    found = sniff(
        lines(
            "名称,地址".encode("gbk"),
            "幸福里小区,泰和路".encode("gbk"),
            "运河菜场,黄河南路".encode(),
            "张三,李四家".encode("gbk"),
        )
    )
    assert found.error_args == {"line": "3"}


def test_a_bom_and_a_gbk_line_are_mixed():
    found = sniff(lines(codecs.BOM_UTF8 + b"name", "张三".encode("gbk")))
    assert found.error == MIXED and found.error_args == {"line": "2"}


def test_binary_is_not_text():
    assert sniff([b"\x89PNG\r\n", b"\x00\x00"]).error == NOT_TEXT
    assert sniff([b"\xff\xfe\xff\xff\xff"]).error == NOT_TEXT
