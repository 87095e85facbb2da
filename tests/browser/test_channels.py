"""The notification channels page on a phone (390×844), in zh-CN and in English: what this
browser can do, the button that turns phone notifications on (the subscription it sends is
stored for the officer), the kinds ticked for the phone kept; and the service worker showing a
push with its title, body and a local url only.

Chromium's own push service is out of reach here, so the page's pushManager.subscribe is
replaced by one that returns a subscription this test made (its endpoint on 127.0.0.1); the
rest (permission, the server's key, the POST with its CSRF token, the page's states) is the
page's own code. The push itself is delivered to the service worker through DevTools
(ServiceWorker.deliverPushMessage), as Chromium's push service would."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from playwright.sync_api import expect
from py_vapid import b64urlencode

from tests.browser.conftest import LIVE_ENV
from tests.browser.test_alerts import OFFICER, WORKER, sign_in_as
from tests.live import ROOT

pytestmark = pytest.mark.browser
TEXT = {
    "zh-CN": {
        "channels": "通知渠道",
        "off": "未开启",
        "on": "本机已开启",
        "turn_on": "开启手机通知",
        "alert": "网格警情",
        "work_order": "有一张工单派给了您",
        "save": "保存",
        "saved": "已保存",
    },
    "en": {
        "channels": "Notification channels",
        "off": "Off",
        "on": "On for this phone",
        "turn_on": "Turn on phone notifications",
        "alert": "Grid alert",
        "work_order": "A work order was assigned to you",
        "save": "Save",
        "saved": "Saved.",
    },
}
STUB = """
PushManager.prototype.subscribe = async function () {
  const json = %s;
  return { endpoint: json.endpoint, toJSON: () => json, unsubscribe: async () => true };
};
"""
SHOWN_EXACTLY = """async (wanted) => {
  const registration = await navigator.serviceWorker.ready;
  return (await registration.getNotifications()).some(
    (n) => n.title === wanted.title && n.body === wanted.body && n.data.url === wanted.url
  );
}"""
OWNER = """
import asyncio, sys
from app.tables import PushSubscription
async def main():
    return await PushSubscription.select(PushSubscription.person.name).where(
        PushSubscription.endpoint == sys.argv[1]).first()
row = asyncio.run(main())
print(row["person.name"] if row else "")
"""


def made_subscription() -> dict:
    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    endpoint = f"http://127.0.0.1:9/push/{uuid.uuid4().hex}"
    return {
        "endpoint": endpoint,
        "expirationTime": None,
        "keys": {"p256dh": b64urlencode(point), "auth": b64urlencode(b"0123456789abcdef")},
    }


def owner_of(endpoint: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", OWNER, endpoint], cwd=ROOT, env=LIVE_ENV, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_the_channels_page_turns_phone_notifications_on_and_keeps_the_kinds(new_context, screenshot, locale):
    t = TEXT[locale]
    who = OFFICER if locale == "zh-CN" else WORKER  # each starts from the defaults
    subscription = made_subscription()
    context = new_context(locale)
    context.grant_permissions(["notifications"])
    context.add_init_script(script=STUB % json.dumps(subscription))
    page = context.new_page()
    sign_in_as(page, who, locale)
    page.goto("/notifications")
    page.get_by_role("link", name=t["channels"]).click()
    expect(page.get_by_role("heading", name=t["channels"], level=1)).to_be_visible()
    phone = page.locator("#push-channel")
    expect(phone.locator("[data-push-state]")).to_have_text(t["off"])
    screenshot(page, f"channels-off-{locale}")

    phone.get_by_role("button", name=t["turn_on"]).click()
    expect(phone.locator("[data-push-state]")).to_have_text(t["on"])
    assert who.search(owner_of(subscription["endpoint"]))
    screenshot(page, f"channels-on-{locale}")

    alert, order = page.get_by_label(t["alert"], exact=True), page.get_by_label(t["work_order"], exact=True)
    expect(alert).to_be_checked()  # the defaults: urgent alerts on, work orders off
    expect(order).not_to_be_checked()
    alert.uncheck()
    order.check()
    page.get_by_role("button", name=t["save"], exact=True).click()
    expect(page.get_by_role("status")).to_contain_text(t["saved"])
    page.reload()
    expect(page.get_by_label(t["alert"], exact=True)).not_to_be_checked()
    expect(page.get_by_label(t["work_order"], exact=True)).to_be_checked()
    page.get_by_label(t["work_order"], exact=True).scroll_into_view_if_needed()
    screenshot(page, f"channels-kinds-{locale}")


def test_the_service_worker_shows_a_push_and_keeps_only_a_local_url(new_context, live_server):
    context = new_context("zh-CN")
    context.grant_permissions(["notifications"])
    page = context.new_page()
    page.goto("/offline")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    cdp = context.new_cdp_session(page)
    registrations: list[dict] = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda e: registrations.extend(e["registrations"]))
    cdp.send("ServiceWorker.enable")
    deadline = time.monotonic() + 30  # DevTools reports the registrations as events: wait for them
    while not any(not r.get("isDeleted") for r in registrations) and time.monotonic() < deadline:
        page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    registration = next(r for r in registrations if not r.get("isDeleted"))
    pushes = (
        ({"title": "网格警情", "body": "两户邻居要打起来了", "url": "/alerts/7"}, "/alerts/7"),
        ({"title": "t", "body": "b", "url": "https://evil.example/x"}, "/"),  # a foreign url: home
    )
    for data, url in pushes:
        cdp.send(
            "ServiceWorker.deliverPushMessage",
            {"origin": live_server, "registrationId": registration["registrationId"], "data": json.dumps(data)},
        )
        # One at a time, each waited for until the worker shows it with its title, body and the
        # url it keeps (this Chromium lists shown notifications unreliably, so the two are not
        # read side by side, and a wrong url never matches: the wait times out and fails).
        page.wait_for_function(SHOWN_EXACTLY, arg={**data, "url": url}, timeout=30_000)


IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"


@pytest.mark.parametrize(
    ("user_agent", "note"),
    [(None, "WeChat's built-in browser"), (IPHONE, "add Qianmo to the Home Screen")],
)
def test_a_browser_without_push_says_why_and_offers_no_button(new_context, user_agent, note):
    """A browser without the Push API (WeChat's, an iPhone's Safari outside the Home Screen)."""
    context = new_context("en", **({"user_agent": user_agent} if user_agent else {}))
    context.add_init_script(script="delete window.PushManager;")
    page = context.new_page()
    sign_in_as(page, OFFICER, "en")
    page.goto("/notifications/channels")
    phone = page.locator("#push-channel")
    expect(phone.locator("[data-push-state]")).to_have_text("Not available")
    expect(phone.locator("[data-push-note]")).to_contain_text(note)
    expect(phone.get_by_role("button")).to_have_count(0)


OWNER_CODE = """
import asyncio, sys
from app.tables import PushSubscription
async def main():
    return await PushSubscription.select(PushSubscription.tracking).where(
        PushSubscription.endpoint == sys.argv[1]).first()
