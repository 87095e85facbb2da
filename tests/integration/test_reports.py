"""Resident reports end to end through HTTP: posters, the public form (photo, join instead of
duplicate, idempotent resend), abuse (rate limit, honeypot, retired and unknown codes, escaped
text), tracking-code secrecy, staff handling, rating and the reopen rule, categories.
Runs on SQLite and PostgreSQL alike."""

from __future__ import annotations

import io
import re
import uuid
from datetime import timedelta

import pytest
from PIL import Image

from app.routes import reports as report_routes
from app.services import report_lists
from app.services.auth import now
from app.tables import (
    AuditEvent,
    Grid,
    Person,
    Place,
    RateLimitHit,
    Report,
    ReportPhoto,
    ReportPoster,
    ReportReporter,
    ReportStep,
    Station,
)
from tests.conftest import client_with, run

TRACKING = re.compile(r"/t/([A-Z2-9]{8})\?")


@pytest.fixture
def reports_ready(client, demo):
    run(report_lists.ensure_categories())
    return client


def place_named(name: str) -> int:
    return run(Place.select(Place.id).where(Place.name == name).first())["id"]


def poster_code(client, place: int) -> str:
    """An officer prints the place's poster; the code is read off the page like a resident would."""
    client.sign_in_as("officer")
    assert client.post(f"/admin/reports/posters/place/{place}").status_code == 303  # issued once
    page = client.get(f"/admin/reports/posters/place/{place}")
    assert page.status_code == 200, page.text
    code = re.search(r"/r/([A-Z2-9]{8})<", page.text).group(1)
    client.post("/signout")
    client.http.cookies.clear()
    return code


def jpeg(exif_gps: bool = True) -> bytes:
    image = Image.new("RGB", (2000, 1500), (10, 120, 60))
    exif = Image.Exif()
    if exif_gps:
        exif[0x8825] = {1: "N", 2: (34.0, 12.0, 30.0), 3: "E", 4: (118.0, 20.0, 10.0)}
        exif[0x010F] = "PhoneMaker"
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def form(**extra) -> dict:
    return {
        "client_uuid": str(uuid.uuid4()),
        "category": "noise",
        "description": "楼上每晚11点后装修电钻声",
        "phone": "13912345678",
        **extra,
    }


def send(client, code: str, data: dict, photo: bytes | None = None, **kw):
    files = {"photo": ("p.jpg", photo, "image/jpeg")} if photo else None
    return client.post(f"/r/{code}", data=data, files=files, **kw)


def tracking_of(response) -> str:
    assert response.status_code == 303, response.text[:2000]
    return TRACKING.search(response.headers["location"]).group(1)


def test_a_resident_reports_from_a_poster_with_a_photo_and_follows_it(reports_ready):
    place = place_named("泰和花园")
    code = poster_code(reports_ready, place)
    page = reports_ready.get(f"/r/{code}")
    assert page.status_code == 200 and "泰和花园" in page.text and "噪音扰民" in page.text
    assert 'name="website"' in page.text  # the honeypot is there, hidden by CSS
    tracking = tracking_of(send(reports_ready, code, form(), photo=jpeg()))
    [report] = run(Report.select())
    assert (report["place"], report["status"], report["source"], report["reporters"]) == (place, "received", "qr", 1)
    [reporter] = run(ReportReporter.select())
    assert reporter["tracking"] == tracking and reporter["phone"] == "13912345678"
    [photo] = run(ReportPhoto.select())
    assert photo["width"] == 1600  # downscaled and re-encoded: EXIF gone
    track = reports_ready.get(f"/t/{tracking}?new=1")
    assert track.status_code == 200
    assert tracking in track.text and "已受理" not in track.text and "已收到" in track.text
    assert "139****5678" in track.text and "13912345678" not in track.text  # masked even to the resident
    assert track.headers["cache-control"] == "no-store"
    image = reports_ready.get(f"/t/{tracking}/photos/{photo['id']}")
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(image.content)).getexif() == {}
    events = run(AuditEvent.select().where(AuditEvent.object_type == "report"))
    assert [(e["action"], e["actor_role"]) for e in events] == [("create", "resident")]


def test_the_same_form_sent_twice_makes_one_report(reports_ready):
    code = poster_code(reports_ready, place_named("泰和花园"))
    data = form()
    first = tracking_of(send(reports_ready, code, data))
    again = tracking_of(send(reports_ready, code, data))
    assert first == again
    assert run(Report.count()) == 1 and run(ReportReporter.count()) == 1


