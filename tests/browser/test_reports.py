"""Resident reports on a phone (390×844): an officer prints a poster; a resident opens its URL,
reports with a photo and gets a tracking code; a second resident joins the same report instead
of duplicating it; the officer accepts, replies and marks it done; the first resident sees the
reply and rates 5. Plus the form in English with a mistake corrected."""

from __future__ import annotations

import io
import re

from PIL import Image
from playwright.sync_api import expect

OFFICER = re.compile("邵韦杰")
PLACE = "泰和便利店"


def jpeg_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (1600, 1200), (200, 90, 30)).save(out, "JPEG")
    return out.getvalue()


def sign_in(page, who=OFFICER) -> None:
    page.goto("/signin")
    page.get_by_role("button", name=who).click()
    page.wait_for_url(re.compile(r"/(field|volunteers/my|agency)?$"))  # where the role works


def print_poster(page, screenshot, name: str) -> str:
    """The officer opens the posters page and prints one place's poster; returns its URL."""
    page.goto("/")
    page.get_by_role("link", name="二维码海报").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("二维码海报")
    page.get_by_role("link", name=name, exact=True).click()
    poster = page.locator("article.poster")
    issue = page.get_by_role("button", name="生成编号")  # the first print issues the code (a POST)
    expect(issue.or_(poster).first).to_be_visible()
    if issue.is_visible():  # another test of the session may have printed this place already
        issue.click()
    expect(poster).to_contain_text("扫码反映问题")
    expect(poster).to_contain_text(name)
    expect(poster.locator(".poster-qr svg")).to_be_visible()
    screenshot(page, "reports-01-poster")
    page.emulate_media(media="print")
    expect(page.locator(".print-bar")).to_be_hidden()
    screenshot(page, "reports-02-poster-print", full_page=True)
    pdf = page.pdf(format="A4", print_background=True)
    assert pdf.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == 1  # one A4 sheet, the band's colour kept
    page.emulate_media(media="screen")
    return poster.locator(".poster-url").inner_text().strip()


def test_the_poster_on_an_english_phone_is_still_the_stations_chinese_poster(new_context, screenshot):
    staff = new_context("en").new_page()
    sign_in(staff)
    staff.goto("/admin/reports/posters")
    staff.get_by_role("link", name=PLACE, exact=True).click()
    issue = staff.get_by_role("button", name="Issue its code")
    poster = staff.locator("article.poster")
    expect(issue.or_(poster).first).to_be_visible()
    if issue.is_visible():
        issue.click()
    expect(poster.locator(".poster-band")).to_be_visible()
    expect(staff.get_by_role("button", name="Print or save as PDF")).to_be_visible()
    assert staff.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(staff, "reports-01-poster-en")