row = asyncio.run(main())
print(row["tracking"] if row else "")
"""


def test_a_resident_asks_to_be_notified_and_the_open_tracking_page_shows_the_reply_by_itself(new_context, screenshot):
    from tests.browser.test_reports import print_poster, sign_in

    staff = new_context("zh-CN").new_page()
    sign_in(staff)
    # Not test_reports' place: its e-bike report there must not meet this one as "already reported".
    url = print_poster(staff, lambda *a, **k: None, "紫薇菜市场")

    subscription = made_subscription()
    context = new_context("zh-CN")
    context.grant_permissions(["notifications"])
    context.add_init_script(script=STUB % json.dumps(subscription))
    resident = context.new_page()
    resident.goto(url)
    resident.locator("label.chip", has_text="电动车违规充电").click()
    resident.get_by_label("发生了什么？").fill("5号楼门口电动车充电，线拉到路上")
    resident.get_by_role("button", name="提交反映").click()
    code = resident.locator(".tracking-code").inner_text().strip()
    notify = resident.locator("#push-channel")
    expect(notify.locator("[data-push-state]")).to_have_text("未开启")
    notify.get_by_role("button", name="有进展时通知本机").click()
    expect(notify.locator("[data-push-state]")).to_have_text("本机已开启")
    done = subprocess.run(
        [sys.executable, "-c", OWNER_CODE, subscription["endpoint"]],
        cwd=ROOT,
        env=LIVE_ENV,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == code
    notify.scroll_into_view_if_needed()
    screenshot(resident, "channels-tracking-zh-CN")

    # The officer replies; the resident's page, left open, shows it without a reload.
    staff.goto("/reports")
    staff.locator(".report-queue .card", has_text="5号楼门口电动车充电").get_by_role("link").click()
    staff.get_by_role("button", name="受理").click()
    staff.get_by_label("内容").fill("已安排网格员今晚查看")
    staff.get_by_role("button", name="发送公开答复").click()
    expect(staff.locator(".timeline")).to_contain_text("已安排网格员今晚查看")
    expect(resident.locator("#live-status .timeline")).to_contain_text("已安排网格员今晚查看", timeout=90_000)
    expect(resident.locator("#live-status .status-badge")).to_have_text("已受理")

    english = new_context("en").new_page()
    english.goto(f"/t/{code}")
    expect(english.locator("#push-channel")).to_contain_text("Phone notifications")
    english.locator("#push-channel").scroll_into_view_if_needed()
    screenshot(english, "channels-tracking-en")
