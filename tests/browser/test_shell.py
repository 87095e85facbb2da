"""The shell as a person on a phone sees it: languages, the installable PWA, the offline
page, and the organisation admin (search, validation, create). No sleeps: every check
waits through Playwright's auto-waiting `expect`."""

from __future__ import annotations

import json
import re
import uuid
from urllib.parse import urljoin

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import LONG_WAIT

pytestmark = pytest.mark.browser

SW_READY = """async () => {
  const reg = await navigator.serviceWorker.ready;
  return {scope: reg.scope, state: reg.active && reg.active.state};
}"""
SW_CONTROLLED = "() => navigator.serviceWorker.controller !== null"


def html(page):
    return page.locator("html")


def bottom_nav(page):
    return page.locator("nav.bottomnav")


def controlled_by_service_worker(page, base_url: str) -> None:
    """Waits until the service worker is active, then reloads so that it controls the page."""
    registration = page.evaluate(SW_READY)
    assert registration["scope"] == base_url + "/", registration
    page.reload()
    assert page.evaluate(SW_CONTROLLED), "the service worker does not control the page after a reload"


# --- home page in both languages ------------------------------------------------------------


def test_home_in_chinese_by_default(new_context, screenshot):
    page = new_context("zh-CN").new_page()
    page.goto("/")
    expect(html(page)).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("heading", level=1, name="阡陌")).to_be_visible()
    expect(page).to_have_title(re.compile("阡陌"))
    nav = bottom_nav(page)
    expect(nav).to_be_visible()
    expect(nav).to_have_attribute("aria-label", "主导航")
    expect(nav.get_by_role("link", name="首页")).to_be_visible()
    expect(nav.get_by_role("link", name="登录")).to_be_visible()
    expect(nav.get_by_role("link", name="首页")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("link", name="English", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="中文")).to_have_count(0)
    expect(page.get_by_role("main").get_by_role("link", name="登录")).to_be_visible()
    # The bottom navigation stays on screen: it ends at the bottom of the phone's viewport.
    box = nav.bounding_box()
    assert box is not None and abs(box["y"] + box["height"] - 844) <= 1, box
    screenshot(page, "01-home-zh")


def test_home_in_english_when_the_browser_asks_for_it(new_context, screenshot):
    page = new_context("en-US").new_page()
    page.goto("/")
    expect(html(page)).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1, name="Qianmo")).to_be_visible()
    nav = bottom_nav(page)
    expect(nav).to_be_visible()
    expect(nav.get_by_role("link", name="Home")).to_be_visible()
    expect(nav.get_by_role("link", name="Sign in")).to_be_visible()
    expect(page.get_by_role("link", name="中文", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="English")).to_have_count(0)
    expect(page.get_by_text("阡陌")).to_have_count(0)
    screenshot(page, "02-home-en")


def test_dark_mode_home_renders(new_context, screenshot):
    """Dark mode: the page follows the system setting (a person looks at the screenshot)."""
    page = new_context("zh-CN", color_scheme="dark").new_page()
    page.goto("/")
    expect(page.get_by_role("heading", level=1, name="阡陌")).to_be_visible()
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    channels = [int(c) for c in re.findall(r"\d+", background)[:3]]
    assert channels and max(channels) < 128, f"dark mode background is light: {background}"
    screenshot(page, "03-home-zh-dark")


# --- switching language -------------------------------------------------------------------


