"""The offline outbox as an officer on a phone sees it: forms sent without a signal are kept
on the phone, listed, counted in the header, and sent when the signal returns, exactly once.

What the database holds is read back through the app itself (an administrator's CSV export of
the field logs), so the test does not depend on the database engine. No sleeps: every wait is
Playwright's auto-waiting `expect` or `wait_for_function`."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import LONG_WAIT

pytestmark = pytest.mark.browser

SW_READY = "async () => { await navigator.serviceWorker.ready; return true; }"
SW_CONTROLLED = "() => navigator.serviceWorker.controller !== null"
# Whether the worker's pages cache holds every URL of `arg`. wait_for_function does not await
# a promise (an async predicate would pass at once), so the predicate starts the asynchronous
# check and answers with the last finished one.
CACHED = """(urls) => {
  const key = urls.join(" ");
  if (!window.__cacheCheck) {
    window.__cacheCheck = (async () => {
      for (const url of urls) {
        let hit = null;
        for (const name of (await caches.keys()).filter((n) => n.startsWith("qianmo-pages-"))) {
          hit = hit || await (await caches.open(name)).match(new URL(url, location.href).href, {ignoreVary: true});
        }
        if (!hit) return false;
      }
      return true;
    })().then((value) => { window.__cacheResult = {key, value}; window.__cacheCheck = null; });
  }
  return Boolean(window.__cacheResult && window.__cacheResult.key === key && window.__cacheResult.value);
}"""
OUTBOX_ENTRIES = "async () => (await self.QianmoOutbox.all()).map((e) => ({uuid: e.uuid, state: e.state, message: e.message, title: e.title, url: e.url, fields: e.fields.filter(([k, v]) => typeof v !== 'string').map(([k, v]) => [k, v.size, v.type])}))"
# A copy of the stored entries (photos included) in a database of the test's own, and back.
KEEP_COPY = """async () => {
  const entries = await self.QianmoOutbox.all();
  await new Promise((resolve, reject) => {
    const open = indexedDB.open("outbox-test-copy", 1);
    open.onupgradeneeded = () => open.result.createObjectStore("copy", {keyPath: "uuid"});
    open.onsuccess = () => {
      const tx = open.result.transaction("copy", "readwrite");
      entries.forEach((entry) => tx.objectStore("copy").put(entry));
      tx.oncomplete = () => { open.result.close(); resolve(); };
      tx.onerror = () => reject(tx.error);
    };
    open.onerror = () => reject(open.error);
  });
  return entries.length;
}"""
PUT_COPY_BACK = """async () => {
  const entries = await new Promise((resolve, reject) => {
    const open = indexedDB.open("outbox-test-copy", 1);
    open.onsuccess = () => {
      const request = open.result.transaction("copy").objectStore("copy").getAll();
      request.onsuccess = () => { open.result.close(); resolve(request.result); };
      request.onerror = () => reject(request.error);
    };
    open.onerror = () => reject(open.error);
  });
  for (const entry of entries) {
    await self.QianmoOutbox.put(entry);
  }
  return entries.length;
}"""
ASK_REPLAY = "async () => { (await navigator.serviceWorker.ready).active.postMessage({type: 'replay'}); }"


def jpeg_bytes() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 60, 40)).save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def sign_in(page, role_label: str, next_path: str) -> str:
    """Demo sign-in as the first person holding the role; returns their name."""
    page.goto(f"/signin?next={next_path}")
    button = page.get_by_role("button", name=re.compile(rf"^{re.escape(role_label)} · ")).first
    name = button.inner_text().split(" · ", 1)[1].strip()
    button.click()
    expect(page).to_have_url(re.compile(re.escape(next_path) + r"$"))
    return name


def controlled(page) -> None:
    """Waits for the worker, then reloads so that it controls the page (and has cached it)."""
    page.evaluate(SW_READY)
    page.reload()
    assert page.evaluate(SW_CONTROLLED), "the service worker does not control the page"


def offline_urls_cached(page) -> list[str]:
    """Waits until every URL the page asked the worker to keep (and /outbox) is cached."""
    urls = sorted({*(page.locator("body").get_attribute("data-offline-urls") or "").split(), "/outbox"})
    page.wait_for_function(CACHED, arg=urls, timeout=LONG_WAIT)
    return urls


def badge(page):
    return page.locator("[data-outbox-badge]")


def fill_contact(page, name: str, note: str) -> None:
    page.locator("#f-place").select_option(index=1)
    page.locator("input[name=subject_kind]").first.check(force=True)
    page.locator("#f-subject_name").fill(name)
    page.locator("#f-note").fill(note)


def fill_campaign(page, note: str, photo: bytes) -> None:
    page.locator("#f-place").select_option(index=1)
    page.locator("input[name=topic]").first.check(force=True)
    page.locator("#f-leaflets").fill("40")
    page.locator("#f-reached").fill("25")
    page.locator("#f-note").fill(note)
    page.locator("#f-photo").set_input_files(files=[{"name": "drop.jpg", "mimeType": "image/jpeg", "buffer": photo}])


def logs_with(browser_context_factory, marker: str) -> list[dict[str, str]]:
    """The field logs whose note carries `marker`, from an administrator's CSV export (English headers)."""
    context = browser_context_factory("en")
    page = context.new_page()
    sign_in(page, "Administrator", "/field/logs")
    page.goto("/locale/en?next=/field/logs")  # the export speaks the reader's language: English here
    response = page.request.get("/field/logs/export.csv")
    assert response.ok, response.status
    rows = list(csv.reader(io.StringIO(response.text().lstrip("\ufeff"))))
    header, body = rows[0], rows[1:]
    found = [dict(zip(header, row)) for row in body]
    context.close()
    return [row for row in found if marker in " ".join(row.values())]


