"""A resident without signal (issue #15): the poster's form, sent offline on a phone nobody
signed in on, waits in the phone's outbox on a page that works offline; when the signal
returns it is sent exactly once and the tracking code is shown there. No sleeps: every wait
is Playwright's auto-waiting `expect` or `wait_for_function`."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import LONG_WAIT
from tests.browser.test_outbox import CACHED, KEEP_COPY, PUT_COPY_BACK, SW_READY, jpeg_bytes

pytestmark = pytest.mark.browser

PLACE = "泰和花园"
SW_CONTROLLED = "() => navigator.serviceWorker.controller !== null"
# Send the report form, then tap again: the button's state at once, and whether the second
# submission was stopped (its event cancelled).
SUBMIT_TWICE = """() => {
  const form = document.getElementById("report-form");
  const button = form.querySelector("button[type=submit]");
  form.requestSubmit(button);
  const again = new SubmitEvent("submit", {bubbles: true, cancelable: true, submitter: button});
  form.dispatchEvent(again);
  return {text: button.textContent, disabled: button.getAttribute("aria-disabled"), second: again.defaultPrevented};
}"""


def poster_url(new_context) -> str:
    """An officer issues the place's poster code; returns the poster's URL."""
    staff = new_context("zh-CN").new_page()
    staff.goto("/report")
    place = staff.locator("#f-place option", has_text=PLACE).first.get_attribute("value")
    staff.goto("/signin?next=/field")
    staff.get_by_role("button", name=re.compile("^社区民警 · ")).first.click()
    staff.wait_for_url(re.compile(r"/field$"))
    staff.goto(f"/admin/reports/posters/place/{place}")
    issue = staff.get_by_role("button", name="生成编号")
    poster = staff.locator("article.poster .poster-url")
    expect(issue.or_(poster).first).to_be_visible()
    if issue.is_visible():
        issue.click()
    url = poster.inner_text().strip()
    staff.context.close()
    return url


def reports_with(new_context, marker: str) -> int:
    """How many reports in the officer's queue carry `marker` (what the database holds)."""
    staff = new_context("zh-CN").new_page()
    staff.goto("/signin?next=/reports")
    staff.get_by_role("button", name=re.compile("^社区民警 · ")).first.click()
    staff.wait_for_url(re.compile(r"/reports$"))
    count = staff.locator(".note", has_text=marker).count()
    staff.context.close()
    return count


def test_a_report_sent_without_signal_arrives_once_and_shows_its_code(new_context, screenshot):
    url = poster_url(new_context)
    marker = f"stairwell-{uuid.uuid4().hex[:8]}"
    context = new_context("en")
    page = context.new_page()
    page.goto("/locale/en?next=" + re.sub(r"^https?://[^/]+", "", url))
    expect(page.get_by_role("heading", level=1)).to_have_text("Report a problem")
    page.evaluate(SW_READY)
    page.wait_for_function(SW_CONTROLLED)
    page.wait_for_function(CACHED, arg=["/outbox"], timeout=LONG_WAIT)  # kept without a visit

    page.locator("label.chip").first.click()
    page.get_by_label("What is happening?").fill(f"The stairwell light is broken {marker}")
    page.set_input_files(
        "input[name=photo]", files=[{"name": "light.jpg", "mimeType": "image/jpeg", "buffer": jpeg_bytes()}]
    )
    context.set_offline(True)
    page.get_by_role("button", name="Send report").click()
    expect(page).to_have_url(re.compile(r"/outbox\?queued=1"))
    expect(page.locator("#outbox-queued")).to_contain_text("Saved on this phone.")
    expect(page.locator("#outbox-keep")).to_be_visible()
    cards = page.locator("#outbox-list > li")
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text("Report a problem")
    expect(cards.first).to_contain_text("With photo")
    screenshot(page, "public-outbox-01-queued-en")

    # Still no signal, the page opened again: it is still there.
    page.reload()
    expect(page.get_by_role("heading", level=1, name="Waiting to send")).to_be_visible()
    expect(cards).to_have_count(1)
    assert page.evaluate(KEEP_COPY) == 1

    # The signal returns: sent by itself, the code shown where the resident waits.
    context.set_offline(False)
    expect(cards).to_have_count(0, timeout=LONG_WAIT)
    receipt = page.locator("#outbox-receipts > li")
    expect(receipt).to_have_count(1)
    code = receipt.locator(".outbox-code strong").inner_text().strip()
    assert re.fullmatch(r"[A-Z2-9]{8}", code), code
    screenshot(page, "public-outbox-02-sent-en")
    receipt.get_by_role("link", name="Follow your report").click()
    expect(page.locator(".tracking-code")).to_have_text(code)
    assert reports_with(new_context, marker) == 1

    # The same post sent again (a phone that lost the answer), from the poster page reopened: nothing new.
    page.goto("/outbox")
    assert page.evaluate(PUT_COPY_BACK) == 1
    page.goto(re.sub(r"^https?://[^/]+", "", url))
    page.goto("/outbox")
    expect(page.locator("#outbox-list > li")).to_have_count(0, timeout=LONG_WAIT)
    expect(page.locator("#outbox-receipts .outbox-code strong").first).to_have_text(code)
    assert reports_with(new_context, marker) == 1


