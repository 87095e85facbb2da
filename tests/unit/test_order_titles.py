"""Generated work-order titles are stored in Chinese and shown in the viewer's language."""

from app.domain.calls import title_for_display
from app.i18n import gettext, set_locale


def english(title: str) -> str:
    set_locale("en")
    try:
        return title_for_display(title, gettext)
    finally:
        set_locale("zh_CN")


def test_generated_titles_read_in_english_with_names_and_numbers_kept():
    assert english("一人多次 138****5678") == "Repeat caller 138****5678"
    assert english("一地多起 马赛公馆：30天内盗窃5起") == "Repeat place 马赛公馆, Thefts: 5 in 30 days"
    assert english("一地多起 马赛公馆") == "Repeat place 马赛公馆"
    assert (
        english("一地多起 马赛公馆：30天内盗窃5起 · 泰和一网格")
        == "Repeat place 马赛公馆, Thefts: 5 in 30 days · 泰和一网格"
    )
    assert english("一类多发 电动车被盗") == "Surging kind 电动车被盗"


def test_a_title_typed_by_a_person_is_shown_as_written():
    assert english("楼道堆物清理") == "楼道堆物清理"
    assert english("一地多起") == "一地多起"


def test_chinese_readers_get_the_stored_words_back():
    set_locale("zh_CN")
    assert title_for_display("一人多次 138****5678", gettext) == "一人多次 138****5678"