# --- the journey ---------------------------------------------------------------------------


def test_offline_contacts_and_a_campaign_drop_are_sent_once(new_context, screenshot):
    marker = f"outbox-{uuid.uuid4().hex[:8]}"
    context = new_context("en")
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, "Community officer", "/field/contacts/new")
    controlled(page)
    # Kept for offline use without being visited: My day, the forms, My area, the outbox.
    urls = offline_urls_cached(page)
    assert {
        "/field",
        "/field/contacts/new",
        "/field/campaign-drops/new",
        "/field/mediations/new",
        "/area",
        "/outbox",
    } <= set(urls), urls
    expect(badge(page)).to_be_hidden()

    context.set_offline(True)
    for path in ("/field", "/area", "/field/campaign-drops/new"):
        page.goto(path)
        expect(page).not_to_have_title(re.compile("You are offline"))
        expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.goto("/field/contacts/new")
    seen_uuids = set()
    for i in range(1, 21):
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        seen_uuids.add(page.locator("input[name=client_uuid]").input_value())
        fill_contact(page, f"Resident {i}", f"{marker} contact {i}")
        page.get_by_role("button", name="Save").click()
        expect(page).to_have_url(re.compile(r"/outbox\?queued=1"))
        expect(page.locator("#outbox-queued")).to_be_visible()
        expect(page.locator("#outbox-queued")).to_contain_text("Saved on this phone.")
        expect(badge(page)).to_be_visible()
        expect(badge(page).locator("[data-outbox-count]")).to_have_text(str(i))
        if i == 1:
            screenshot(page, "outbox-01-queued-en")
        page.get_by_role("link", name="Record another").click()
        expect(page).to_have_url(re.compile(r"/field/contacts/new$"))
    assert len(seen_uuids) == 20, "a cached form must get a new client_uuid each time it is shown"

    page.goto("/field/campaign-drops/new")
    fill_campaign(page, f"{marker} campaign", jpeg_bytes())
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(r"/outbox\?queued=1"))
    expect(badge(page).locator("[data-outbox-count]")).to_have_text("21")

    # Still offline, the page reloaded: everything is still there, listed and counted.
    page.reload()
    expect(page.get_by_role("heading", level=1, name="Waiting to send")).to_be_visible()
    expect(badge(page).locator("[data-outbox-count]")).to_have_text("21")
    cards = page.locator("#outbox-list > li")
    expect(cards).to_have_count(21)
    # Newest first: the campaign drop (its note as the summary), then contact 20 ... contact 1.
    expect(cards.first).to_contain_text("Log a campaign drop")
    expect(cards.first).to_contain_text(f"{marker} campaign · With photo")
    expect(cards.nth(1)).to_contain_text("Resident 20")
    expect(cards.last).to_contain_text("Resident 1")
    expect(cards.last).to_contain_text("Waiting to send")
    entries = page.evaluate(OUTBOX_ENTRIES)
    assert len({e["uuid"] for e in entries}) == 21
    photo = [e for e in entries if e["fields"] and e["fields"][0][0] == "photo" and e["fields"][0][1] > 0]
    assert len(photo) == 1 and photo[0]["fields"][0][2] == "image/jpeg", entries[-1]
    screenshot(page, "outbox-02-waiting-en")
    assert page.evaluate(KEEP_COPY) == 21

    # The signal returns: everything is sent, the list empties, the badge goes.
    context.set_offline(False)
    expect(cards).to_have_count(0, timeout=LONG_WAIT)
    expect(badge(page)).to_be_hidden()
    expect(page.locator("#outbox-empty")).to_be_visible()
    screenshot(page, "outbox-03-sent-en")

    rows = logs_with(new_context, marker)
    assert len(rows) == 21, [r["Note"] for r in rows]
    assert len({r["Note"] for r in rows}) == 21, "a record was created twice"
    assert sorted(r["Kind of log"] for r in rows) == ["Campaign drop"] + ["Contact"] * 20

    # The same 21 requests replayed again (a phone that lost the answers): nothing new.
    page.goto("/outbox")
    assert page.evaluate(PUT_COPY_BACK) == 21
    page.evaluate(ASK_REPLAY)
    expect(cards).to_have_count(0, timeout=LONG_WAIT)
    expect(page.locator("#outbox-status")).to_have_text(re.compile(r"Sent: 21\."))
    rows = logs_with(new_context, marker)
    assert len(rows) == 21
    assert len({r["Number"] for r in rows}) == 21


