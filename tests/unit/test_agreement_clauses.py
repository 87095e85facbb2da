"""The agreement's clauses: numbered by the page from 一, whatever numbers were typed."""

from app.domain.agreements import cn_numeral, numbered


def test_typed_numbers_are_replaced_and_blank_lines_dropped():
    assert numbered("1. 停止施工\n\n（二）赔偿200元\n三、互不追究") == ["一、停止施工", "二、赔偿200元", "三、互不追究"]


def test_chinese_numerals_past_ten():
    assert [cn_numeral(n) for n in (1, 9, 10, 11, 20, 23)] == ["一", "九", "十", "十一", "二十", "二十三"]