def test_a_volunteer_registration_sent_without_signal_arrives_once(new_context, screenshot):
    name = f"离线{uuid.uuid4().hex[:4]}"
    phone = f"137{uuid.uuid4().int % 10**8:08d}"
    context = new_context("zh-CN")
    page = context.new_page()
    page.goto("/volunteer/register")
    expect(page.get_by_role("heading", level=1)).to_have_text("成为平安志愿者")
    page.evaluate(SW_READY)
    page.wait_for_function(SW_CONTROLLED)
    page.wait_for_function(CACHED, arg=["/outbox"], timeout=LONG_WAIT)
    page.get_by_label("您的姓名").fill(name)
    page.get_by_label("手机号码").fill(phone)
    page.locator("label.chip", has_text="紫薇网格").click()
    page.locator("label.chip", has_text="晚上").click()
    page.get_by_label("我已阅读并同意").check()

    context.set_offline(True)
    page.get_by_role("button", name="提交报名").click()
    expect(page).to_have_url(re.compile(r"/outbox\?queued=1"))
    expect(page.locator("#outbox-queued")).to_contain_text("已保存在本机")
    cards = page.locator("#outbox-list > li")
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text("成为平安志愿者")
    expect(cards.first).to_contain_text(name)
    screenshot(page, "public-outbox-03-registration-queued-zh")

    context.set_offline(False)
    expect(cards).to_have_count(0, timeout=LONG_WAIT)
    receipt = page.locator("#outbox-receipts > li").filter(has_text=name)
    expect(receipt).to_contain_text("报名已收到")
    expect(receipt.locator(".outbox-code")).to_be_hidden()  # no code for a registration
    screenshot(page, "public-outbox-04-registration-sent-zh")

    officer = new_context("zh-CN").new_page()
    officer.goto("/signin?next=/volunteers/applications")
    officer.get_by_role("button", name=re.compile("^社区民警 · ")).first.click()
    officer.wait_for_url(re.compile(r"/volunteers/applications$"))
    expect(officer.get_by_role("link", name=re.compile(name))).to_have_count(1)


def test_a_slow_answer_shows_sending_then_moves_to_the_outbox_and_arrives_once(new_context, screenshot):
    """The server's first answer is held (route interception) until the test lets it go: no timing."""
    url = poster_url(new_context)
    path = re.sub(r"^https?://[^/]+", "", url)
    marker = f"slow-{uuid.uuid4().hex[:8]}"
    context = new_context("en")
    held = []

    def hold(route) -> None:
        if route.request.method == "POST" and not held:
            held.append(route)  # answered when the test says so
        else:
            route.continue_()  # the outbox's replay goes through

    page = context.new_page()
    page.goto("/locale/en?next=" + path)
    page.evaluate(SW_READY)
    page.wait_for_function(SW_CONTROLLED)
    page.wait_for_function(CACHED, arg=["/outbox"], timeout=LONG_WAIT)
    context.route(re.compile(re.escape(path) + "$"), hold)
    page.locator("label.chip").first.click()
    page.get_by_label("What is happening?").fill(f"The garage door is stuck {marker}")
    # Read in the same turn as the tap: Playwright's locators would wait for the navigation.
    state = page.evaluate(SUBMIT_TWICE)
    assert state == {"text": "Sending…", "disabled": "true", "second": True}, state
    # No answer: the service worker keeps it on the phone and says so; the replay sends it.
    expect(page).to_have_url(re.compile(r"/outbox\?queued=1"))
    expect(page.locator("#outbox-receipts > li").first).to_contain_text(marker, timeout=LONG_WAIT)
    code_shown = page.locator("#outbox-receipts .outbox-code strong").first
    expect(code_shown).to_have_text(re.compile(r"^[A-Z2-9]{8}$"))
    code = code_shown.inner_text()
    expect(page.locator("#outbox-list > li")).to_have_count(0)
    assert len(held) == 1
    # The held first post reaches the server after all: the same report, nothing new.
    late = held[0].fetch()
    held[0].fulfill(response=late)
    assert f"/t/{code}?" in late.url, late.url  # answered with the code the replay got
    context.unroute(re.compile(re.escape(path) + "$"))
    assert reports_with(new_context, marker) == 1