def test_a_refused_replay_stays_listed_with_the_message_and_can_be_fixed(new_context, screenshot):
    marker = f"refused-{uuid.uuid4().hex[:8]}"
    context = new_context("en")
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, "Community officer", "/field/contacts/new")
    controlled(page)
    page.goto("/field/contacts/new")
    page.wait_for_function(CACHED, arg=["/field/contacts/new", "/outbox"])

    context.set_offline(True)
    page.goto("/field/contacts/new")
    fill_contact(page, "Late follow-up", f"{marker} past follow-up")
    yesterday = (date.today() - timedelta(days=2)).isoformat()
    # The phone checks the form before queueing it (the date's `min`); a rule the phone does not
    # know (a page cached before the rule came) is the server's to refuse on replay.
    page.locator("#f-follow_up_on").evaluate(
        "(el, value) => { el.removeAttribute('min'); el.value = value; }", yesterday
    )
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(r"/outbox\?queued=1"))
    # A second one, which the server accepts.
    page.get_by_role("link", name="Record another").click()
    fill_contact(page, "All fine", f"{marker} accepted")
    page.get_by_role("button", name="Save").click()
    expect(badge(page).locator("[data-outbox-count]")).to_have_text("2")

    context.set_offline(False)
    cards = page.locator("#outbox-list > li")
    refused = cards.filter(has_text="Late follow-up")
    expect(refused).to_contain_text("Not accepted", timeout=LONG_WAIT)
    expect(refused).to_contain_text("The follow-up date cannot be in the past")
    expect(badge(page).locator("[data-outbox-count]")).to_have_text("1")
    expect(page.locator("#outbox-status")).to_contain_text("Not accepted: 1.")
    screenshot(page, "outbox-04-refused-en")

    # Reloading or another replay does not drop it.
    page.reload()
    expect(refused).to_have_count(1)
    expect(refused).to_contain_text("The follow-up date cannot be in the past")

    # Fix: the form comes back filled in, with the server's message; corrected, it is sent.
    refused.get_by_role("link", name="Fix").click()
    expect(page).to_have_url(re.compile(r"/field/contacts/new\?outbox="))
    expect(page.locator("#f-subject_name")).to_have_value("Late follow-up")
    expect(page.locator("#f-follow_up_on")).to_have_value(yesterday)
    expect(page.get_by_role("alert").first).to_contain_text("not accepted by the server")
    screenshot(page, "outbox-05-fix-en")
    page.locator("#f-follow_up_on").fill("")
    page.get_by_role("button", name="Save").click()
    page.goto("/outbox")
    expect(cards).to_have_count(0)
    rows = logs_with(new_context, marker)
    assert sorted(r["Full name"] for r in rows) == ["All fine", "Late follow-up"]