def test_a_second_resident_is_asked_and_joins_instead_of_duplicating(reports_ready):
    code = poster_code(reports_ready, place_named("泰和花园"))
    words = "我是王五电话13912345678，楼上每晚11点后装修电钻声，已经持续一个多星期了，孩子没法睡觉，请尽快处理"
    first = tracking_of(send(reports_ready, code, form(description=words)))
    # The form offers the open report as soon as the category is chosen (htmx part), with the
    # first words masked and cut (the lead's rule): never a phone number, at most 40 characters.
    part = reports_ready.get(f"/report/similar?category=noise&poster={code}")
    assert "已有人反映" in part.text and 'name="join"' in part.text
    summary = re.search(r'<span class="similar-summary" lang="zh-CN">“([^”]*)”', part.text).group(1)
    assert summary == "我是王五电话***，楼上每晚11点后装修电钻声，已经持续一个多星期了，孩子没法睡…"
    assert len(summary) <= 41 and "13912345678" not in part.text and "请尽快处理" not in part.text
    # ...and a plain post without an answer is asked before anything is written.
    data = form(description="同一个装修噪音，周末早上7点就开始", phone="13800000002")
    asked = send(reports_ready, code, data)
    assert asked.status_code == 200 and 'name="join"' in asked.text
    assert "同一个装修噪音" in asked.text  # the resident's text is kept
    assert "checked" not in asked.text.split('id="similar-box"')[1].split("</fieldset>")[0]  # nothing chosen for them
    unanswered = send(reports_ready, code, {**data, "join_asked": "1"})
    assert unanswered.status_code == 422 and "请选择：把您的反映加到上面的反映中，或作为新反映提交" in unanswered.text
    assert 'id="e-join"' in unanswered.text and "同一个装修噪音" in unanswered.text
    assert run(ReportReporter.count()) == 1
    [report] = run(Report.select(Report.id))
    second = tracking_of(send(reports_ready, code, {**data, "join": str(report["id"])}))
    assert second != first
    assert run(Report.count()) == 1
    assert run(Report.select(Report.reporters).first())["reporters"] == 2
    joined = reports_ready.get(f"/t/{second}?joined=1")
    assert "同一个装修噪音" in joined.text and "楼上每晚" not in joined.text
    assert "13800000002" not in joined.text and "5678" not in joined.text  # no one else's contact data
    # A different problem at the same place stays a report of its own.
    tracking_of(send(reports_ready, code, form(description="另一件事", join="new")))
    assert run(Report.count()) == 2


def test_a_retired_poster_says_so_and_links_to_the_general_form(reports_ready):
    place = place_named("泰和花园")
    old = poster_code(reports_ready, place)
    reports_ready.sign_in_as("officer")
    poster_id = run(ReportPoster.select(ReportPoster.id).where(ReportPoster.code == old).first())["id"]
    # Not confirmed (no JS, box not ticked): nothing changes, and the page says why.
    asked = reports_ready.post(f"/admin/reports/poster-codes/{poster_id}/retire", data={})
    assert asked.status_code == 303 and asked.headers["location"].endswith("?unconfirmed=1")
    assert "先勾选确认" in reports_ready.get(asked.headers["location"]).text
    assert reports_ready.get(f"/r/{old}").status_code == 200
    retired = reports_ready.post(f"/admin/reports/poster-codes/{poster_id}/retire", data={"confirm": "1"})
    assert retired.status_code == 303
    page = reports_ready.get(retired.headers["location"])
    new = re.search(r"/r/([A-Z2-9]{8})<", page.text).group(1)
    assert new != old
    gone = reports_ready.get(f"/r/{old}")
    assert gone.status_code == 410 and "不再使用" in gone.text and 'href="/report"' in gone.text
    assert send(reports_ready, old, form()).status_code == 410
    assert reports_ready.get(f"/r/{new}").status_code == 200
    unknown = reports_ready.get("/r/ABCDEFGH")
    assert unknown.status_code == 404 and 'href="/report"' in unknown.text
    assert run(Report.count()) == 0