def test_my_day_counts_the_logs_waiting_on_the_phone(new_context, screenshot):
    """Issue #15: offline, the officer's My day shows what is still on the phone beside its numbers."""
    from tests.browser.test_outbox import controlled, fill_contact, offline_urls_cached, sign_in

    marker = f"myday-{uuid.uuid4().hex[:8]}"
    context = new_context("en")
    page = context.new_page()
    sign_in(page, "Community officer", "/field/contacts/new")
    controlled(page)
    offline_urls_cached(page)
    context.set_offline(True)
    for i in (1, 2):
        page.goto("/field/contacts/new")
        fill_contact(page, f"Resident {i}", f"{marker} {i}")
        page.get_by_role("button", name="Save").click()
        expect(page).to_have_url(re.compile(r"/outbox\?queued=1"))
    page.goto("/field")
    contacts = page.locator("[data-outbox-form='/field/contacts/new'] .stat-waiting")
    expect(contacts).to_have_text("+2 waiting to send")
    expect(page.locator("[data-outbox-form='/field/mediations/new'] .stat-waiting")).to_be_hidden()
    expect(page.locator("[data-outbox-day-total]")).to_have_text("2 waiting to send on this phone")
    screenshot(page, "public-outbox-06-my-day-waiting-en")
    context.set_offline(False)
    page.reload()
    expect(contacts).to_be_hidden(timeout=LONG_WAIT)
    expect(page.locator("[data-outbox-day-total]")).to_be_hidden()


def test_offline_the_form_is_checked_on_the_phone_before_it_is_queued(new_context, screenshot):
    context = new_context("en")
    page = context.new_page()
    page.goto("/locale/en?next=/report")
    page.evaluate(SW_READY)
    page.wait_for_function(SW_CONTROLLED)
    page.wait_for_function(CACHED, arg=["/outbox"], timeout=LONG_WAIT)
    context.set_offline(True)
    page.get_by_role("button", name="Send report").click()
    # Not queued: the missing place, kind and text are marked here, on the spot.
    expect(page.locator("#report-form .flash.error")).to_have_text("Please correct the marked fields.")
    for name in ("place", "category", "description"):
        expect(page.locator(f"#e-{name}")).not_to_be_empty()
    expect(page).to_have_url(re.compile(r"/report$"))
    assert page.evaluate("async () => (await self.QianmoOutbox.all()).length") == 0
    screenshot(page, "public-outbox-07-checked-offline-en")
    page.locator("#f-place").select_option(index=1)
    page.locator("label.chip").first.click()
    page.get_by_label("What is happening?").fill("A lamp is out in the garage")
    page.get_by_role("button", name="Send report").click()
    expect(page).to_have_url(re.compile(r"/outbox\?queued=1"))
    expect(page.locator("#outbox-list > li")).to_have_count(1)
    context.set_offline(False)
    expect(page.locator("#outbox-list > li")).to_have_count(0, timeout=LONG_WAIT)


def test_the_chosen_photo_is_kept_when_the_form_comes_back_with_an_error(new_context, screenshot):
    context = new_context("en")
    page = context.new_page()
    page.goto("/locale/en?next=/report")
    page.locator("#f-place").select_option(index=5)  # a place and kind no other test reports
    page.set_input_files(
        "input[name=photo]", files=[{"name": "lamp.jpg", "mimeType": "image/jpeg", "buffer": jpeg_bytes()}]
    )
    page.locator("label.chip").nth(3).click()
    page.get_by_label("What is happening?").fill("The lamp in the photo is out")
    page.locator("#f-phone").fill("call me")  # only the server knows it is no phone number: it refuses
    page.get_by_role("button", name="Send report").click()
    expect(page.locator("#form-error")).to_be_visible()
    expect(page.locator(".photo-again")).to_have_text("The photo you chose is kept.")
    assert page.evaluate("() => document.getElementById('f-photo').files[0].name") == "lamp.jpg"
    screenshot(page, "public-outbox-08-photo-kept-en")
    page.locator("#f-phone").fill("")
    page.get_by_role("button", name="Send report").click()
    expect(page.locator(".tracking-code")).to_be_visible()
    expect(page.locator("img.photo")).to_be_visible()  # the photo arrived with the report
