"""Source governance on a phone (390×844, zh-CN): the analyst imports a CSV of 110 calls, a
work order appears on the community officer's My day, the officer walks it through the loop,
the supervisor evaluates it and the analyst reviews it."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from playwright.sync_api import expect


def sign_in(page, role_label: str) -> None:
    page.goto("/signin")
    page.get_by_role("button", name=f"{role_label} · ").click()
    page.wait_for_url(re.compile(r"/(field|volunteers/my|agency)?$"))  # where the role works


def calls_csv() -> bytes:
    start = datetime.now() - timedelta(days=6)
    rows = ["警情编号,报警时间,报警电话,发案地址,警情类别,简要警情"]
    for i in range(3):
        when = (start + timedelta(days=2 * i)).strftime("%Y-%m-%d %H:%M")
        rows.append(f"JQ{i:03},{when},13912340000,泰和祥府8号楼,纠纷,楼上楼下噪音纠纷第{i + 1}次报警")
    rows.append("JQ999,2026-02-30 10:00,13912340000,泰和祥府8号楼,纠纷,日期错误")
    return ("\n".join(rows) + "\n").encode("gbk")


def step(page, label: str, button: str, note: str = "") -> None:
    if note:
        page.get_by_label(label).fill(note)
    page.get_by_role("button", name=button, exact=True).click()
    expect(page.get_by_role("heading", level=2, name="办理过程")).to_be_visible()


def test_calls_to_a_closed_work_order(new_context, screenshot):
    analyst = new_context("zh-CN").new_page()
    sign_in(analyst, "情指中心研判员")
    analyst.goto("/calls/import")
    analyst.set_input_files(
        "input[name=file]", files=[{"name": "110.csv", "mimeType": "text/csv", "buffer": calls_csv()}]
    )
    analyst.get_by_role("button", name="检查文件").click()
    expect(analyst.locator(".summary")).to_contain_text("3 新")
    expect(analyst.locator("tr.error")).to_contain_text("JQ999")
    screenshot(analyst, "calls-01-preview")
    analyst.get_by_role("button", name="导入 3 起新警情").click()
    expect(analyst.get_by_role("heading", level=1)).to_have_text("导入完成")
    expect(analyst.get_by_role("status")).to_contain_text("新建 2 张警单")
    screenshot(analyst, "calls-02-imported")

    officer = new_context("zh-CN").new_page()
    sign_in(officer, "社区民警")
    officer.goto("/field")
    order = officer.locator(".order", has_text="一人多次")
    expect(order).to_have_count(1)
    screenshot(officer, "calls-03-my-day")
    order.get_by_role("link").click()
    expect(officer.get_by_role("heading", level=1)).to_have_text(re.compile("一人多次 139"))
    step(officer, "现场核查情况", "提交核查", "上门核查：楼上夜间装修")
    step(officer, "处置措施", "提交处置", "现场调解，约定施工时间")
    step(officer, "向报警人或群众反馈的内容", "提交反馈", "已电话告知报警人")
    screenshot(officer, "calls-04-fed-back")
    order_url = officer.url

    supervisor = new_context("zh-CN").new_page()
    sign_in(supervisor, "所长/分局领导")
    supervisor.goto(order_url)
    step(supervisor, "评价意见", "满意", "处置及时")

    analyst.goto(order_url)
    expect(analyst.get_by_text("处置以来，同一警源没有新的警情。")).to_be_visible()
    step(analyst, "问效", "问效后办结", "一个月内无新警情")
    expect(analyst.locator(".facts")).to_contain_text("问效（已办结）")
    timeline = analyst.locator(".timeline li")
    expect(timeline).to_have_count(6)
    screenshot(analyst, "calls-05-closed", full_page=True)
    analyst.goto("/dashboard")
    expect(analyst.locator(".summary")).to_contain_text("问效（已办结） 1")
    screenshot(analyst, "calls-06-dashboard")


def test_an_export_with_other_column_names_is_mapped_once_on_the_phone(new_context, screenshot):
    start = datetime.now() - timedelta(days=3)
    rows = ["接警单编号,接警时间,来电号码,事发地址,警情类别,简要警情"]
    for i in range(2):
        when = (start + timedelta(days=i)).strftime("%Y/%m/%d %H:%M").replace("/0", "/")
        rows.append(f"JJ{i:03},{when},13900001111,泰和祥府2号楼,纠纷,夫妻吵架")
    data = ("\n".join(rows) + "\n").encode("gbk")
    analyst = new_context("zh-CN").new_page()
    sign_in(analyst, "情指中心研判员")
    analyst.goto("/calls/import")
    analyst.set_input_files("input[name=file]", files=[{"name": "导出.csv", "mimeType": "text/csv", "buffer": data}])
    analyst.get_by_role("button", name="检查文件").click()
    expect(analyst.get_by_role("heading", level=2, name="对应哪一列？")).to_be_visible()
    analyst.get_by_label(re.compile("警情编号 · call_id")).select_option("接警单编号")
    analyst.get_by_label(re.compile("报警时间 · received_at")).select_option("接警时间")
    analyst.get_by_label(re.compile("发案地址 · address")).select_option("事发地址")
    screenshot(analyst, "calls-08-map-columns")
    analyst.get_by_role("button", name="使用这些列").click()
    expect(analyst.locator(".summary")).to_contain_text("2 新")
    screenshot(analyst, "calls-09-mapped-preview")