def test_many_browsers_behind_one_address_each_file_a_report(reports_ready):
    """An estate's Wi-Fi, a carrier's CGNAT: one client address, and every phone its own browser."""
    code = poster_code(reports_ready, place_named("泰和花园"))
    answers = []
    for i in range(12):
        reports_ready.http.cookies.clear()  # the next phone opens the poster's form
        assert reports_ready.get(f"/r/{code}").status_code == 200
        answers.append(
            send(reports_ready, code, form(category="other", description=f"第{i}户", join="new")).status_code
        )
    assert answers == [303] * 12
    assert run(Report.count()) == 12


def test_one_browser_sending_a_burst_is_limited_and_keeps_its_text(reports_ready):
    code = poster_code(reports_ready, place_named("泰和花园"))
    answers = [
        send(reports_ready, code, form(category="other", description=f"第{i}件事", join="new")).status_code
        for i in range(6)
    ]
    assert answers == [303] * 5 + [429]
    refused = send(reports_ready, code, form(description="我的文字还在", join="new"))
    assert refused.status_code == 429 and "我的文字还在" in refused.text
    assert run(Report.count()) == 5
    # One a minute after the burst: a minute later one more goes through.
    run(RateLimitHit.raw("UPDATE rate_limit_hit SET resets_at = resets_at - 61 WHERE bucket LIKE 'report:browser:%'"))
    assert send(reports_ready, code, form(join="new")).status_code == 303
    # A neighbour on the same address was never held up.
    reports_ready.http.cookies.clear()
    assert send(reports_ready, code, form(category="other", description="邻居", join="new")).status_code == 303


def test_a_script_dropping_its_cookie_meets_the_addresses_limit(settings, demo):
    run(report_lists.ensure_categories())
    with client_with(settings, report_address_burst=3, report_address_per_minute=0.0001) as script:
        code = poster_code(script, place_named("泰和花园"))
        answers = []
        for i in range(4):
            script.csrf()
            script.http.cookies.delete("qianmo_browser")  # never sends the browser key it is given
            answers.append(send(script, code, form(category="other", description=f"#{i}", join="new")).status_code)
    assert answers == [303] * 3 + [429]
    assert run(Report.count()) == 3
    # Nothing was counted per browser: a flood leaves no row per request behind.
    assert run(RateLimitHit.select().where(RateLimitHit.bucket.like("report:browser:%"))) == []


def test_a_browser_key_is_signed_httponly_lax_and_secure_on_https(demo, settings):
    with client_with(settings) as browser:
        first = browser.get("/report")
        cookie = first.headers["set-cookie"]
        key = browser.http.cookies["qianmo_browser"]
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
        assert "qianmo_browser" not in browser.get("/report").headers.get("set-cookie", "")  # kept, not renewed
        browser.http.cookies.set("qianmo_browser", key.split(".")[0] + ".forged", domain="testserver.local")
        renewed = browser.get("/report")
        assert "qianmo_browser" in renewed.headers["set-cookie"]
    with client_with(settings, public_base_url="https://qianmo.example") as browser:
        assert "Secure" in browser.get("/report").headers["set-cookie"]


def test_the_honeypot_refuses_and_keeps_the_text(reports_ready):
    code = poster_code(reports_ready, place_named("泰和花园"))
    response = send(reports_ready, code, form(website="http://spam.example", description="机器人"))
    assert response.status_code == 422 and "机器人" in response.text
    assert run(Report.count()) == 0


def test_bad_input_is_marked_and_kept_and_html_is_escaped(reports_ready):
    code = poster_code(reports_ready, place_named("泰和花园"))
    long = send(reports_ready, code, form(description="长" * 2001, phone="call me"))
    assert long.status_code == 422 and "长" * 50 in long.text
    assert 'id="e-description"' in long.text and 'id="e-phone"' in long.text
    no_category = send(reports_ready, code, form(category=""))
    assert no_category.status_code == 422 and 'id="e-category"' in no_category.text
    bad_photo = send(reports_ready, code, form(), photo=b"not an image")
    assert bad_photo.status_code == 422 and 'id="e-photo"' in bad_photo.text
    script = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    tracking = tracking_of(send(reports_ready, code, form(description=script)))
    page = reports_ready.get(f"/t/{tracking}")
    assert "<script>alert(1)" not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    reports_ready.sign_in_as("officer")
    staff = reports_ready.get("/reports")
    assert "<img src=x" not in staff.text


