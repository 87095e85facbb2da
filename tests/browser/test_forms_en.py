"""Every form at 390 px in English: nothing wider than the phone, no Chinese left in the
labels (place and person names come from the database and stay as written: they are in
<option>s, not labels). Screenshots of each in tests/browser/screenshots/forms-en-*.png."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

SUPERVISOR = re.compile(r"^Supervisor · ")
STAFF_FORMS = {
    "contact": "/field/contacts/new",
    "campaign-drop": "/field/campaign-drops/new",
    "mediation": "/field/mediations/new",
    "alert": "/alerts/new",
    "work-order": "/orders/new",
}
PUBLIC_FORMS = {"resident-report": "/report", "volunteer-registration": "/volunteer/register"}
# Label text, leaving out the chips that name a grid or a place (topics and categories have
# English names; grids and places do not).
LABELS = """() => Array.from(document.querySelectorAll("main label, main legend")).filter(
  (el) => !el.querySelector("input[name=grids], input[name=grid], input[name=place]"))
  .map((el) => el.innerText.trim())"""
CJK = re.compile(r"[\u3400-\u9fff]")


def check(page, name: str, path: str, screenshot) -> None:
    page.goto(path)
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert page.evaluate("document.documentElement.lang") == "en"
    width = page.evaluate("document.documentElement.scrollWidth")
    screenshot(page, f"forms-en-{name}", full_page=True)
    assert width <= 390, f"{path} is {width} px wide"
    chinese = [text for text in page.evaluate(LABELS) if CJK.search(text)]
    assert chinese == [], f"{path}: {chinese}"


def test_every_form_fits_a_phone_and_reads_in_english(new_context, screenshot):
    page = new_context("en").new_page()
    page.goto("/locale/en?next=/signin")
    page.get_by_role("button", name=SUPERVISOR).first.click()
    page.wait_for_url(re.compile(r"/(field|dashboard|orders)?"))
    for name, path in STAFF_FORMS.items():
        check(page, name, path, screenshot)
    public = new_context("en").new_page()
    public.goto("/locale/en?next=/report")
    for name, path in PUBLIC_FORMS.items():
        check(public, name, path, screenshot)
