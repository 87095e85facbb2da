"""The officer's day on a phone (390×844): log a contact, a campaign drop with a photo and a
mediation; print the written agreement; My day shows a due follow-up, one tap logs it."""

from __future__ import annotations

import io
import re

from PIL import Image
from playwright.sync_api import expect

OFFICER = re.compile("邵韦杰")
SUPERVISOR = re.compile(r"^Supervisor · ")  # the English journey counts its own day


def jpeg_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (1200, 900), (30, 120, 200)).save(out, "JPEG")
    return out.getvalue()


def sign_in_as_officer(page, officer=OFFICER) -> None:
    page.goto("/signin")
    page.get_by_role("button", name=officer).click()
    page.wait_for_url(re.compile(r"/(field|volunteers/my|agency)?$"))  # where the role works


def pick_place(page, name: str) -> None:
    page.locator("select[name=place]").select_option(label=name)


def saved(page, text: str) -> None:
    expect(page.locator("#log-status")).to_contain_text(text)


def no_errors_left(page) -> None:
    """A saved answer leaves no error on the form: no message, no summary, no marked field."""
    form = page.locator("#log-form")
    expect(form.locator("p.error, .flash.error, .has-error, [aria-invalid]")).to_have_count(0)


def test_a_day_of_field_logs_in_chinese(new_context, screenshot):
    page = new_context("zh-CN").new_page()
    sign_in_as_officer(page)
    page.get_by_role("link", name="今日").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("今日")
    contacts = page.locator(".stats li", has_text="走访").locator("strong")
    before = int(contacts.inner_text())
    screenshot(page, "fieldwork-01-today-empty")

    # A contact with a follow-up due today.
    page.locator(".quick-log").get_by_role("link", name="走访").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("记录走访")
    pick_place(page, "古城烧烤城")
    page.get_by_role("button", name="保存").click()  # who was visited is missing: marked
    expect(page.locator("#log-form .flash.error")).to_be_visible()
    expect(page.locator("#e-subject_kind")).to_be_visible()
    page.locator("label.chip", has_text="居民").click()
    page.get_by_label("姓名（可选）").fill("张大爷")
    page.locator("label.chip", has_text="反诈").click()
    page.get_by_label("备注").fill("讲解刷单诈骗，帮助安装国家反诈中心App")
    today = page.evaluate("new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 10)")  # Asia/Shanghai
    page.get_by_label("回访日期（可选）").fill(today)
    screenshot(page, "fieldwork-02-contact-form")
    page.get_by_role("button", name="保存").click()
    saved(page, "已保存")
    no_errors_left(page)
    expect(page.get_by_label("备注")).to_have_value("")  # ready for the next log, same place kept
    expect(page.locator("select[name=place] option:checked")).to_have_text("古城烧烤城")
    screenshot(page, "fieldwork-03-contact-saved")

    # My day: the follow-up is due; one tap opens the follow-up form.
    page.goto("/field")
    due = page.locator(".follow-up", has_text="古城烧烤城")
    expect(due).to_have_count(1)
    screenshot(page, "fieldwork-04-today-follow-up-due")
    due.get_by_role("link", name="记录回访").click()
    expect(page.get_by_text("记录的回访")).to_be_visible()
    expect(page.locator("select[name=place] option:checked").first).to_have_text("古城烧烤城")
    page.get_by_label("备注").fill("回访：已安装反诈App")
    page.get_by_role("button", name="保存").click()
    saved(page, "已保存")
    page.goto("/field")
    expect(page.get_by_text("今日没有到期的回访。")).to_be_visible()
    expect(contacts).to_have_text(str(before + 2))

    # A campaign drop with a photo.
    page.goto("/field/campaign-drops/new")
    pick_place(page, "古城烧烤城")
    page.locator("label.chip", has_text="禁毒").click()
    page.get_by_label("发放传单数").fill("120")
    page.get_by_label("覆盖人数").fill("85")
    page.set_input_files(
        "input[name=photo]", files=[{"name": "leaflets.jpg", "mimeType": "image/jpeg", "buffer": jpeg_bytes()}]
    )
    page.get_by_role("button", name="保存").click()
    saved(page, "已保存")
    page.locator("#log-status").get_by_role("link", name="查看记录").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("宣传")
    photo = page.locator("img.photo")
    expect(photo).to_be_visible()
    assert page.evaluate("document.querySelector('img.photo').decode().then(() => true)")
    assert page.evaluate("document.querySelector('img.photo').naturalWidth") == 1200
    screenshot(page, "fieldwork-05-campaign-detail")

    # A mediation that reaches an agreement, and its printable agreement.
    page.goto("/field/mediations/new")
    pick_place(page, "古城烧烤城")
    page.locator("label.chip", has_text="噪音／邻里").click()
    parties = page.locator(".party")
    for i, (name, role) in enumerate((("赵甲", "楼上住户"), ("钱乙", "楼下住户"))):
        parties.nth(i).get_by_label("姓名", exact=True).fill(name)
        parties.nth(i).get_by_label("身份（如邻居、租户）").fill(role)
    parties.nth(0).locator("summary").click()
    parties.nth(0).get_by_label("公民身份号码").fill("11010519491231002X")
    parties.nth(0).get_by_label("性别").select_option("male")
    parties.nth(0).get_by_label("年龄").fill("76")
    parties.nth(0).get_by_label("公民身份号码").scroll_into_view_if_needed()
    screenshot(page, "fieldwork-06a-mediation-party-identity")
    page.get_by_label("事情经过").fill("楼上夜间装修噪音扰民，双方发生口角。")
    page.locator("label.chip", has_text="达成协议").click()
    page.get_by_label("协议内容（达成协议时必填）").fill(
        "一、施工时间限于每日8:00至18:00。\n二、楼上住户向楼下住户赔礼道歉。"
    )
    page.get_by_role("button", name="保存").click()
    saved(page, "已保存")
    page.locator("#log-status").get_by_role("link", name="查看记录").click()
    page.get_by_role("link", name="打印协议书").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("邻里纠纷人民调解协议书")
    agreement = page.locator("article.agreement")
    for text in ("当事人（甲方）：赵甲", "当事人（乙方）：钱乙", "施工时间限于每日8:00至18:00", "签字（按手印）"):
        expect(agreement).to_contain_text(text)
    expect(agreement.locator(".agreement-no")).to_contain_text(re.compile(r"调〔20\d\d〕第\d+号"))
    expect(agreement).to_contain_text("公民身份号码：11010519491231002X")
    expect(agreement).to_contain_text("人民调解委员会（盖章）")
    screenshot(page, "fieldwork-06-agreement")
    page.emulate_media(media="print")
    expect(page.locator(".topbar")).to_be_hidden()
    expect(page.locator(".print-bar")).to_be_hidden()
    screenshot(page, "fieldwork-07-agreement-print", full_page=True)
    pdf = page.pdf(format="A4", print_background=True)
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000


