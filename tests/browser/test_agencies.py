"""A non-police matter on phones (390×844), in Chinese and in English: a resident files an
`environment` report from a poster; it goes to 经开区城市管理局 at once; the agency's staff
member accepts and answers it on the phone; the resident sees the answer and rates it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_reports import print_poster, sign_in

AGENCY = "经开区城市管理局"
TEXT = {
    "zh-CN": {
        "category": "环境卫生",
        "what": "发生了什么？",
        "send": "提交反映",
        "received": "您的反映已收到",
        "deadline": "办理时限",
        "home": "本单位待办事项",
        "accept": "签收",
        "accepted": f"{AGENCY}已签收",
        "reply": "公开答复：办理结果（群众可见）",
        "answer": "答复并办结",
        "done": "已办结",
        "stars": "5 分",
        "rate": "提交评价",
        "thanks": "感谢您的评价。",
        "place": "紫薇菜市场",
    },
    "en-GB": {
        "category": "Litter and sanitation",
        "what": "What is happening?",
        "send": "Send report",
        "received": "Your report was received",
        "deadline": "Deadline",
        "home": "Matters for our agency",
        "accept": "Accept (签收)",
        "accepted": f"Accepted by {AGENCY}",
        "reply": "Public reply: what was done (the residents see it)",
        "answer": "Answer and finish (办结)",
        "done": "Done",
        "stars": "5 of 5",
        "rate": "Send rating",
        "thanks": "Thank you for your rating.",
        "place": "古城小区",
    },
}


@pytest.mark.parametrize("locale", ["zh-CN", "en-GB"])
def test_a_resident_report_goes_to_the_agency_which_answers_it_and_is_rated(new_context, screenshot, locale):
    t, tag = TEXT[locale], locale[:2]
    officer = new_context("zh-CN").new_page()
    sign_in(officer)
    url = print_poster(officer, lambda *a, **k: None, t["place"])

    resident = new_context(locale).new_page()
    resident.goto(url)
    resident.locator("label.chip", has_text=t["category"]).click()
    resident.get_by_label(t["what"]).fill("菜市场后门垃圾堆了三天没人清，味道很大")
    resident.get_by_role("button", name=t["send"]).click()
    expect(resident.get_by_role("heading", level=1)).to_have_text(t["received"])
    code = resident.locator(".tracking-code").inner_text().strip()
    expect(resident.locator(".report-head")).to_contain_text(AGENCY)
    expect(resident.locator(".report-head")).to_contain_text(t["deadline"])
    screenshot(resident, f"agencies-01-tracking-routed-{tag}")

    staff = new_context(locale).new_page()
    sign_in(staff, re.compile("张伟"))
    expect(staff.locator("main")).to_contain_text(t["home"])
    screenshot(staff, f"agencies-02-home-{tag}")
    staff.goto("/agency")
    card = staff.locator(".agency-queue .card", has_text=t["place"])
    expect(card).to_have_count(1)
    screenshot(staff, f"agencies-03-queue-{tag}")
    card.get_by_role("link").click()
    expect(staff.get_by_role("heading", level=1)).to_contain_text(t["category"])
    screenshot(staff, f"agencies-04-matter-{tag}")
    staff.get_by_role("button", name=t["accept"], exact=True).click()
    expect(staff.locator(".timeline")).to_contain_text(t["accepted"])
    staff.get_by_label(t["reply"]).fill("垃圾已清运，已增加每日两次保洁")
    screenshot(staff, f"agencies-05-answer-{tag}")
    staff.get_by_role("button", name=t["answer"]).click()
    expect(staff.locator("h1 .status-badge").first).to_have_text(t["done"])
    screenshot(staff, f"agencies-06-answered-{tag}")

    resident.goto(f"/t/{code}")
    expect(resident.locator(".timeline")).to_contain_text(t["accepted"])
    expect(resident.locator(".timeline")).to_contain_text("垃圾已清运，已增加每日两次保洁")
    screenshot(resident, f"agencies-07-tracking-answered-{tag}")
    resident.locator("label.chip", has_text=t["stars"]).click()
    resident.get_by_role("button", name=t["rate"]).click()
    expect(resident.get_by_role("status")).to_have_text(t["thanks"])
    screenshot(resident, f"agencies-08-rated-{tag}")


@pytest.mark.parametrize("locale", ["zh-CN", "en-GB"])
def test_the_admin_keeps_the_rule_list_and_the_holiday_calendar(new_context, screenshot, locale):
    tag = locale[:2]
    admin = new_context(locale).new_page()
    sign_in(admin, re.compile("管理员"))
    admin.goto("/admin/routing")
    expect(admin.locator(".cards")).to_contain_text(AGENCY)
    screenshot(admin, f"agencies-09-rules-{tag}")
    admin.locator("details.add-topic summary").click()
    admin.locator("button.primary", has_text="新增" if tag == "zh" else "Add").click()  # empty: marked, nothing saved
    expect(admin.locator(".flash.error")).to_be_visible()
    screenshot(admin, f"agencies-10-rule-errors-{tag}")
    admin.goto("/admin/routing/print")
    expect(admin.locator("table")).to_contain_text(AGENCY)
    screenshot(admin, f"agencies-11-print-{tag}")
    admin.goto("/admin/routing/holidays?year=2026")
    expect(admin.locator(".cards")).to_contain_text("春节")
    screenshot(admin, f"agencies-12-holidays-{tag}")


@pytest.mark.parametrize("locale", ["zh-CN", "en-GB"])
def test_a_handling_photo_for_the_agency_and_a_change_of_category_that_re_routes(
    new_context, screenshot, locale, tmp_path
):
    from tests.integration.test_fieldwork import jpeg

    t, tag = TEXT[locale], locale[:2]
    printer = new_context("zh-CN").new_page()
    sign_in(printer)
    url = print_poster(printer, lambda *a, **k: None, t["place"])
    resident = new_context(locale).new_page()
    resident.goto(url)
    resident.locator("label.chip", has_text=t["category"]).click()
    resident.get_by_label(t["what"]).fill("路边垃圾桶满了没人清")
    resident.get_by_role("button", name=t["send"]).click()
    code = resident.locator(".tracking-code").inner_text().strip()

    staff = new_context(locale).new_page()
    sign_in(staff, re.compile("张伟"))
    staff.goto("/agency")
    staff.locator(".agency-queue .card", has_text=t["place"]).first.get_by_role("link").click()
    matter = staff.url
    picture = tmp_path / "handling.jpg"
    picture.write_bytes(jpeg(size=(800, 600)))
    staff.locator("#f-note").fill("现场已拍照")
    staff.locator("#f-note-photo").set_input_files(str(picture))
    staff.get_by_role("button", name="添加内部备注" if tag == "zh" else "Add internal note").click()
    expect(staff.locator(".timeline img.photo")).to_have_count(1)
    screenshot(staff, f"agencies-13-handling-photo-{tag}")

    officer = new_context(locale).new_page()
    sign_in(officer)
    officer.goto("/reports/" + matter.rsplit("/", 1)[1])
    officer.locator("summary", has_text="更改类别" if tag == "zh" else "Change the category").click()
    officer.locator("#f-category").select_option("power_cut")
    screenshot(officer, f"agencies-14-change-category-{tag}")
    officer.get_by_role("button", name="更改" if tag == "zh" else "Change", exact=True).click()
    expect(officer.locator("main")).to_contain_text("宿迁供电公司经开区供电所")
    resident.goto(f"/t/{code}")
    expect(resident.locator(".report-head")).to_contain_text("宿迁供电公司经开区供电所")
    expect(resident.locator("img[src^='/agency/photos/']")).to_have_count(0)
    screenshot(resident, f"agencies-15-tracking-re-routed-{tag}")


CALL_TEXT = {
    "zh-CN": {
        "tab": "110 警情",
        "accept": "签收",
        "accepted": f"{AGENCY}已签收",
        "reply": "办理回复：做了什么（公安可见，由公安告知报警人）",
        "answer": "答复并办结",
        "answered": "已办结",
    },
    "en-GB": {
        "tab": "110 calls",
        "accept": "Accept (签收)",
        "accepted": f"Accepted by {AGENCY}",
        "reply": "Reply: what was done (the police see it; the caller is told by the police)",
        "answer": "Answer and finish (办结)",
        "answered": "Answered",
    },
}


def market_calls(tag: str) -> bytes:
    """Three disputes at the market (a work order) and a stall blocking the road (城管's)."""
    from datetime import datetime, timedelta

    start = datetime.now() - timedelta(hours=30)
    rows = ["警情编号,报警时间,报警电话,发案地址,警情类别,简要警情"]
    for i in range(3):
        when = (start + timedelta(hours=8 * i)).strftime("%Y-%m-%d %H:%M")
        rows.append(f"M{tag}{i},{when},1390000010{i},紫薇菜市场,纠纷,摊主之间争吵")
    when = (start + timedelta(hours=26)).strftime("%Y-%m-%d %H:%M")
    rows.append(f"M{tag}S,{when},13900000200,紫薇菜市场,占道经营,门口摆摊占了半条路{tag}")
    return ("\n".join(rows) + "\n").encode("gbk")


@pytest.mark.parametrize("locale", ["zh-CN", "en-GB"])
def test_a_routed_110_call_is_accepted_and_answered_and_the_work_order_shows_it(new_context, screenshot, locale):
    t, tag = CALL_TEXT[locale], locale[:2]
    analyst = new_context("zh-CN").new_page()
    sign_in(analyst, re.compile("情指中心研判员"))
    analyst.goto("/calls/import")
    analyst.set_input_files(
        "input[name=file]", files=[{"name": "110.csv", "mimeType": "text/csv", "buffer": market_calls(tag)}]
    )
    analyst.get_by_role("button", name="检查文件").click()
    analyst.get_by_role("button", name="导入 4 起新警情").click()
    expect(analyst.get_by_role("heading", level=1)).to_have_text("导入完成")

    staff = new_context(locale).new_page()
    sign_in(staff, re.compile("张伟"))
    staff.goto("/agency?tab=calls")
    card = staff.locator(".agency-queue .card", has_text=f"门口摆摊占了半条路{tag}")
    expect(card).to_have_count(1)
    screenshot(staff, f"agencies-16-calls-queue-{tag}")
    card.get_by_role("link").click()
    staff.get_by_role("button", name=t["accept"], exact=True).click()
    expect(staff.locator(".timeline")).to_contain_text(t["accepted"])
    staff.get_by_label(t["reply"]).fill("已劝离摊贩，设置了提示牌")
    staff.get_by_role("button", name=t["answer"]).click()
    expect(staff.locator("h1 .status-badge").first).to_have_text(t["answered"])
    screenshot(staff, f"agencies-17-call-answered-{tag}")

    analyst.goto("/orders?rule=repeat_place")
    analyst.locator(".order", has_text="紫薇菜市场").first.get_by_role("link").first.click()
    routed = analyst.locator(".routed-calls .card", has_text="占道经营").first
    expect(routed).to_contain_text(f"{AGENCY}已签收")
    expect(routed).to_contain_text("已劝离摊贩，设置了提示牌")
    screenshot(analyst, f"agencies-18-order-routed-calls-{tag}")
