"""A volunteer's journey on a phone (390×844, zh-CN): register on the public page, an officer
approves and hands over the invitation, the volunteer creates a passkey, signs up for a
patrol the officer created a few minutes ahead, checks in (with the phone's location) and
out, and prints the certificate of service hours. Then the same pages in English."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import LIVE_ENV
from tests.browser.test_passkeys import with_authenticator
from tests.live import ROOT

pytestmark = pytest.mark.browser
OFFICER = re.compile("邵韦杰")


def sign_in_as(page, who=OFFICER) -> None:
    page.goto("/signin")
    page.get_by_role("button", name=who).click()
    page.wait_for_url(re.compile(r"/(field|volunteers/my|agency)?$"))  # where the role works


def create_shift_soon(page, minutes_ahead: int = 20, meeting_point: str = "紫薇园东门") -> None:
    """As the signed-in officer: a one-off shift in 紫薇网格 starting a little later. Check-in
    opens 30 minutes before the start and sign-up closes at it: 20 minutes leave a slow run
    (the wall clock goes on while the test does) time to sign up, where 5 did not, always."""
    start = datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(minutes=minutes_ahead)
    end = start + timedelta(hours=1)
    page.goto("/volunteers")
    page.get_by_role("link", name="新建巡逻班次").first.click()
    page.get_by_label("日期").fill(start.date().isoformat())
    page.get_by_label("开始").fill(start.strftime("%H:%M"))
    page.get_by_label("结束").fill(end.strftime("%H:%M"))
    page.locator("label.chip", has_text="紫薇网格").click()
    page.get_by_label("巡逻路线或区域").fill("紫薇园—泰和路—紫薇菜市场")
    page.get_by_label("集合地点").fill(meeting_point)
    page.get_by_label("至少需要人数").fill("1")
    page.get_by_label("最多人数").fill("4")
    leader = page.get_by_label("带队人").locator("option", has_text="邵韦杰").first.get_attribute("value")
    page.get_by_label("带队人").select_option(leader)
    page.get_by_role("button", name="保存").click()
    expect(page.locator(".flash.ok")).to_contain_text("班次已保存")


MOVE_START = """
import asyncio
from datetime import datetime, timedelta, timezone
from app.tables import PatrolShift

async def main():
    now = datetime.now(timezone.utc)
    fresh = (PatrolShift.created_at > now - timedelta(minutes=30)) & (PatrolShift.starts_at > now)
    await PatrolShift.update({PatrolShift.starts_at: now - timedelta(minutes=1)}).where(fresh)