def test_tracking_codes_tell_nothing_about_which_exist(reports_ready):
    code = poster_code(reports_ready, place_named("泰和花园"))
    tracking = tracking_of(send(reports_ready, code, form()))
    assert re.fullmatch(r"[ABCDEFGHJKLMNPQRSTUVWXYZ23456789]{8}", tracking)
    wrong = "".join("A" if c != "A" else "B" for c in tracking)  # well formed, not issued
    malformed = "0O1I-xx"
    answers = [reports_ready.get(f"/t/{c}") for c in (wrong, malformed)]
    assert [a.status_code for a in answers] == [404, 404]

    def strip(text: str) -> str:  # the typed code is echoed back, and the CSRF token differs
        return re.sub(r'csrftoken": "[^"]*"', "", text.replace(wrong, "X").replace(malformed, "X"))

    assert strip(answers[0].text) == strip(answers[1].text)
    assert reports_ready.get(f"/t/{tracking.lower()}").status_code == 200  # typed in lower case: fine
    assert reports_ready.post(f"/t/{wrong}/rate", data={"rating": "5"}).status_code == 404


def test_tracking_lookups_are_limited_per_browser(reports_ready, settings):
    reports_ready.get("/t")  # the look-up page: the browser gets its key
    codes = [f"/t/{'AB' * 4}"] * settings.track_per_minute
    assert {reports_ready.get(c).status_code for c in codes} == {404}
    assert reports_ready.get(codes[0]).status_code == 429
    reports_ready.http.cookies.clear()  # another phone on the same address
    assert reports_ready.get(codes[0]).status_code == 404


def test_the_receipt_after_a_report_is_shown_even_with_the_look_ups_used_up(settings, demo, monkeypatch):
    """The receipt is shown to the browser that filed the report, and counts as no look-up: not
    against its own look-ups, not against its address's, which its neighbours may have used up."""
    run(report_lists.ensure_categories())
    monkeypatch.setattr(report_routes, "LOOKUP_WINDOW", timedelta(days=1))  # cannot end during the test
    wrong = f"/t/{'AB' * 4}"
    with client_with(settings, track_per_minute=2, track_address_per_minute=3) as phone:
        code = poster_code(phone, place_named("泰和花园"))
        phone.get("/t")  # the look-up page: the browser gets its key
        assert [phone.get(wrong).status_code for _ in range(3)] == [404, 404, 429]  # this browser's are used up
        receipt = send(phone, code, form())
        page = phone.get(receipt.headers["location"])
        assert page.status_code == 200 and "已收到" in page.text
        tracking = tracking_of(receipt)
        assert phone.get(f"/t/{tracking}").status_code == 429  # looking it up again is a look-up
        phone.http.cookies.clear()  # a neighbour's phone (its key comes with the first answer) ...
        assert [phone.get(wrong).status_code for _ in range(2)] == [404, 429]  # ... uses up the address's
        assert phone.get(receipt.headers["location"]).status_code == 429  # the link is not this browser's
        own = send(phone, code, form(category="other", join="new"))
        page = phone.get(own.headers["location"])
        assert page.status_code == 200 and "已收到" in page.text and tracking_of(own) in page.text


def handle(client, report_id: int, action: str, **data):
    response = client.post(f"/reports/{report_id}/steps", data={"action": action, **data})
    assert response.status_code == 303, response.text[:3000]
    return response


def test_who_accepts_a_report_is_shown_as_handling_it(reports_ready):
    code = poster_code(reports_ready, place_named("泰和花园"))
    send(reports_ready, code, form())
    report_id = run(Report.select(Report.id).first())["id"]
    officer = reports_ready.sign_in_as("officer")
    handle(reports_ready, report_id, "accept")
    name = run(Person.select(Person.name).where(Person.id == officer).first())["name"]
    facts = reports_ready.get(f"/reports/{report_id}", headers={"Accept-Language": "en"}).text
    facts = facts.split('<dl class="facts">')[1].split("</dl>")[0]
    assert f"<dt>Handled by</dt><dd>{name}</dd>" in facts and "nobody yet" not in facts
    assert run(Report.select(Report.assignee).where(Report.id == report_id).first())["assignee"] == officer


