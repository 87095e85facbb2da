"""The map of grids and hotspots (#18) on a phone (390×844, zh-CN) and at a desk (1280×900,
en): open the map, tap a grid to open its page, read the text alternative; near me from the
phone's position; the desk layout's side navigation; the supervisor's My day and the briefing."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import WAIT

DESK = {"width": 1280, "height": 900}
ZIWEI = {"latitude": 33.9387, "longitude": 118.2999}  # by 世纪紫薇园 (demo: 33.9387, 118.2999)


@pytest.fixture
def desk(browser, live_server):
    """desk(locale) -> a 1280×900 desktop browser context (conftest's contexts are phones)."""
    contexts = []

    def make(locale: str):
        context = browser.new_context(base_url=live_server, viewport=DESK, locale=locale)
        context.set_default_timeout(WAIT)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


def sign_in(page, role_label: str) -> None:
    page.goto("/signin")
    page.get_by_role("button", name=f"{role_label} · ").click()
    page.wait_for_url(re.compile(r"/(field|volunteers/my|agency)?$"))


def test_the_map_on_a_phone_opens_a_grid_and_finds_the_places_near_me(new_context, screenshot):
    context = new_context("zh-CN", geolocation=ZIWEI, permissions=["geolocation"])
    page = context.new_page()
    sign_in(page, "社区民警")
    page.goto("/map?layer=calls&since=2020-01-01&until=2021-12-31")
    expect(page.get_by_role("heading", level=1)).to_have_text("网格与热点地图")
    expect(page.get_by_role("group", name=re.compile("网格按"))).to_be_visible()
    # The text alternative lists every grid of the station with its count.
    table = page.get_by_role("table", name="各网格数量")
    expect(table.get_by_role("row")).to_have_count(9)  # a header and eight grids
    screenshot(page, "map-01-phone")
    page.locator('a.map-grid[aria-label^="紫薇网格:"]').locator("path").tap()
    expect(page).to_have_url(re.compile(r"/map/grids/\d+\?since=2020-01-01&until=2021-12-31$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("紫薇网格")
    expect(page.get_by_role("table", name="地点")).to_contain_text("世纪紫薇园")
    screenshot(page, "map-02-phone-grid")

    page.goto("/map/near")
    page.get_by_role("button", name="使用我的位置").tap()
    expect(page).to_have_url(re.compile(r"/map/near\?lat=33\.93870\d*&lng=118\.29990\d*$"))
    first = page.locator("ol.cards li").first
    expect(first).to_contain_text("世纪紫薇园")
    expect(first).to_contain_text(re.compile(r"\b0 米"))
    screenshot(page, "map-03-phone-near-me")

    # A log form offers the nearest place once the phone's location is added (computed on the phone).
    page.goto("/field/contacts/new")
    page.get_by_role("button", name="添加我的位置").tap()
    nearest = page.locator("[data-nearest]")
    expect(nearest).to_contain_text("最近的地点：世纪紫薇园（0 米）")
    nearest.get_by_role("button", name="选用").tap()
    expect(page.locator("select[name=place] option:checked")).to_have_text("世纪紫薇园")
    expect(nearest).to_be_hidden()


def test_the_map_at_a_desk_has_side_navigation_and_opens_a_grid(desk, screenshot):
    context = desk("en")
    page = context.new_page()
    sign_in(page, "Analyst")
    page.goto("/map")
    expect(page.get_by_role("heading", level=1)).to_have_text("Map of grids and hotspots")
    nav = page.get_by_role("navigation", name="Main").bounding_box()
    assert nav["x"] == 0 and nav["width"] < 300 and nav["height"] > 600  # a side bar, not a bottom bar
    figure = page.locator("figure.map").bounding_box()
    side = page.locator(".map-side").bounding_box()
    assert side["x"] > figure["x"] + figure["width"] - 1  # the table beside the map, not under it
    expect(page.get_by_role("table", name="Counts per grid")).to_contain_text("泰和一网格")
    screenshot(page, "map-04-desk")
    page.locator('a.map-grid[aria-label^="紫薇网格:"]').locator("path").click()
    expect(page).to_have_url(re.compile(r"/map/grids/\d+"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("紫薇网格")
    screenshot(page, "map-05-desk-grid")


def test_the_supervisors_day_and_the_briefing_at_both_sizes(new_context, desk, screenshot):
    for name, context in (("phone", new_context("zh-CN")), ("desk", desk("zh-CN"))):
        page = context.new_page()
        sign_in(page, "所长/分局领导")
        page.goto("/field")
        expect(page.get_by_role("heading", name=re.compile("团队今日"))).to_be_visible()
        expect(page.get_by_role("heading", name="正在巡逻的志愿者")).to_be_visible()
        screenshot(page, f"map-06-supervisor-day-{name}")
        page.goto("/briefing")
        expect(page.get_by_role("heading", name=re.compile("自上次早会以来"))).to_be_visible()
        screenshot(page, f"map-07-briefing-{name}")