def test_discard_asks_first_and_removes_the_entry(new_context):
    context = new_context("en")
    page = context.new_page()
    sign_in(page, "Community officer", "/field/contacts/new")
    controlled(page)
    page.wait_for_function(CACHED, arg=["/field/contacts/new", "/outbox"])
    context.set_offline(True)
    page.goto("/field/contacts/new")
    fill_contact(page, "Changed my mind", "discard me")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(r"/outbox\?queued=1"))
    cards = page.locator("#outbox-list > li")
    expect(cards).to_have_count(1)
    # Cancelled: it stays.
    page.once("dialog", lambda dialog: dialog.dismiss())
    cards.first.get_by_role("button", name="Discard").click()
    expect(cards).to_have_count(1)
    page.once("dialog", lambda dialog: dialog.accept())
    cards.first.get_by_role("button", name="Discard").click()
    expect(cards).to_have_count(0)
    expect(badge(page)).to_be_hidden()
    context.set_offline(False)


def test_chinese_outbox_and_another_users_entries(new_context, screenshot):
    """zh-CN: queued offline, the page and badge speak Chinese. The officer's session ends
    before the signal returns and a grid worker signs in on the same phone: the entry is kept,
    shown as someone else's and not sent under the wrong name; the officer signs in again and
    it goes out under theirs."""
    from app import i18n

    i18n.set_locale("zh_CN")
    _ = i18n.gettext
    marker = f"zh-{uuid.uuid4().hex[:8]}"
    context = new_context("zh-CN")
    page = context.new_page()
    officer = sign_in(page, _("Community officer"), "/field/contacts/new")
    controlled(page)
    page.wait_for_function(CACHED, arg=["/field/contacts/new", "/outbox"])
    context.set_offline(True)
    page.goto("/field/contacts/new")
    fill_contact(page, "张三", f"{marker} 离线走访")
    page.locator("#log-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/outbox\?queued=1"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("heading", level=1, name=_("Waiting to send"))).to_be_visible()
    expect(page.locator("#outbox-queued")).to_contain_text(_("Saved on this phone."))
    expect(page.get_by_role("button", name=_("Send now"))).to_be_hidden()  # no use without a signal
    expect(badge(page)).to_contain_text(_("Unsent"))
    expect(badge(page).locator("[data-outbox-count]")).to_have_text("1")
    expect(page.get_by_role("navigation", name="主导航")).to_be_visible()
    screenshot(page, "outbox-06-queued-zh")

    # The session ends (expired, or ended by an administrator) while the phone is offline.
    context.clear_cookies()
    context.set_offline(False)
    expect(page.locator("#outbox-status")).to_have_text(_("Sign in again to send them."), timeout=LONG_WAIT)
    expect(page.locator("#outbox-list > li")).to_have_count(1)

    sign_in(page, _("Grid worker"), "/outbox")
    others = page.locator("#outbox-others > li")
    expect(others).to_have_count(1)
    expect(others).to_contain_text(_("Belongs to another user: sign in as them to send it."))
    expect(others.get_by_role("button")).to_have_count(0)
    expect(others.get_by_role("link")).to_have_count(0)
    expect(page.locator("#outbox-list > li")).to_have_count(0)
    expect(badge(page)).to_be_hidden()
    page.evaluate(ASK_REPLAY)
    expect(page.locator("#outbox-status")).to_have_text(_("Nothing to send."))
    expect(others).to_have_count(1)
    screenshot(page, "outbox-07-other-user-zh")
    assert logs_with(new_context, marker) == []

    # The officer signs in again: sent on the next page load, under the officer's name.
    page.goto("/me")
    page.locator("form[action='/signout'] button").click()
    sign_in(page, _("Community officer"), "/outbox")
    expect(page.locator("#outbox-list > li")).to_have_count(0, timeout=LONG_WAIT)
    expect(page.locator("#outbox-others > li")).to_have_count(0)
    rows = logs_with(new_context, marker)
    assert [(r["Author"], r["Full name"]) for r in rows] == [(officer, "张三")]


# --- a session ended elsewhere (an administrator's "lost phone") -------------------------------

# Whether the worker's pages cache still holds `arg` (the same start-then-read pattern as CACHED).
STILL_CACHED = """(url) => {
  if (!window.__heldCheck) {
    window.__heldCheck = (async () => {
      for (const name of (await caches.keys()).filter((n) => n.startsWith("qianmo-pages-"))) {
        if (await (await caches.open(name)).match(new URL(url, location.href).href, {ignoreVary: true})) return true;
      }
      return false;
    })().then((value) => { window.__held = {url, value}; window.__heldCheck = null; });
  }
  return Boolean(window.__held && window.__held.url === url && window.__held.value === false);
}"""


