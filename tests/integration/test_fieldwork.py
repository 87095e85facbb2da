"""Field logs end to end through HTTP: idempotency, scoping, edit window, void, audit rows,
photo rules, My day, export. Runs on SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest
from PIL import Image

from app.services import fieldwork, fieldwork_lists
from app.tables import AuditEvent, FieldLog, Grid, MediationParty, Photo, Place, Station
from tests.conftest import run

HTMX = {"HX-Request": "true"}
REPLAY = {"X-Outbox-Replay": "1"}


@pytest.fixture
def field(client, demo):
    run(fieldwork_lists.ensure_topics())
    return client


def place_in(grid_code: str) -> int:
    grid = run(Grid.select(Grid.id).where(Grid.code == grid_code).first())["id"]
    return run(Place.select(Place.id).where(Place.grid == grid).order_by(Place.id).first())["id"]


def contact(place: int, **extra) -> dict:
    return {
        "client_uuid": str(uuid.uuid4()),
        "place": str(place),
        "subject_kind": "resident",
        "subject_name": "张大爷",
        "subject_phone": "13912345678",
        "tags": ["fraud", "safety"],
        "note": "反诈宣传，讲解了刷单骗局",
        **extra,
    }


def jpeg(exif_gps: bool = False, size=(2400, 1800)) -> bytes:
    image = Image.new("RGB", size, (200, 80, 40))
    exif = Image.Exif()
    if exif_gps:
        gps = {1: "N", 2: (34.0, 12.0, 30.0), 3: "E", 4: (118.0, 20.0, 10.0)}
        exif[0x8825] = gps
        exif[0x010F] = "PhoneMaker"
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def logs() -> list[dict]:
    return run(FieldLog.select().order_by(FieldLog.id))


def test_an_officer_logs_a_contact_and_sees_it_saved(field):
    officer = field.sign_in_as("officer")
    response = field.post("/field/contacts/new", data=contact(place_in("TH-01")), headers=HTMX)
    assert response.status_code == 200
    assert "已保存" in response.text or "Saved" in response.text
    [row] = logs()
    assert (row["kind"], row["author"], row["subject_name"], row["tags"]) == (
        "contact",
        officer,
        "张大爷",
        ",fraud,safety,",
    )
    events = run(AuditEvent.select().where(AuditEvent.object_type == "field_log"))
    assert [(e["action"], e["object_id"], e["actor_id"]) for e in events] == [("create", str(row["id"]), officer)]
    page = field.get(f"/field/logs/{row['id']}")
    assert "张大爷" in page.text and "13912345678" in page.text  # the author sees the full number


def test_the_same_client_uuid_twice_creates_one_log(field):
    field.sign_in_as("officer")
    data = contact(place_in("TH-01"))
    first = field.post("/field/contacts/new", data=data, headers=REPLAY)
    again = field.post("/field/contacts/new", data=data, headers=REPLAY)
    plain = field.post("/field/contacts/new", data=data)
    assert first.json()["ok"] and again.json()["id"] == first.json()["id"]
    assert again.json()["created"] is False
    assert plain.status_code == 303 and plain.headers["location"] == f"/field/logs/{first.json()['id']}?saved=1"
    assert len(logs()) == 1


@pytest.mark.parametrize(
    "change, field_name, message",
    [
        ({"leaflets": "-5"}, "leaflets", "Enter a number from 0 to 100,000"),
        ({"leaflets": "many"}, "leaflets", "Enter a whole number"),
        ({"follow_up_on": "2020-01-01"}, "follow_up_on", "The follow-up date cannot be in the past"),
        ({"note": "x" * 2001}, "note", "Too long: at most 2000 characters"),
        ({"topic": "nonsense"}, "topic", "Choose one"),
    ],
)
def test_bad_campaign_input_is_answered_field_by_field_and_nothing_is_saved(field, change, field_name, message):
    field.sign_in_as("officer")
    data = {
        "client_uuid": str(uuid.uuid4()),
        "place": str(place_in("TH-01")),
        "topic": "fraud",
        "leaflets": "40",
        "reached": "25",
        "note": "小区门口摆台",
        **change,
    }
    response = field.post("/field/campaign-drops/new", data=data, headers={"Accept-Language": "en"})
    assert response.status_code == 422
    assert message in response.text and 'id="e-%s"' % field_name in response.text
    assert "小区门口摆台" in response.text or field_name == "note"  # the user's input is kept
    replay = field.post("/field/campaign-drops/new", data=data, headers={**REPLAY, "Accept-Language": "en"})
    assert replay.status_code == 422 and replay.json()["errors"][field_name] == message
    assert logs() == []


def test_a_grid_worker_cannot_log_at_a_place_outside_their_grid(field):
    field.sign_in_as("grid_worker")  # holds TH-04 only
    response = field.post(
        "/field/contacts/new", data=contact(place_in("TH-01")), headers={**REPLAY, "Accept-Language": "zh-CN"}
    )
    assert response.status_code == 422
    assert response.json()["errors"]["place"] == "请选择您所辖网格内的地点"
    assert field.post("/field/contacts/new", data=contact(place_in("TH-04")), headers=REPLAY).json()["ok"]
    assert len(logs()) == 1


def test_logs_are_seen_only_within_the_persons_grids(field):
    field.sign_in_as("officer")
    log_id = field.post("/field/contacts/new", data=contact(place_in("TH-01")), headers=REPLAY).json()["id"]
    field.sign_in_as("grid_worker")  # TH-04: not the grid of the log
    assert field.get(f"/field/logs/{log_id}").status_code == 404
    assert "张大爷" not in field.get("/field/logs").text
    field.sign_in_as("supervisor")
    page = field.get(f"/field/logs/{log_id}")
    assert page.status_code == 200 and "张大爷" in page.text
    listing = field.get("/field/logs")
    assert "139****5678" in listing.text and "13912345678" not in listing.text  # lists mask phones


def test_the_author_edits_within_24_hours_and_a_supervisor_at_any_time(field):
    field.sign_in_as("officer")
    data = contact(place_in("TH-01"))
    log_id = field.post("/field/contacts/new", data=data, headers=REPLAY).json()["id"]
    edited = {**data, "note": "改：讲解了冒充客服骗局", "subject_phone": "13900000000"}
    assert field.post(f"/field/logs/{log_id}/edit", data=edited).status_code == 303
    [row] = logs()
    assert row["note"] == "改：讲解了冒充客服骗局"
    event = run(AuditEvent.select().where(AuditEvent.action == "update").first())
    changes = event["changes"] if isinstance(event["changes"], dict) else json.loads(event["changes"])
    assert changes["note"] == ["反诈宣传，讲解了刷单骗局", "改：讲解了冒充客服骗局"]
    assert changes["subject_phone"] == ["changed", "changed"]  # never the number itself

    run(
        FieldLog.update({FieldLog.created_at: datetime.now(timezone.utc) - timedelta(hours=25)}).where(
            FieldLog.id == log_id
        )
    )
    assert field.get(f"/field/logs/{log_id}/edit").status_code == 404
    assert field.post(f"/field/logs/{log_id}/edit", data=edited).status_code == 404
    field.sign_in_as("supervisor")
    assert field.post(f"/field/logs/{log_id}/edit", data={**edited, "note": "督导更正"}).status_code == 303
    assert logs()[0]["note"] == "督导更正"


def test_void_needs_a_reason_keeps_the_row_and_hides_it_from_lists(field):
    field.sign_in_as("officer")
    log_id = field.post("/field/contacts/new", data=contact(place_in("TH-01")), headers=REPLAY).json()["id"]
    refused = field.post(f"/field/logs/{log_id}/void", data={"reason": " "}, headers={"Accept-Language": "en"})
    assert refused.status_code == 422 and "Say why the log is void" in refused.text
    assert field.post(f"/field/logs/{log_id}/void", data={"reason": "重复录入"}).status_code == 303
    [row] = logs()
    assert row["voided_at"] is not None and row["void_reason"] == "重复录入"
    assert f"/field/logs/{log_id}" not in field.get("/field/logs").text
    assert f"/field/logs/{log_id}" in field.get("/field/logs?voided=true").text
    assert run(AuditEvent.count().where((AuditEvent.action == "void") & (AuditEvent.object_id == str(log_id)))) == 1


def test_a_photo_is_downscaled_and_its_exif_location_removed(field, settings):
    field.sign_in_as("officer")
    data = {
        "client_uuid": str(uuid.uuid4()),
        "place": str(place_in("TH-01")),
        "topic": "drugs",
        "leaflets": "120",
        "reached": "80",
    }
    response = field.post(
        "/field/campaign-drops/new",
        data=data,
        files={"photo": ("IMG_0001.jpg", jpeg(exif_gps=True), "image/jpeg")},
        headers=REPLAY,
    )
    assert response.json()["ok"], response.text
    [photo] = run(Photo.select())
    stored = Image.open(fieldwork.photos.path_for(settings.upload_dir, photo["sha256"]))
    assert max(stored.size) == 1600
    assert not stored.getexif() and 0x8825 not in stored.getexif()
    served = field.get(f"/field/photos/{photo['id']}")
    assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
    assert served.headers["cache-control"] == "no-store"  # a file behind a session stays off the phone
    field.sign_in_as("grid_worker")  # another grid: the photo is not theirs to see
    assert field.get(f"/field/photos/{photo['id']}").status_code == 404


def test_a_file_that_is_not_an_image_is_refused_with_the_input_kept(field):
    field.sign_in_as("officer")
    data = {
        "client_uuid": str(uuid.uuid4()),
        "place": str(place_in("TH-01")),
        "topic": "drugs",
        "leaflets": "12",
        "reached": "8",
        "note": "学校门口",
    }
    response = field.post(
        "/field/campaign-drops/new",
        data=data,
        headers={"Accept-Language": "en"},
        files={"photo": ("holiday.jpg", b"MZ\x90\x00 this is an exe" * 50, "image/jpeg")},
    )
    assert response.status_code == 422
    assert "This file is not a photo we can read" in response.text and "学校门口" in response.text
    assert logs() == [] and run(Photo.select()) == []


def test_my_day_lists_a_due_follow_up_until_it_is_logged(field, settings):
    field.sign_in_as("officer")
    today = fieldwork.today(settings.time_zone).isoformat()
    log_id = field.post(
        "/field/contacts/new", data=contact(place_in("TH-01"), follow_up_on=today), headers=REPLAY
    ).json()["id"]
    page = field.get("/field", headers={"Accept-Language": "en"})
    assert f"/field/contacts/new?follow_up={log_id}" in page.text
    form = field.get(f"/field/contacts/new?follow_up={log_id}")
    assert f'name="follows_up" value="{log_id}"' in form.text
    follow = contact(place_in("TH-01"), follows_up=str(log_id), note="回访：已安装反诈App")
    assert field.post("/field/contacts/new", data=follow, headers=REPLAY).json()["ok"]
    assert f"follow_up={log_id}" not in field.get("/field").text
    assert logs()[0]["follow_up_done"] is True


def test_an_overdue_follow_up_is_flagged(field):
    officer = field.sign_in_as("officer")
    log_id = field.post("/field/contacts/new", data=contact(place_in("TH-01")), headers=REPLAY).json()["id"]
    run(FieldLog.update({FieldLog.follow_up_on: date.today() - timedelta(days=3)}).where(FieldLog.id == log_id))
    page = field.get("/field", headers={"Accept-Language": "en"})
    assert "Overdue follow-ups" in page.text and f"follow_up={log_id}" in page.text
    assert officer


def test_a_mediation_needs_two_parties_and_terms_when_agreed_and_prints_an_agreement(field):
    field.sign_in_as("officer")
    data = {
        "client_uuid": str(uuid.uuid4()),
        "place": str(place_in("TH-01")),
        "dispute_type": "neighbours",
        "party_name_0": "赵甲",
        "party_phone_0": "13811112222",
        "party_role_0": "楼上住户",
        "note": "楼上装修噪音扰民",
        "outcome": "agreed",
        "terms": "",
        "call_refs": "J3203-001",
    }
    response = field.post("/field/mediations/new", data=data, headers=REPLAY)
    assert set(response.json()["errors"]) == {"parties", "terms"}
    data.update(
        party_name_1="钱乙", party_address_1="3栋201", terms="1. 每日施工时间限于8:00至18:00\n2、赵甲赔偿钱乙200元"
    )
    log_id = field.post("/field/mediations/new", data=data, headers=REPLAY).json()["id"]
    parties = run(MediationParty.select().where(MediationParty.log == log_id).order_by(MediationParty.position))
    assert [p["name"] for p in parties] == ["赵甲", "钱乙"]
    agreement = field.get(f"/field/logs/{log_id}/agreement", headers={"Accept-Language": "en"})
    assert agreement.status_code == 200
    for text in (
        "邻里纠纷人民调解协议书",
        "当事人（甲方）",
        "赵甲",
        "钱乙",
        "签字（按手印）",
    ):
        assert text in agreement.text
    # The officer's terms, then the standard clauses under their own heading, each numbered from 一.
    page = agreement.text
    assert "<p>一、每日施工时间限于8:00至18:00</p>" in page and "<p>二、赵甲赔偿钱乙200元</p>" in page
    standard = page.index("<h2>协议的效力与履行</h2>")
    assert standard > page.index("二、赵甲赔偿钱乙200元")
    assert "<p>一、本协议经双方当事人签字（按手印）后生效，双方应自觉履行。</p>" in page[standard:]


def test_an_admin_edits_the_agreement_wording_and_the_topic_lists(admin):
    run(fieldwork_lists.ensure_topics())
    assert (
        admin.post(
            "/admin/field/agreements/family",
            data={"title": "婚姻家庭纠纷调解协议", "preamble": "经调解，", "closing": "本协议一式两份。"},
        ).status_code
        == 303
    )
    wording = run(fieldwork_lists.agreement_template("family"))
    assert wording.title == "婚姻家庭纠纷调解协议"
    assert (
        admin.post(
            "/admin/field/lists/campaign", data={"code": "elder_care", "name_zh": "养老防骗", "name_en": "Elder fraud"}
        ).status_code
        == 303
    )
    duplicate = admin.post(
        "/admin/field/lists/campaign",
        data={"code": "elder_care", "name_zh": "x", "name_en": "y"},
        headers={"Accept-Language": "en"},
    )
    assert duplicate.status_code == 422 and "This code is already used" in duplicate.text
    assert "养老防骗" in [t["name_zh"] for t in run(fieldwork_lists.topics("campaign"))]


def test_the_export_masks_phones_unless_a_supervisor_asks_and_is_audited(field):
    field.sign_in_as("officer")
    field.post("/field/contacts/new", data=contact(place_in("TH-01")), headers=REPLAY)
    field.sign_in_as("analyst")
    masked = list(csv.DictReader(io.StringIO(field.get("/field/logs/export.csv?full=true").text.lstrip("\ufeff"))))
    assert masked[0]["电话"] == "139****5678"
    field.sign_in_as("supervisor")
    full = list(csv.DictReader(io.StringIO(field.get("/field/logs/export.csv?full=true").text.lstrip("\ufeff"))))
    assert full[0]["电话"] == "13912345678" and full[0]["姓名"] == "张大爷"
    exports = run(AuditEvent.select().where(AuditEvent.action == "export").order_by(AuditEvent.id))
    unmasked = [
        (e["changes"] if isinstance(e["changes"], dict) else json.loads(e["changes"]))["unmasked"][1] for e in exports
    ]
    assert unmasked == [False, True]


@pytest.mark.parametrize("local_time", ["00:30", "01:48", "23:30"])
def test_a_log_shows_the_local_day_it_was_made(field, settings, local_time):
    # 00:30 and 01:48 Beijing time are the previous day in UTC: the officer's day is Beijing's.
    field.sign_in_as("officer")
    log_id = field.post("/field/contacts/new", data=contact(place_in("TH-01")), headers=REPLAY).json()["id"]
    made = datetime.fromisoformat(f"2026-11-28T{local_time}:00+08:00").astimezone(timezone.utc)
    run(
        FieldLog.update({FieldLog.occurred_at: made, FieldLog.follow_up_on: fieldwork.today(settings.time_zone)}).where(
            FieldLog.id == log_id
        )
    )
    en = {"Accept-Language": "en"}
    card = field.get("/field", headers=en).text.split(f"follow_up={log_id}")[0].rsplit('<li class="card', 1)[1]
    assert "Nov 28, 2026" in card and "Nov 27" not in card
    form = field.get(f"/field/contacts/new?follow_up={log_id}", headers=en).text
    assert "Follow-up of the log of Nov 28, 2026" in form


def test_the_topic_filter_finds_contacts_and_campaign_drops_of_that_topic(field):
    field.sign_in_as("officer")
    contact_id = field.post(
        "/field/contacts/new", data=contact(place_in("TH-01"), tags=["fraud"]), headers=REPLAY
    ).json()["id"]
    drop = {
        "client_uuid": str(uuid.uuid4()),
        "place": str(place_in("TH-01")),
        "topic": "fraud",
        "leaflets": "40",
        "reached": "25",
        "note": "小区门口摆台",
    }
    drop_id = field.post("/field/campaign-drops/new", data=drop, headers=REPLAY).json()["id"]
    other = field.post(
        "/field/campaign-drops/new", data={**drop, "client_uuid": str(uuid.uuid4()), "topic": "cult"}, headers=REPLAY
    ).json()["id"]
    page = field.get("/field/logs?tag=fraud", headers={"Accept-Language": "en"}).text
    assert f"/field/logs/{contact_id}" in page and f"/field/logs/{drop_id}" in page
    assert f'/field/logs/{other}"' not in page
    # A campaign-only topic is a choice of the filter too.
    assert '<option value="cult"' in page and "Anti-cult" in page


def test_filter_values_that_name_no_row_are_ignored_and_the_chosen_one_stays_chosen(field):
    field.sign_in_as("officer")
    log_id = field.post("/field/contacts/new", data=contact(place_in("TH-01")), headers=REPLAY).json()["id"]
    tampered = field.get("/field/logs?grid=999999999999999999999&author=%3Cscript%3E&place=-1")
    assert tampered.status_code == 200 and f"/field/logs/{log_id}" in tampered.text
    assert (
        "<script>" not in tampered.text
        and " selected" not in tampered.text.split('id="f-grid"')[1].split("</select>")[0]
    )
    grid = run(Grid.select(Grid.id).where(Grid.code == "TH-01").first())["id"]
    chosen = field.get(f"/field/logs?grid={grid}").text.split('id="f-grid"')[1].split("</select>")[0]
    assert f'<option value="{grid}" selected>' in chosen and chosen.count(" selected") == 1


def test_a_phone_the_viewer_may_see_is_one_tap_from_a_call(field):
    field.sign_in_as("officer")
    log_id = field.post("/field/contacts/new", data=contact(place_in("TH-01")), headers=REPLAY).json()["id"]
    page = field.get(f"/field/logs/{log_id}").text
    assert '<a class="tel" href="tel:13912345678">13912345678</a>' in page
    field.sign_in_as("analyst")  # reads the log, not its personal data: masked, no link
    page = field.get(f"/field/logs/{log_id}").text
    assert "139****5678" in page and "tel:" not in page.split("<main", 1)[1]


def test_the_export_reads_in_chinese_with_local_times_and_the_agreement(field):
    field.sign_in_as("officer")
    data = {
        "client_uuid": str(uuid.uuid4()),
        "place": str(place_in("TH-01")),
        "dispute_type": "neighbours",
        "party_name_0": "赵甲",
        "party_name_1": "钱乙",
        "note": "楼上装修噪音",
        "outcome": "agreed",
        "terms": "一、施工限于8:00至18:00。",
        "mediators": "王调解员",
    }
    log_id = field.post("/field/mediations/new", data=data, headers=REPLAY).json()["id"]
    made = datetime(2026, 11, 27, 17, 48, tzinfo=timezone.utc)  # 01:48 on the 28th in Beijing
    run(FieldLog.update({FieldLog.occurred_at: made}).where(FieldLog.id == log_id))
    field.sign_in_as("supervisor")
    [row] = csv.DictReader(io.StringIO(field.get("/field/logs/export.csv").text.lstrip("\ufeff")))
    assert row["记录类型"] == "现场调解" and row["时间"] == "2026-11-28 01:48"  # the local time, not UTC's
    assert row["纠纷类型"] == "噪音／邻里" and row["调解结果"] == "达成协议"  # names, not codes
    assert row["调解人员"] == "王调解员" and row["协议内容"] == "一、施工限于8:00至18:00。"
    assert row["当事人"].startswith("赵甲") and "钱乙" in row["当事人"]


# --- the written agreement: its number, its issuer, the parties' identity ----------------------


def mediation(**extra) -> dict:
    return {
        "client_uuid": str(uuid.uuid4()),
        "place": str(place_in("TH-01")),
        "dispute_type": "neighbours",
        "party_name_0": "赵甲",
        "party_name_1": "钱乙",
        "note": "楼上装修噪音扰民",
        "outcome": "agreed",
        "terms": "每日施工时间限于8:00至18:00",
        **extra,
    }


def at(moment: str):
    return lambda: datetime.fromisoformat(moment).astimezone(timezone.utc)


def agreement_of(client, log_id: int) -> str:
    return client.get(f"/field/logs/{log_id}/agreement").text


def test_an_agreed_mediation_is_numbered_per_station_and_local_year_from_one(field, monkeypatch):
    field.sign_in_as("officer")
    monkeypatch.setattr(fieldwork, "now", at("2026-12-31T23:30:00+08:00"))
    first = field.post("/field/mediations/new", data=mediation(), headers=REPLAY).json()["id"]
    pending = field.post("/field/mediations/new", data=mediation(outcome="unresolved", terms=""), headers=REPLAY)
    second = field.post("/field/mediations/new", data=mediation(), headers=REPLAY).json()["id"]
    assert "〔2026〕第1号" in agreement_of(field, first)
    assert "〔2026〕第2号" in agreement_of(field, second)
    # Saving again keeps the number given the first time; one agreed later takes the next.
    run(FieldLog.update({FieldLog.created_at: fieldwork.now()}).where(FieldLog.id > 0))
    assert field.post(f"/field/logs/{first}/edit", data=mediation(), headers=REPLAY).status_code == 303
    later = pending.json()["id"]
    assert field.post(f"/field/logs/{later}/edit", data=mediation(), headers=REPLAY).status_code == 303
    page = agreement_of(field, first)
    assert "〔2026〕第1号" in page and f"〕{first}号" not in page
    assert "〔2026〕第3号" in agreement_of(field, later)
    # 00:30 on 1 January in Beijing is still 2026 in UTC: the station's year starts over.
    monkeypatch.setattr(fieldwork, "now", at("2027-01-01T00:30:00+08:00"))
    new_year = field.post("/field/mediations/new", data=mediation(), headers=REPLAY).json()["id"]
    assert "〔2027〕第1号" in agreement_of(field, new_year)


@pytest.mark.parametrize("year", [2026])
def test_two_numbers_taken_at_once_differ(field, year):
    # Both statements are in flight together; the counter row hands out 1 and 2, never 1 twice.
    async def both():
        return await asyncio.gather(*(fieldwork.next_agreement_number(7, year) for _ in range(2)))

    assert sorted(run(both())) == [1, 2]
    assert run(fieldwork.next_agreement_number(7, year + 1)) == 1
    assert run(fieldwork.next_agreement_number(8, year)) == 1


def test_the_mediation_type_chooses_the_issuing_body(field):
    field.sign_in_as("officer")
    police = field.post("/field/mediations/new", data=mediation(mediation_type="police"), headers=REPLAY).json()["id"]
    station = run(FieldLog.select(FieldLog.grid.office.station.name.as_alias("s")).where(FieldLog.id == police).first())
    page = agreement_of(field, police)
    assert "<h1>公安机关治安调解协议书</h1>" in page and f"{station['s']}（盖章）" in page
    run(Station.update({Station.committee_name: "城北街道人民调解委员会"}).where(Station.name == station["s"]))
    people = field.post("/field/mediations/new", data=mediation(mediation_type="people"), headers=REPLAY).json()["id"]
    page = agreement_of(field, people)
    assert "<h1>邻里纠纷人民调解协议书</h1>" in page and "城北街道人民调解委员会（盖章）" in page


def test_a_partys_resident_id_is_checked_shown_on_the_agreement_and_masked_on_the_page(field):
    field.sign_in_as("officer")
    wrong = mediation(party_id_number_0="110105194912310021", party_age_1="130")
    errors = field.post("/field/mediations/new", data=wrong, headers=REPLAY).json()["errors"]
    assert set(errors) == {"party_id_number_0", "party_age_1"}
    form = field.post("/field/mediations/new", data=wrong, headers={"Accept-Language": "en"}).text
    assert "Not a resident ID number: 18 characters, the last a check digit" in form
    right = mediation(party_id_number_0="11010519491231002x", party_sex_0="male", party_age_0="76")
    log_id = field.post("/field/mediations/new", data=right, headers=REPLAY).json()["id"]
    page = agreement_of(field, log_id)
    assert "公民身份号码：11010519491231002X" in page and "性别：男" in page and "年龄：76岁" in page
    detail = field.get(f"/field/logs/{log_id}").text
    assert "1101**********002X" in detail and "11010519491231002X" not in detail


def test_the_list_pages_by_key_and_counts_no_further_than_it_says(field):
    """A station's years of logs: 'Older' continues after the last log shown (ties on the same
    minute included, none shown twice or skipped), and the count stops at 1,000."""
    officer = field.sign_in_as("officer")
    grid = run(Grid.select(Grid.id).where(Grid.code == "TH-01").first())["id"]
    start, place = datetime(2026, 11, 1, 9, 27, tzinfo=timezone.utc), place_in("TH-01")
    rows = [
        FieldLog(
            client_uuid=str(uuid.uuid4()),
            kind="contact",
            author=officer,
            grid=grid,
            place=place,
            occurred_at=start + timedelta(minutes=i // 3),
            subject_kind="resident",
            subject_name=f"居民{i}",
        )
        for i in range(1005)
    ]
    for batch in range(0, len(rows), 200):  # PostgreSQL takes at most 32,767 arguments per statement
        run(FieldLog.insert(*rows[batch : batch + 200]))
    newest = FieldLog.select(FieldLog.id).order_by(FieldLog.occurred_at, ascending=False)
    newest_first = [r["id"] for r in run(newest.order_by(FieldLog.id, ascending=False))]
    page = field.get("/field/logs", headers={"Accept-Language": "en"}).text
    assert "More than 1,000 found" in page
    seen, url = [], "/field/logs?grid=%d" % grid
    while url:
        page = field.get(url, headers={"Accept-Language": "en"}).text
        seen += [int(i) for i in re.findall(r'href="/field/logs/(\d+)"', page)]
        older = re.search(r'href="(/field/logs\?[^"]*older=\d+)"[^>]*>Older', page)
        url = older.group(1).replace("&amp;", "&") if older else ""
        assert "grid=%d" % grid in (url or "grid=%d" % grid)  # the filter is kept on every page
    assert seen == newest_first  # 21 pages, each log once, in order
    assert 'href="/field/logs?grid=%d"' % grid in page  # back to the newest


def test_the_author_choices_are_the_writers_of_the_grids_one_sees(field):
    field.sign_in_as("officer")
    page = field.get("/field/logs").text
    choices = re.search(r'<select id="f-author".*?</select>', page, re.S).group(0)
    assert "邵韦杰" in choices and "王艳荣" in choices  # the station's officer and a grid worker in it
    assert "张伟" not in choices and "李明" not in choices  # agency staff and volunteers write no logs