def test_report_follow_join_handle_and_rate_in_chinese(new_context, screenshot):
    staff = new_context("zh-CN").new_page()
    sign_in(staff)
    url = print_poster(staff, screenshot, PLACE)
    assert re.fullmatch(r"http://localhost:\d+/r/[A-Z2-9]{8}", url)

    # A resident scans the poster: no sign-in, the place is filled in.
    resident = new_context("zh-CN").new_page()
    resident.goto(url)
    expect(resident.get_by_role("heading", level=1)).to_have_text("反映问题")
    expect(resident.locator(".report-where")).to_contain_text(PLACE)
    expect(resident.locator(".bottomnav")).to_have_count(0)
    screenshot(resident, "reports-03-form-empty")
    resident.locator("label.chip", has_text="电动车违规充电").click()
    expect(resident.locator("#category-hint")).to_contain_text("飞线充电")
    resident.get_by_label("发生了什么？").fill("3号楼2单元楼道里每天晚上有电动车在充电，电线从窗户拉下来")
    resident.set_input_files(
        "input[name=photo]", files=[{"name": "ebike.jpg", "mimeType": "image/jpeg", "buffer": jpeg_bytes()}]
    )
    resident.get_by_label("回电号码（可选）").fill("13912345678")
    screenshot(resident, "reports-04-form-filled")
    resident.get_by_role("button", name="提交反映").click()
    expect(resident.get_by_role("heading", level=1)).to_have_text("您的反映已收到")
    code = resident.locator(".tracking-code").inner_text().strip()
    assert re.fullmatch(r"[A-Z2-9]{8}", code)
    expect(resident.locator(".timeline")).to_contain_text("已收到")
    photo = resident.locator("img.photo")
    expect(photo).to_be_visible()
    assert resident.evaluate("document.querySelector('img.photo').decode().then(() => true)")
    expect(resident.get_by_text("139****5678", exact=False)).to_be_visible()
    screenshot(resident, "reports-05-tracking-new")

    # A neighbour scans the same poster: the open report is offered, they join it.
    neighbour = new_context("zh-CN").new_page()
    neighbour.goto(url)
    neighbour.locator("label.chip", has_text="电动车违规充电").click()
    similar = neighbour.locator("#similar-box")
    expect(similar).to_contain_text("这里已有人反映同类问题")
    # The earlier words as the lead's rule leaves them (digit runs masked, 40 characters) and a
    # small picture of its photo, so the neighbour can tell it is the same problem.
    expect(similar.locator(".similar-summary")).to_have_text(
        "“3号楼2单元楼道里每天晚上有电动车在充电，电线从窗户拉下来”"
    )
    expect(similar).not_to_contain_text("5678")
    thumb = similar.locator("img.similar-photo")
    expect(thumb).to_be_visible()
    assert neighbour.evaluate("document.querySelector('img.similar-photo').decode().then(() => true)")
    screenshot(neighbour, "reports-06-already-reported")
    expect(similar.locator("input[name=join]:checked")).to_have_count(0)  # the resident chooses
    neighbour.get_by_label("发生了什么？").fill("同样的问题，晚上十点还在充电，很危险")
    neighbour.get_by_role("button", name="提交反映").click()  # without choosing: asked plainly
    expect(neighbour.locator("#e-join")).to_have_text("请选择：把您的反映加到上面的反映中，或作为新反映提交")
    expect(neighbour.get_by_label("发生了什么？")).to_have_value("同样的问题，晚上十点还在充电，很危险")
    neighbour.locator("#similar-box input[name=join]").first.check()
    neighbour.get_by_role("button", name="提交反映").click()
    expect(neighbour.get_by_role("heading", level=1)).to_have_text("您的反映已并入此条")
    neighbour_code = neighbour.locator(".tracking-code").inner_text().strip()
    assert neighbour_code != code
    expect(neighbour.locator(".report-head")).to_contain_text("反映人数")
    expect(neighbour.locator("main")).not_to_contain_text("楼道里")
    expect(neighbour.locator("main")).not_to_contain_text("5678")
    screenshot(neighbour, "reports-07-joined")

    # The officer works the queue: one report, two residents.
    staff.goto("/reports")
    # (Other browser tests may have filed reports at the same shop: this one holds both residents.)
    card = staff.locator(".report-queue .card", has_text=PLACE).filter(has_text="反映人数：2")
    expect(card).to_have_count(1)
    screenshot(staff, "reports-08-queue")
    card.get_by_role("link").click()
    expect(staff.get_by_role("heading", level=1)).to_contain_text("电动车违规充电")
    expect(staff.locator("main")).to_contain_text("139****5678")
    expect(staff.locator("img.photo")).to_be_visible()
    screenshot(staff, "reports-08b-detail-top")
    staff.get_by_role("button", name="受理").click()
    expect(staff.locator("h1 .status-badge")).to_have_text("已受理")
    staff.get_by_label("内容").fill("已通知物业，明天上午上门清理飞线")
    staff.get_by_role("button", name="发送公开答复").click()
    expect(staff.locator(".timeline")).to_contain_text("已通知物业")
    staff.get_by_label("处理情况（会显示给群众，可选）").fill("飞线已拆除，楼道已清理")
    screenshot(staff, "reports-09-detail")
    staff.get_by_role("button", name="标记为已办结").click()
    expect(staff.locator("h1 .status-badge")).to_have_text("已办结")

    # The first resident sees the answer and rates it.
    resident.goto(f"/t/{code}")
    expect(resident.locator(".status-badge")).to_have_text("已办结")
    expect(resident.locator(".timeline")).to_contain_text("已通知物业，明天上午上门清理飞线")
    expect(resident.locator(".timeline")).to_contain_text("飞线已拆除")
    screenshot(resident, "reports-10-tracking-done")
    resident.locator("label.chip", has_text="5 分").click()
    resident.get_by_label("评价内容（可选）").fill("处理很快，谢谢")
    resident.get_by_role("button", name="提交评价").click()
    expect(resident.get_by_role("status")).to_have_text("感谢您的评价。")
    expect(resident.get_by_text("您的评价：5 分（满分5分）")).to_be_visible()
    screenshot(resident, "reports-11-rated")

    # The officer sees the rating on the report.
    staff.reload()
    expect(staff.locator("main")).to_contain_text("评价：5 分")