def test_staff_accept_reply_and_finish_and_the_resident_rates(reports_ready):
    code = poster_code(reports_ready, place_named("泰和花园"))
    tracking = tracking_of(send(reports_ready, code, form()))
    report_id = run(Report.select(Report.id).first())["id"]
    officer = reports_ready.sign_in_as("officer")
    queue = reports_ready.get("/reports")
    assert f"/reports/{report_id}" in queue.text and "泰和花园" in queue.text
    detail = reports_ready.get(f"/reports/{report_id}")
    assert "139****5678" in detail.text and "13912345678" not in detail.text
    handle(reports_ready, report_id, "accept")
    handle(reports_ready, report_id, "assign", assignee=str(officer))
    handle(reports_ready, report_id, "note", text="物业电话已打，不对外")
    handle(reports_ready, report_id, "reply", text="已联系物业，明日上门")
    handle(reports_ready, report_id, "done", text="已处理：装修时间已调整")
    shown = reports_ready.post(f"/reports/{report_id}/phones")
    assert shown.status_code == 200 and "13912345678" in shown.text
    reveal = run(AuditEvent.select().where(AuditEvent.action == "view_personal_data"))
    assert [(e["object_type"], e["actor_id"]) for e in reveal] == [("report", officer)]
    steps = run(ReportStep.select(ReportStep.kind, ReportStep.public, ReportStep.actor).order_by(ReportStep.id))
    assert [s["kind"] for s in steps] == ["received", "accepted", "assigned", "note", "reply", "done"]
    assert [s["actor"] for s in steps[1:]] == [officer] * 5
    actions = [
        e["action"] for e in run(AuditEvent.select().where(AuditEvent.object_type == "report").order_by(AuditEvent.id))
    ]
    assert actions == ["create", "accept", "assign", "note", "reply", "done", "view_personal_data"]
    reports_ready.post("/signout")
    reports_ready.http.cookies.clear()
    page = reports_ready.get(f"/t/{tracking}")
    assert "已联系物业，明日上门" in page.text and "已处理：装修时间已调整" in page.text
    assert "物业电话已打" not in page.text  # internal notes stay internal
    assert 'name="rating"' in page.text
    rated = reports_ready.post(f"/t/{tracking}/rate", data={"rating": "5", "comment": "很快"})
    assert rated.status_code == 303
    assert run(ReportReporter.select(ReportReporter.rating).first())["rating"] == 5
    assert 'name="rating"' not in reports_ready.get(f"/t/{tracking}").text  # rated once
    assert run(Report.select(Report.status).first())["status"] == "done"


def finish(client, report_id: int) -> None:
    client.sign_in_as("officer")
    handle(client, report_id, "done", text="处理完毕")
    client.post("/signout")
    client.http.cookies.clear()


def test_an_unsatisfied_rating_reopens_once_within_seven_days(reports_ready):
    code = poster_code(reports_ready, place_named("泰和花园"))
    tracking = tracking_of(send(reports_ready, code, form()))
    report_id = run(Report.select(Report.id).first())["id"]
    finish(reports_ready, report_id)
    rated = reports_ready.post(f"/t/{tracking}/rate", data={"rating": "2", "comment": "噪音还在"})
    assert rated.status_code == 303
    report = run(Report.select().first())
    assert report["status"] == "in_progress" and report["reopened_at"] is not None
    page = reports_ready.get(rated.headers["location"]).text
    assert "您对处理结果不满意，此反映已重新办理" in page  # said, not only a step in the list
    assert '<blockquote class="prose">噪音还在</blockquote>' in page  # the resident's own words, shown back
    # Done again, unsatisfied again: no second reopening.
    finish(reports_ready, report_id)
    assert reports_ready.post(f"/t/{tracking}/rate", data={"rating": "1"}).status_code == 303
    assert run(Report.select(Report.status).first())["status"] == "done"


def test_an_unsatisfied_rating_after_seven_days_does_not_reopen(reports_ready):
    code = poster_code(reports_ready, place_named("泰和花园"))
    tracking = tracking_of(send(reports_ready, code, form()))
    report_id = run(Report.select(Report.id).first())["id"]
    finish(reports_ready, report_id)
    run(Report.update({Report.done_at: now() - timedelta(days=8)}).where(Report.id == report_id))
    reports_ready.post(f"/t/{tracking}/rate", data={"rating": "1"})
    assert run(Report.select(Report.status).first())["status"] == "done"
    assert reports_ready.post(f"/t/{tracking}/rate", data={"rating": "3"}).status_code == 422  # once


