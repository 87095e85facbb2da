"""A grid alert on two phones (390×844), in zh-CN and in English: the grid worker posts an
urgent alert; the officer's open My day shows it live (a banner, from /events); he
acknowledges "on my way"; the grid worker's open alert page shows it without a tap."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser
OFFICER = re.compile("邵韦杰")
WORKER = re.compile("王艳荣")
TEXT = {
    "zh-CN": {
        "what": "发生了什么？",
        "send": "发出警情",
        "posted": "已发出",
        "on_my_way": "马上到",
        "banner": "网格警情",
        "ack_banner": "马上到：民警正赶往您报的警情",
    },
    "en": {
        "what": "What is happening?",
        "send": "Send the alert",
        "posted": "Alert sent",
        "on_my_way": "On my way",
        "banner": "Grid alert",
        "ack_banner": "On my way: an officer is coming for your alert",
    },
}


def sign_in_as(page, who, locale: str) -> None:
    page.goto("/signin")
    page.get_by_role("button", name=who).click()
    page.wait_for_url(re.compile(r"/(field)?$"))
    if page.locator("html").get_attribute("lang") != locale:  # the person's saved language: switch
        page.locator("nav.lang button, nav.lang a").first.click()
        expect(page.locator("html")).to_have_attribute("lang", locale)


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_an_urgent_alert_reaches_the_officer_live_and_his_answer_the_grid_worker(new_context, screenshot, locale):
    t = TEXT[locale]
    words = f"{uuid.uuid4().hex[:4]} 两个邻居要打起来了 紫薇园3栋"

    officer = new_context(locale).new_page()
    sign_in_as(officer, OFFICER, locale)
    officer.goto("/field")
    expect(officer.locator("[data-unread-count]")).not_to_be_empty()  # the stream said hello

    worker = new_context(locale).new_page()
    sign_in_as(worker, WORKER, locale)
    worker.goto("/alerts/new")
    expect(worker.locator("a[href='tel:110']")).to_be_visible()
    screenshot(worker, f"alerts-form-{locale}")
    worker.get_by_label(t["what"]).fill(words)
    worker.get_by_role("button", name=t["send"]).click()
    expect(worker.locator(".flash.ok")).to_contain_text(t["posted"])
    screenshot(worker, f"alerts-sent-{locale}")

    # The officer did nothing: his open page shows the alert.
    banner = officer.locator(".live-banner.urgent", has_text=words)
    expect(banner).to_contain_text(t["banner"])
    expect(officer.locator(".unread-badge.has-unread")).to_be_visible()
    screenshot(officer, f"alerts-banner-{locale}")
    banner.click()
    officer.get_by_role("button", name=t["on_my_way"], exact=True).click()
    expect(officer.locator(".ack-status")).to_contain_text(t["on_my_way"])
    screenshot(officer, f"alerts-acknowledged-{locale}")

    # The grid worker did nothing either: the open alert page shows the answer.
    expect(worker.locator(".ack-status")).to_contain_text(t["on_my_way"])
    screenshot(worker, f"alerts-on-my-way-{locale}")
