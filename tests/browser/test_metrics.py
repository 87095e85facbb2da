"""Platform metrics on a phone (390×844, zh-CN) and at a desk (1280×900, en): the headline card,
a rate with its definition beside it, and a chart read through its text alternative."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect


@pytest.mark.parametrize(
    ("locale", "size", "labels"),
    [
        (
            "zh-CN",
            {"width": 390, "height": 844},
            ("所长/分局领导", "平台指标", "签收率", "每周受理与办结诉求数", "数据"),
        ),
        (
            "en",
            {"width": 390, "height": 844},
            (
                "Supervisor",
                "Platform metrics",
                "Response rate",
                "Matters received and completed per week",
                "The numbers",
            ),
        ),
        (
            "en",
            {"width": 1280, "height": 900},
            (
                "Supervisor",
                "Platform metrics",
                "Response rate",
                "Matters received and completed per week",
                "The numbers",
            ),
        ),
    ],
)
def test_the_metrics_page_and_a_charts_text_alternative(new_context, screenshot, locale, size, labels):
    role, title, rate, chart, numbers = labels
    page = new_context(locale).new_page()
    page.set_viewport_size(size)
    page.goto("/signin?next=/metrics/platform")
    page.get_by_role("button", name=f"{role} · ").click()
    page.goto("/metrics/platform")
    expect(page.get_by_role("heading", level=1, name=title)).to_be_visible()
    definition = page.locator("#m-response_rate")
    expect(definition).to_contain_text(rate)
    for day in ("#f-start", "#f-end"):  # the whole date shows (in half a row it read "09/0")
        assert page.locator(day).bounding_box()["width"] >= 150
    expect(definition).to_contain_text("÷")  # the definition stands beside the number
    figure = page.locator("#chart-matters")
    svg = figure.get_by_role("img", name=re.compile(re.escape(chart)))
    expect(svg).to_be_visible()
    assert chart in svg.locator("title").first.text_content()
    assert svg.locator("desc").text_content()  # every value, for a screen reader
    figure.get_by_text(numbers).click()
    expect(figure.locator("table")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= size["width"]
    screenshot(page, f"metrics-{locale}-{size['width']}")