def test_staff_see_only_their_grids_reports(reports_ready):
    code = poster_code(reports_ready, place_named("泰和花园"))  # TH-01, office HH-TH
    send(reports_ready, code, form())
    report_id = run(Report.select(Report.id).first())["id"]
    reports_ready.sign_in_as("grid_worker")  # TH-04 only
    assert reports_ready.get(f"/reports/{report_id}").status_code == 404
    assert f"/reports/{report_id}" not in reports_ready.get("/reports").text
    assert reports_ready.post(f"/reports/{report_id}/steps", data={"action": "accept"}).status_code == 404


def test_a_step_that_does_not_fit_the_state_is_refused(reports_ready):
    code = poster_code(reports_ready, place_named("泰和花园"))
    send(reports_ready, code, form())
    report_id = run(Report.select(Report.id).first())["id"]
    reports_ready.sign_in_as("officer")
    handle(reports_ready, report_id, "close", text="重复")
    again = reports_ready.post(f"/reports/{report_id}/steps", data={"action": "accept"})
    assert again.status_code == 422
    empty = reports_ready.post(f"/reports/{report_id}/steps", data={"action": "note", "text": " "})
    assert empty.status_code == 422


def test_the_general_form_needs_a_place(reports_ready):
    page = reports_ready.get("/report")
    assert page.status_code == 200 and "泰和花园" in page.text
    missing = reports_ready.post("/report", data=form())
    assert missing.status_code == 422 and 'id="e-place"' in missing.text
    ok = reports_ready.post("/report", data=form(place=str(place_named("马赛公馆"))))
    tracking_of(ok)
    assert run(Report.select(Report.source, Report.poster).first()) == {"source": "web", "poster": None}


def test_batch_printing_covers_every_place_of_a_grid(reports_ready):
    reports_ready.sign_in_as("officer")
    grid = run(Grid.select(Grid.id).where(Grid.code == "TH-01").first())["id"]
    places = run(Place.count().where(Place.grid == grid))
    assert reports_ready.post(f"/admin/reports/posters/grid-places/{grid}").status_code == 303
    page = reports_ready.get(f"/admin/reports/posters/grid-places/{grid}")
    assert page.status_code == 200
    assert page.text.count('class="poster"') == places
    assert run(ReportPoster.count()) == places
    reports_ready.post(f"/admin/reports/posters/grid-places/{grid}")
    again = reports_ready.get(f"/admin/reports/posters/grid-places/{grid}")
    assert run(ReportPoster.count()) == places  # printed twice, same codes
    assert sorted(re.findall(r"/r/([A-Z2-9]{8})<", again.text)) == sorted(re.findall(r"/r/([A-Z2-9]{8})<", page.text))
    # The office and the grid have posters of their own.
    reports_ready.post(f"/admin/reports/posters/grid/{grid}")
    office = reports_ready.get(f"/admin/reports/posters/grid/{grid}")
    assert office.status_code == 200 and "扫码反映问题" in office.text


def test_posters_of_other_stations_grids_are_not_printable_by_a_grid_worker(reports_ready):
    reports_ready.sign_in_as("grid_worker")
    assert reports_ready.get(f"/admin/reports/posters/place/{place_named('泰和花园')}").status_code == 403


def test_admin_edits_categories_and_a_deactivated_one_is_not_offered(reports_ready):
    reports_ready.sign_in_as("admin")
    created = reports_ready.post(
        "/admin/reports/categories",
        data={
            "code": "pets",
            "name_zh": "宠物扰民",
            "name_en": "Pets",
            "hint_zh": "犬只未拴绳等",
            "hint_en": "Dogs off lead",
        },
    )
    assert created.status_code == 303
    dup = reports_ready.post("/admin/reports/categories", data={"code": "pets", "name_zh": "x", "name_en": "y"})
    assert dup.status_code == 422
    category = run(report_lists.category("pets"))
    reports_ready.post(f"/admin/reports/categories/{category['id']}/active", data={"active": "0"})
    code = poster_code(reports_ready, place_named("泰和花园"))
    assert "宠物扰民" not in reports_ready.get(f"/r/{code}").text
    assert send(reports_ready, code, form(category="pets")).status_code == 422


def test_a_grid_worker_handles_reports_of_their_grid(reports_ready):
    code = poster_code(reports_ready, place_named("泰和祥府"))  # TH-04, the demo grid worker's grid
    send(reports_ready, code, form())
    report_id = run(Report.select(Report.id).first())["id"]
    worker = reports_ready.sign_in_as("grid_worker")
    assert f"/reports/{report_id}" in reports_ready.get("/reports").text
    handle(reports_ready, report_id, "accept")
    handle(reports_ready, report_id, "assign", assignee=str(worker))
    assert run(Report.select(Report.assignee, Report.status).first()) == {"assignee": worker, "status": "in_progress"}
    assert f"/reports/{report_id}" in reports_ready.get("/reports?mine=1").text