def test_the_general_form_in_english_keeps_the_text_after_a_mistake(new_context, screenshot):
    page = new_context("en-GB").new_page()
    page.goto("/report")
    expect(page.get_by_role("heading", level=1)).to_have_text("Report a problem")
    page.get_by_label("What is happening?").fill("Street light out in front of the shop since Monday")
    page.get_by_role("button", name="Send report").click()
    expect(page.get_by_role("alert")).to_have_text("Please correct the marked fields.")
    expect(page.get_by_label("What is happening?")).to_have_value("Street light out in front of the shop since Monday")
    expect(page.locator("#e-place")).to_be_visible()
    screenshot(page, "reports-12-general-error-en")
    page.locator("select[name=place]").select_option(label="马赛公馆")
    page.locator("label.chip", has_text="Safety hazard").click()
    page.get_by_role("button", name="Send report").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your report was received")
    code = page.locator(".tracking-code").inner_text().strip()
    screenshot(page, "reports-13-tracking-en")
    # Looking it up later by typing the code (in lower case, with a space).
    page.goto("/t")
    page.get_by_label("Tracking code").fill(f"{code[:4].lower()} {code[4:].lower()}")
    page.get_by_role("button", name="Show my report").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your report")
    expect(page.locator(".report-head")).to_contain_text("马赛公馆")
    page.goto("/t")
    page.get_by_label("Tracking code").fill("ZZZZ2222")
    page.get_by_role("button", name="Show my report").click()
    expect(page.get_by_role("alert")).to_contain_text("No report has this tracking code")
    screenshot(page, "reports-14-unknown-code-en")


def test_retiring_a_poster_code_asks_first(new_context, screenshot):
    page = new_context("zh-CN").new_page()
    sign_in(page)
    page.goto("/")
    page.get_by_role("link", name="二维码海报").click()
    page.get_by_role("link", name="古城烧烤城", exact=True).click()
    page.get_by_role("button", name="生成编号").click()
    code = page.locator(".poster-code").inner_text()
    asked = []

    def refuse(dialog) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", refuse)
    page.get_by_role("button", name="停用此编码并生成新编码").click()  # the box is not ticked: not sent
    expect(page.get_by_role("checkbox", name=re.compile("我已知晓"))).not_to_be_checked()
    expect(page.locator(".poster-code")).to_have_text(code)
    assert asked == []
    page.get_by_role("checkbox", name=re.compile("我已知晓")).check()
    screenshot(page, "reports-15-retire-ticked")
    page.get_by_role("button", name="停用此编码并生成新编码").click()  # returns once answered
    assert asked == ["停用此编码？这张海报所有已张贴的印刷件都将失效。"]
    expect(page.locator(".poster-code")).to_have_text(code)  # "no": the printed posters keep working
    page.remove_listener("dialog", refuse)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="停用此编码并生成新编码").click()
    expect(page.locator(".flash.ok")).to_have_text("旧海报已停用。请打印并张贴这张新海报。")
    expect(page.locator(".poster-code")).not_to_have_text(code)