# A form post as htmx would send it (the page's CSRF token in the header), answered 401 when
# the session is gone.
POST_WITHOUT_SESSION = """async () => {
  const token = JSON.parse(document.body.getAttribute("hx-headers"))["x-csrftoken"];
  const response = await fetch("/field/contacts/new", {
    method: "POST", body: new URLSearchParams({note: "x"}), headers: {"x-csrftoken": token}});
  return response.status;
}"""


def test_a_revoked_session_leaves_no_private_page_offline_but_keeps_the_outbox(new_context, screenshot):
    marker = f"revoked-{uuid.uuid4().hex[:8]}"
    context = new_context("en")
    page = context.new_page()
    sign_in(page, "Community officer", "/field/contacts/new")
    controlled(page)
    offline_urls_cached(page)
    officer = page.locator("body").get_attribute("data-person")
    # A private page: the officer's own log, with the resident's full phone number.
    fill_contact(page, "Resident with a phone", f"{marker} online")
    page.locator("#f-subject_phone").fill("13912345678")
    page.get_by_role("button", name="Save").click()
    page.get_by_role("link", name="Open the log").click()
    expect(page.locator("main")).to_contain_text("13912345678")
    log_page = page.evaluate("location.pathname")
    assert log_page.startswith("/field/logs/"), log_page
    # A contact queued offline, while the session still lives.
    context.set_offline(True)
    page.goto("/field/contacts/new")
    fill_contact(page, "Queued resident", f"{marker} queued")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(r"/outbox\?queued=1"))

    # The administrator ends every session of the officer (a lost phone).
    admin = new_context("en").new_page()
    sign_in(admin, "Administrator", f"/people/{officer}")
    admin.on("dialog", lambda dialog: dialog.accept())
    admin.locator("form[action$='/lost-phone'] button").click()
    expect(admin.get_by_role("heading", name="Invitation link")).to_be_visible()

    # Back online, the phone's next request finds the session gone.
    context.set_offline(False)
    assert page.evaluate(POST_WITHOUT_SESSION) == 401
    page.wait_for_function(STILL_CACHED, arg=log_page, timeout=LONG_WAIT)
    page.wait_for_function(STILL_CACHED, arg="/field", timeout=LONG_WAIT)

    # Offline again: the log (and every other signed-in page) is not shown from the phone.
    context.set_offline(True)
    for path in (log_page, "/field"):
        page.goto(path)
        expect(page).to_have_title(re.compile("You are offline"))
        expect(page.locator("body")).not_to_contain_text("13912345678")
    screenshot(page, "outbox-06-revoked-offline-en")
    # The queued contact is still on the phone, waiting for its owner's next sign-in.
    entries = page.evaluate(OUTBOX_ENTRIES)
    assert [(e["url"], e["state"]) for e in entries] == [("/field/contacts/new", "waiting")]
    # The sign-in page says so: the officer knows the contact is not lost.
    context.set_offline(False)
    page.goto("/signin")
    expect(page.locator("[data-outbox-waiting]")).to_have_text(
        "Records waiting on this phone: 1. Sign in and they are sent."
    )


def test_an_invalid_log_is_held_on_the_phone_even_online(new_context, screenshot):
    """A post that gets no answer within 8 s is queued by the worker, unchecked by the server:
    so the phone checks the form before it leaves, online as well as offline (−5 leaflets),, and nothing is sent until it is fixed."""
    context = new_context("en")
    page = context.new_page()
    sign_in(page, "Community officer", "/field/campaign-drops/new")
    controlled(page)
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" and "/field/" in r.url else None)
    page.locator("#f-place").select_option(index=1)
    page.locator("input[name=topic]").first.check(force=True)
    page.locator("#f-leaflets").fill("-5")
    page.locator("#f-reached").fill("25")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#log-form .flash.error")).to_have_text("Please correct the marked fields.")
    expect(page.locator("#f-leaflets")).to_have_attribute("aria-invalid", "true")
    screenshot(page, "outbox-09-checked-online-en")
    assert posts == [], posts
    expect(badge(page)).to_be_hidden()
    # Fixed, it goes out and is saved.
    page.locator("#f-leaflets").fill("5")
    page.locator("#f-note").fill(f"checked-{uuid.uuid4().hex[:6]}")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#log-status")).to_contain_text("Saved")
    assert len(posts) == 1, posts