asyncio.run(main())
"""


def shift_started_a_minute_ago() -> None:
    """The shift this test made starts a minute ago (in the live server's database)."""
    done = subprocess.run([sys.executable, "-c", MOVE_START], cwd=ROOT, env=LIVE_ENV, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_register_approve_passkey_sign_up_check_in_out_certificate(new_context, screenshot):
    name = f"志愿{uuid.uuid4().hex[:4]}"
    phone = f"139{uuid.uuid4().int % 10**8:08d}"

    # 1. Anyone: the public registration page.
    applicant = new_context("zh-CN").new_page()
    applicant.goto("/volunteer/register")
    expect(applicant.get_by_role("heading", level=1)).to_have_text("成为平安志愿者")
    applicant.get_by_label("您的姓名").fill(name)
    applicant.get_by_label("手机号码").fill(phone)
    applicant.locator("label.chip", has_text="紫薇网格").click()
    applicant.locator("label.chip", has_text="晚上").click()
    applicant.locator("label.chip", has_text="周末").click()
    applicant.locator("label.chip", has_text="急救").click()
    screenshot(applicant, "volunteers-01-register")
    applicant.get_by_role("button", name="提交报名").click()
    expect(applicant.locator("#e-consent")).to_have_text("请阅读说明并勾选同意")  # consent is needed
    expect(applicant.get_by_label("您的姓名")).to_have_value(name)  # input kept
    applicant.get_by_label("我已阅读并同意").check()
    applicant.get_by_role("button", name="提交报名").click()
    expect(applicant.get_by_role("heading", level=1)).to_have_text("报名已收到")
    screenshot(applicant, "volunteers-02-received")

    # 2. The officer approves it and gets the invitation (link + QR); then plans a shift.
    officer = new_context("zh-CN").new_page()
    sign_in_as(officer)
    officer.locator(".bottomnav").get_by_role("link", name="志愿者").click()
    expect(officer.get_by_role("heading", level=1)).to_have_text("志愿者")
    screenshot(officer, "volunteers-03-officer-hub")
    officer.get_by_role("link", name=re.compile("待审核报名")).click()
    officer.get_by_role("link", name=re.compile(name)).click()
    expect(officer.locator("dl.facts")).to_contain_text("晚上")
    officer.get_by_role("button", name="通过并生成邀请").click()
    expect(officer.get_by_role("heading", name="已通过：邀请链接")).to_be_visible()
    expect(officer.locator(".qr svg")).to_be_visible()
    screenshot(officer, "volunteers-04-approved")
    link = officer.locator(".invitation code").inner_text()
    create_shift_soon(officer)
    screenshot(officer, "volunteers-05-shift-created")

    # 3. The volunteer's phone: passkey from the invitation.
    context = new_context("zh-CN")
    context.grant_permissions(["geolocation"])
    context.set_geolocation({"latitude": 33.9405, "longitude": 118.3010, "accuracy": 15})
    phone_page = context.new_page()
    phone_page.goto(link)
    expect(phone_page.get_by_text(f"{name}，欢迎")).to_be_visible()
    with_authenticator(context, phone_page)
    phone_page.get_by_role("button", name="创建我的通行密钥").click()
    # 4. The passkey made, the new volunteer lands on My shifts (not on passkey management).
    expect(phone_page).to_have_url(re.compile(r"/volunteers/my$"))
    expect(phone_page.get_by_role("heading", level=1)).to_have_text("我的班次")
    screenshot(phone_page, "volunteers-06-my-shifts-empty")
    phone_page.locator(".shift-card", has_text="紫薇园东门").first.click()
    expect(phone_page.locator(".fill").first).to_contain_text("0/4")
    screenshot(phone_page, "volunteers-07-shift")
    phone_page.get_by_role("button", name="报名").click()
    expect(phone_page.locator(".flash.ok")).to_contain_text("报名成功")
    expect(phone_page.locator(".fill").first).to_contain_text("1/4")

    # 5. On the spot: check in (the start is minutes away: the window is open) and out.
    phone_page.get_by_role("button", name="立即签到").click()
    expect(phone_page.locator(".flash.ok")).to_contain_text("签到成功")
    expect(phone_page.locator(".big-time")).to_contain_text("已于")
    screenshot(phone_page, "volunteers-08-checked-in")

    # On patrol: an urgent observation reaches the officer's My day at once.
    phone_page.get_by_label("您看到了什么？").fill("紫薇园东门两人争吵，快要动手")
    phone_page.get_by_label("紧急：需要民警马上知道").check()
    phone_page.get_by_role("button", name="发送", exact=True).click()
    expect(phone_page.locator(".flash.ok")).to_contain_text("紧急情况已上报")
    officer.goto("/field")
    urgent = officer.locator(".urgent-box", has=officer.locator("#urgent-h"))  # beside any grid alerts' box
    expect(urgent.get_by_role("heading")).to_contain_text("志愿者紧急上报")
    expect(urgent).to_contain_text("快要动手")
    screenshot(officer, "volunteers-08b-officer-my-day-urgent")
    officer.goto("/volunteers")
    # Not before the start: the phone says when check-out opens, and offers no button.
    expect(phone_page.locator(".my-part")).to_contain_text("班次开始后可以签退")
    expect(phone_page.get_by_role("button", name="签退")).to_have_count(0)
    shift_started_a_minute_ago()
    phone_page.reload()
    # Checking out asks first: "no" keeps the patrol going, "yes" checks out.
    asked = []
    phone_page.once("dialog", lambda dialog: asked.append(dialog.message) or dialog.dismiss())
    phone_page.get_by_role("button", name="签退").click()  # returns once the question is answered
    assert asked == ["现在签退？时长计算到此刻为止。"]
    phone_page.once("dialog", lambda dialog: dialog.accept())
    phone_page.get_by_role("button", name="签退").click()
    expect(phone_page.locator(".flash.ok")).to_contain_text("签退成功")
    counted = phone_page.locator(".my-part")
    # Every started minute counts: at least 1, and as many more as this run took (a loaded
    # machine takes minutes, so the number itself is not asserted, only that it is carried on).
    expect(counted).to_contain_text(re.compile(r"计入时长：0 小时 [1-9]\d* 分钟"))
    minutes = re.search(r"计入时长：0 小时 (\d+) 分钟", counted.inner_text()).group(1)
    screenshot(phone_page, "volunteers-09-checked-out")
    phone_page.goto("/volunteers/my")
    done = phone_page.locator(".card", has_text="紫薇园东门").filter(has=phone_page.locator(".done")).first
    expect(done.locator(".done")).to_contain_text(re.compile(rf"已完成：\d\d:\d\d–\d\d:\d\d · 0 小时 {minutes} 分钟"))
    expect(done).not_to_contain_text("现在可以签到")
    screenshot(phone_page, "volunteers-09b-my-shifts-done")

    # 6. The officer sees the volunteer checked in and out on the roster, and confirms them.
    officer.locator(".shift-card", has_text="紫薇园东门").first.click()
    roster = officer.locator(".roster > li", has_text=name)
    expect(roster).to_contain_text("签退")
    roster.get_by_role("button", name="出勤", exact=True).click()
    expect(officer.locator(".flash.ok")).to_contain_text("出勤已保存")

    # 7. Hours and the certificate: numbered, and checked by anyone at /v/<code>.
    phone_page.goto("/volunteers/my")
    phone_page.get_by_role("link", name="我的时长和证明").click()
    expect(phone_page.locator(".hours-total")).to_have_text(re.compile(f"0 小时 {minutes} 分钟"))
    screenshot(phone_page, "volunteers-10-hours")
    phone_page.get_by_role("button", name="志愿服务时长证明").click()
    certificate = phone_page.locator("article.certificate")
    expect(certificate.get_by_role("heading", level=1)).to_have_text("志愿服务时长证明")
    expect(certificate).to_contain_text(name)
    expect(certificate).to_contain_text("黄河派出所")
    expect(certificate.locator(".cert-hours")).to_have_text(re.compile(f"0 小时 {minutes} 分钟"))
    expect(certificate.locator(".cert-time")).to_have_text(re.compile(r"\d\d:\d\d–\d\d:\d\d"))
    expect(phone_page.locator(".bottomnav")).to_have_count(0)
    screenshot(phone_page, "volunteers-11-certificate")
    code = certificate.locator(".cert-code").inner_text()
    for language in ("zh-CN", "en"):
        anyone = new_context(language).new_page()
        anyone.goto(f"/v/{code}")
        expect(anyone.locator(".verify-hours")).to_contain_text(minutes)
        expect(anyone.locator(".verify-name")).to_contain_text("*")
        screenshot(anyone, f"volunteers-12-verify-{language}")
        anyone.goto("/v/NOSUCH00")
        expect(anyone.get_by_role("alert")).to_contain_text(
            {"zh-CN": "没有编号为 NOSUCH00 的证明", "en": "No certificate has the number NOSUCH00"}[language]
        )
        screenshot(anyone, f"volunteers-12b-verify-unknown-{language}")

    # 8. The leader corrects the minutes: a reason is required, and the volunteer is shown it.
    roster = officer.locator(".roster > li", has_text=name)
    roster.locator("summary", has_text="更正时长").click()
    roster.get_by_label("服务分钟数").fill("90")
    roster.get_by_role("button", name="保存时长").click()
    roster = officer.locator(".roster > li", has_text=name)
    expect(roster.locator(".correct-box")).to_have_attribute("open", "")
    expect(roster.get_by_label("服务分钟数")).to_have_value("90")  # what was typed is kept
    expect(roster.locator(".correct-form .error")).to_be_in_viewport()  # shown where it was typed
    screenshot(officer, "volunteers-13-correct-minutes-no-reason")
    roster.get_by_label("原因（记入审计日志）").fill("签退时手机没电，实际巡逻到20:30")
    roster.get_by_role("button", name="保存时长").click()
    expect(officer.locator(".flash.ok")).to_contain_text("时长已更正")
    roster = officer.locator(".roster > li", has_text=name)
    expect(roster).to_contain_text("1 小时 30 分钟")
    expect(roster).to_contain_text("已更正：签退时手机没电")
    screenshot(officer, "volunteers-14-minutes-corrected")
    phone_page.goto(officer.url.split("?")[0])
    expect(phone_page.locator(".my-part")).to_contain_text("带队人将您的时长更正为 1 小时 30 分钟：签退时手机没电")
    screenshot(phone_page, "volunteers-15-volunteer-sees-correction")


def test_volunteer_pages_in_english(new_context, screenshot):
    page = new_context("en").new_page()
    page.goto("/volunteer/register")
    expect(page.get_by_role("heading", level=1)).to_have_text("Become a safety volunteer")
    screenshot(page, "volunteers-en-01-register")
    sign_in_as(page)
    page.goto("/volunteers")
    expect(page.get_by_role("heading", level=1)).to_have_text("Volunteers")
    page.get_by_role("link", name="New patrol shift").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New patrol shift")
    screenshot(page, "volunteers-en-02-new-shift")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_contain_text("Please correct the marked fields.")
    screenshot(page, "volunteers-en-03-shift-errors")
    page.goto("/volunteers/hours")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hours by grid and month")
    screenshot(page, "volunteers-en-04-totals")
    page.goto("/signin")
    page.get_by_role("button", name=re.compile("李明")).click()
    page.wait_for_url(re.compile(r"/(field|volunteers/my|agency)?$"))  # where the role works
    page.locator(".bottomnav").get_by_role("link", name="My shifts").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My shifts")
    screenshot(page, "volunteers-en-05-my-shifts")


def test_withdrawing_asks_first(new_context, screenshot):
    officer = new_context("zh-CN").new_page()
    sign_in_as(officer)
    point = f"西门{uuid.uuid4().hex[:4]}"
    create_shift_soon(officer, minutes_ahead=3 * 24 * 60, meeting_point=point)
    page = new_context("en").new_page()
    page.goto("/signin")
    page.get_by_role("button", name=re.compile("李明")).click()
    page.wait_for_url(re.compile(r"/(field|volunteers/my|agency)?$"))
    page.goto("/volunteers/shifts")
    page.locator(".shift-card", has_text=point).first.click()
    page.get_by_role("button", name="Sign up").click()
    expect(page.locator(".fill").first).to_contain_text("1/4")
    asked = []
    page.once("dialog", lambda dialog: asked.append(dialog.message) or dialog.dismiss())
    page.get_by_role("button", name="Cancel my sign-up").click()
    assert asked == ["Cancel your sign-up? Your place goes to the next person waiting."]
    expect(page.locator(".fill").first).to_contain_text("1/4")  # "no": the place is kept
    screenshot(page, "volunteers-en-06-shift-signed-up")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Cancel my sign-up").click()
    expect(page.locator(".fill").first).to_contain_text("0/4")