def test_logging_in_english_with_a_mistake_corrected(new_context, screenshot):
    page = new_context("en-GB").new_page()
    sign_in_as_officer(page, SUPERVISOR)
    page.goto("/field/campaign-drops/new")
    expect(page.get_by_role("heading", level=1)).to_have_text("Log a campaign drop")
    pick_place(page, "古城烧烤城")
    page.locator("label.chip", has_text="Anti-fraud").click()
    page.get_by_label("Leaflets handed out").fill("-5")
    page.get_by_label("People reached").fill("30")
    page.get_by_label("Note").fill("Stall at the market gate")
    expect(page.locator("#f-note + .counter")).to_have_text("24 / 2000")  # the limit, shown as typed
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_have_text("Please correct the marked fields.")
    expect(page.locator("#e-leaflets")).to_have_text("Enter a number from 0 to 100,000")
    expect(page.get_by_label("Note")).to_have_value("Stall at the market gate")  # nothing lost
    screenshot(page, "fieldwork-08-campaign-error-en")
    page.get_by_label("Leaflets handed out").fill("50")
    # A photo over 10 MB is refused on the phone, before minutes of upload on one bar of signal.
    page.set_input_files(
        "input[name=photo]",
        files=[{"name": "huge.jpg", "mimeType": "image/jpeg", "buffer": b"\xff\xd8" + b"0" * (11 * 1024 * 1024)}],
    )
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#e-photo")).to_have_text("The photo is larger than 10 MB")
    page.set_input_files("input[name=photo]", files=[])
    page.get_by_role("button", name="Save").click()
    saved(page, "Saved")
    no_errors_left(page)  # "✓ Saved" never beside the old "Enter a number…"

    page.goto("/field/contacts/new")
    # The three kind tabs fit a 390 px phone in English: no name cut ("Mediati"), no scrolling.
    clipped = page.evaluate("""() => [document.querySelector('.kind-tabs'), ...document.querySelectorAll('.kind-tabs a')]
        .filter((el) => el.scrollWidth > el.clientWidth).map((el) => el.textContent.trim())""")
    assert clipped == []
    expect(page.locator(".kind-tabs a")).to_have_text(["Contact", "Campaign drop", "Mediation"])
    screenshot(page, "fieldwork-08b-contact-form-en")
    pick_place(page, "古城烧烤城")
    page.locator("label.chip", has_text="Business").click()
    page.get_by_role("button", name="Save").click()
    saved(page, "Saved")

    page.goto("/field/mediations/new")
    pick_place(page, "古城烧烤城")
    page.locator("label.chip", has_text="Property").click()
    page.locator(".party").nth(0).get_by_label("Full name").fill("Sun")
    page.get_by_label("What happened").fill("Parking dispute")
    page.locator("label.chip", has_text="Referred").click()
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#e-parties")).to_have_text("Name at least two parties")
    page.locator(".party").nth(1).get_by_label("Full name").fill("Li")
    page.get_by_role("button", name="Save").click()
    saved(page, "Saved")

    page.goto("/field")
    own = page.locator(".stats").last  # a supervisor's My day: the team's day first, then their own
    for kind, count in (("Contact", "1"), ("Campaign drop", "1"), ("Mediation", "1")):
        expect(own.locator("li", has_text=kind).locator("strong")).to_have_text(count)
    screenshot(page, "fieldwork-09-today-en")
    page.goto("/field/logs")
    expect(page.locator(".count")).to_have_text(re.compile(r"^\d+ found$"))
    screenshot(page, "fieldwork-10-list-en")