def test_switching_language_is_remembered(new_context, screenshot):
    context = new_context("zh-CN")
    page = context.new_page()
    page.goto("/")
    expect(html(page)).to_have_attribute("lang", "zh-CN")

    page.get_by_role("link", name="English", exact=True).click()
    expect(html(page)).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1, name="Qianmo")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/$"))
    screenshot(page, "04-switched-to-en")

    # The next navigation (and a new tab) stays English although the browser asks for Chinese.
    bottom_nav(page).get_by_role("link", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/signin$"))
    expect(page.get_by_role("heading", level=1, name="Sign in")).to_be_visible()
    other_tab = context.new_page()
    other_tab.goto("/")
    expect(html(other_tab)).to_have_attribute("lang", "en")
    other_tab.close()

    # Switching back keeps the page the person is on.
    page.get_by_role("link", name="中文", exact=True).click()
    expect(html(page)).to_have_attribute("lang", "zh-CN")
    expect(page).to_have_url(re.compile(r"/signin$"))
    expect(page.get_by_role("heading", level=1, name="登录")).to_be_visible()
    page.goto("/")
    expect(page.get_by_role("heading", level=1, name="阡陌")).to_be_visible()


# --- PWA: manifest, service worker, installability ------------------------------------------


def test_manifest_service_worker_and_installable(persistent_context, live_server, screenshot):
    page = persistent_context.pages[0] if persistent_context.pages else persistent_context.new_page()
    page.goto("/")

    href = page.locator('link[rel="manifest"]').get_attribute("href")
    assert href, "no <link rel=manifest>"
    response = page.request.get(href)
    assert response.ok, f"manifest {href}: HTTP {response.status}"
    manifest = json.loads(response.text())
    assert "Qianmo" in manifest.get("name", ""), manifest
    assert manifest.get("display") == "standalone", manifest
    sizes = {}
    for icon in manifest.get("icons", []):
        for size in icon.get("sizes", "").split():
            sizes[size] = icon
    assert {"192x192", "512x512"} <= set(sizes), manifest.get("icons")
    for size in ("192x192", "512x512"):
        icon = page.request.get(urljoin(response.url, sizes[size]["src"]))
        assert icon.ok and icon.headers["content-type"] == "image/png", (size, icon.status)
        png = icon.body()
        assert png[:8] == b"\x89PNG\r\n\x1a\n", size
        width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
        assert f"{width}x{height}" == size, f"{sizes[size]['src']} is {width}x{height}, not {size}"

    controlled_by_service_worker(page, live_server)

    cdp = persistent_context.new_cdp_session(page)
    errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    assert errors == [], f"Chromium does not consider the app installable: {errors}"
    screenshot(page, "05-installable-home")


# --- offline ---------------------------------------------------------------------------------

# wait_for_function does not await a promise (an async predicate would pass at once), so the
# predicate starts the asynchronous check and answers with the last finished one.
OFFLINE_PAGE_CACHED_IN = """(lang) => {
  if (!window.__offlineCheck) {
    window.__offlineCheck = caches.match("/offline", {ignoreVary: true})
      .then((page) => (page ? page.text() : ""))
      .then((text) => { window.__offlineCached = text.includes(`<html lang="${lang}"`); window.__offlineCheck = null; });
  }
  return window.__offlineCached === true;
}"""


def _offline_heading_shown(page, heading: str, online_heading: str, screenshot, name: str) -> None:
    context = page.context
    context.set_offline(True)
    try:
        # Never visited: nothing of it is cached, so the service worker answers with /offline.
        page.goto("/signin")
        expect(page.get_by_role("heading", level=1, name=heading)).to_be_visible()
        screenshot(page, name)
    finally:
        context.set_offline(False)
    page.goto("/signin")
    expect(page.get_by_role("heading", level=1, name=online_heading)).to_be_visible()


def test_offline_page_in_chinese(new_context, live_server, screenshot):
    page = new_context("zh-CN").new_page()
    page.goto("/")
    controlled_by_service_worker(page, live_server)
    _offline_heading_shown(page, "当前离线", "登录", screenshot, "06-offline-zh")


def test_offline_page_follows_a_language_switch(new_context, live_server, screenshot):
    """The service worker was installed while the page was Chinese; the person then chose
    English: offline, the page they see is English."""
    page = new_context("zh-CN").new_page()
    page.goto("/")
    controlled_by_service_worker(page, live_server)
    page.get_by_role("link", name="English", exact=True).click()
    expect(html(page)).to_have_attribute("lang", "en")
    # The worker fetches the new /offline in the background after the switch: wait for it
    # (a person switching language and then losing the signal a moment later sees the same).
    page.wait_for_function(OFFLINE_PAGE_CACHED_IN, arg="en", timeout=LONG_WAIT)
    _offline_heading_shown(page, "You are offline", "Sign in", screenshot, "07-offline-en")


# --- organisation admin at phone size --------------------------------------------------------


def test_places_search_validate_and_create(new_context, screenshot):
    page = new_context("zh-CN").new_page()
    page.goto("/admin/org/place")
    # Signed out: the sign-in page; demo mode offers a button per demo person.
    expect(page.get_by_role("heading", level=1, name="登录")).to_be_visible()
    page.get_by_role("button", name=re.compile(r"^系统管理员 · ")).click()
    expect(page).to_have_url(re.compile(r"/admin/org/place$"))
    expect(page.get_by_role("heading", level=1, name="地点")).to_be_visible()
    cards = page.locator("#results .cards > li")
    count = page.locator("#results .count")
    expect(count).to_have_text(re.compile(r"共 \d+ 条"))
    total = int(re.search(r"\d+", count.inner_text()).group())
    assert total >= 30, f"the demo district should have at least 30 places, the list says {total}"
    expect(cards).to_have_count(min(total, 50))
    screenshot(page, "08-places")

    # Typing narrows the list in place (htmx), without a page load.
    page.evaluate("window.__sameDocument = true")
    page.get_by_role("searchbox").fill("马赛")
    expect(count).to_have_text("共 3 条")
    expect(cards).to_have_count(3)
    for name in ("马赛公馆", "马赛商业广场", "马赛幼儿园"):
        expect(cards.filter(has_text=name)).to_have_count(1)
    assert page.evaluate("window.__sameDocument === true"), "the search reloaded the whole page"
    expect(page).to_have_url(re.compile(r"q=%E9%A9%AC%E8%B5%9B"))
    screenshot(page, "09-places-search")

    # An empty form: errors next to the fields, in Chinese, and nothing created.
    page.get_by_role("link", name="新增").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("新增"))
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("alert")).to_have_text("请更正标出的字段。")
    for field, role, label in (("grid", "combobox", "网格"), ("name", "textbox", "名称"), ("kind", "combobox", "类型")):
        control = page.get_by_role(role, name=label, exact=True)
        expect(control).to_have_attribute("aria-invalid", "true")
        expect(control).to_have_accessible_description(re.compile("必填"))
        # The message sits next to its field, not only in a summary at the top.
        expect(page.locator(".field", has=page.locator(f"#f-{field}")).locator(".error")).to_have_text("必填")
    screenshot(page, "10-place-form-errors")

    # Filled in correctly: back on the list, with the new place shown.
    new_name = f"测试广场{uuid.uuid4().hex[:4]}"
    page.locator("#f-grid").select_option(label="泰和一网格")
    page.locator("#f-name").fill(new_name)
    page.locator("#f-kind").select_option(label="公园")
    page.locator("#f-address").fill("泰和路1号")
    page.get_by_role("button", name="保存").click()
    expect(page).to_have_url(re.compile(r"/admin/org/place\?saved=\d+$"))
    expect(page.get_by_role("status")).to_have_text("已保存")
    expect(count).to_have_text(f"共 {total + 1} 条")
    new_card = cards.filter(has_text=new_name)
    expect(new_card).to_have_count(1)
    new_card.scroll_into_view_if_needed()
    expect(new_card).to_be_visible()
    expect(new_card).to_contain_text("泰和一网格")
    screenshot(page, "11-place-created")