def test_an_office_poster_reaches_the_stations_officers_only(reports_ready):
    from app.tables import Office

    office = run(Office.select(Office.id).where(Office.code == "HH-TH").first())["id"]
    reports_ready.sign_in_as("officer")
    reports_ready.post(f"/admin/reports/posters/office/{office}")
    page = reports_ready.get(f"/admin/reports/posters/office/{office}")
    code = re.search(r"/r/([A-Z2-9]{8})<", page.text).group(1)
    reports_ready.post("/signout")
    reports_ready.http.cookies.clear()
    assert "泰和警网融合工作站" in reports_ready.get(f"/r/{code}").text
    tracking_of(send(reports_ready, code, form()))
    report = run(Report.select().first())
    assert (report["office"], report["grid"], report["place"]) == (office, None, None)
    reports_ready.sign_in_as("grid_worker")
    assert reports_ready.get(f"/reports/{report['id']}").status_code == 404
    reports_ready.sign_in_as("officer")
    assert reports_ready.get(f"/reports/{report['id']}").status_code == 200


def test_the_general_form_marks_every_missing_field_at_once(reports_ready):
    missing = reports_ready.post("/report", data={"client_uuid": str(uuid.uuid4()), "description": "路灯坏了"})
    assert missing.status_code == 422
    assert 'id="e-place"' in missing.text and 'id="e-category"' in missing.text and "路灯坏了" in missing.text


def test_the_poster_says_whose_it_is_with_the_short_url_and_the_stations_phone(reports_ready):
    # Residents told not to scan unknown codes check who put it up, the address and a number.
    place = place_named("泰和花园")
    station = run(
        Place.select(Place.grid.office.station.id.as_alias("id"), Place.grid.office.station.name.as_alias("name"))
        .where(Place.id == place)
        .first()
    )
    run(Station.update({Station.phone: "0516-83001234"}).where(Station.id == station["id"]))
    code = poster_code(reports_ready, place)
    reports_ready.sign_in_as("officer")
    page = reports_ready.get(f"/admin/reports/posters/place/{place}").text
    poster = page[page.index('<article class="poster"') : page.index("</article>")]
    assert f'<p class="poster-station">{station["name"]}</p>' in poster
    assert f"本二维码由{station['name']}制作张贴" in poster
    assert re.search(rf'<p class="poster-url">https?://[^<]*/r/{code}</p>', poster)
    assert '<strong class="poster-phone">0516-83001234</strong>' in poster
    assert poster.count("<li>") >= 3 + 4  # the steps and the examples of what to report


def test_the_hint_shows_an_open_reports_photo_as_a_small_picture_and_a_finished_ones_never(reports_ready):
    code = poster_code(reports_ready, place_named("泰和花园"))
    tracking_of(send(reports_ready, code, form(description="楼道灯坏了"), photo=jpeg()))
    elsewhere = poster_code(reports_ready, place_named("世纪紫薇园"))
    tracking_of(send(reports_ready, elsewhere, form(description="路灯不亮")))
    [with_photo] = run(Report.select(Report.id).where(Report.description == "楼道灯坏了"))
    [without] = run(Report.select(Report.id).where(Report.description == "路灯不亮"))
    part = reports_ready.get(f"/report/similar?category=noise&poster={code}").text
    assert f'<img class="similar-photo" src="/report/similar/{with_photo["id"]}/photo"' in part
    picture = reports_ready.get(f"/report/similar/{with_photo['id']}/photo")
    assert picture.status_code == 200 and picture.headers["content-type"] == "image/jpeg"
    image = Image.open(io.BytesIO(picture.content))
    assert max(image.size) <= 160 and image.getexif() == {}
    assert reports_ready.get(f"/report/similar/{without['id']}/photo").status_code == 404  # no photo
    # Once finished, the report leaves the hint and its photo is nobody's but its reporters'.
    run(Report.update({Report.status: "done"}).where(Report.id == with_photo["id"]))
    assert reports_ready.get(f"/report/similar/{with_photo['id']}/photo").status_code == 404
    assert "similar-photo" not in reports_ready.get(f"/report/similar?category=noise&poster={code}").text
