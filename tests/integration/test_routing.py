"""Routing to agencies end to end: a report whose category has a rule goes to the rule's agency
at once, with its deadlines, and keeps the rule that routed it. SQLite and PostgreSQL alike."""

from __future__ import annotations

import re
import uuid

import pytest

from app.routes.api.open311 import iso
from app.services import routing
from app.tables import Agency, AuditEvent, Holiday, Place, Report, ReportStep, RoutingRule

TRACKING = re.compile(r"/t/([A-Z2-9]{8})\?")


@pytest.fixture
def ready(client, demo):
    return client


def place_named(name: str) -> int:
    from tests.conftest import run

    return run(Place.select(Place.id).where(Place.name == name).first())["id"]


def report(client, category: str, place: str = "泰和花园") -> str:
    response = client.post(
        "/report",
        data={
            "client_uuid": str(uuid.uuid4()),
            "category": category,
            "description": "垃圾堆在路边三天没人清",
            "join": "new",
            "place": str(place_named(place)),
        },
    )
    assert response.status_code == 303, response.text[:2000]
    return TRACKING.search(response.headers["location"]).group(1)


def agency(code: str) -> dict:
    from tests.conftest import run

    return run(Agency.select().where(Agency.code == code).first())


def test_a_report_with_a_rule_goes_to_the_agency_at_once(ready):
    from tests.conftest import run

    tracking = report(ready, "environment")
    [row] = run(Report.select())
    rule = run(RoutingRule.select().where(RoutingRule.category == "environment").first())
    assert (row["status"], row["responsible_agency"], row["agency_state"], row["routing_rule"]) == (
        "transferred",
        agency("CG")["id"],
        "new",
        rule["id"],
    )
    assert row["routed_at"] < row["accept_due"] < row["finish_due"]
    steps = run(
        ReportStep.select(ReportStep.kind, ReportStep.agency)
        .where(ReportStep.report == row["id"])
        .order_by(ReportStep.id)
    )
    assert steps == [{"kind": "received", "agency": None}, {"kind": "transferred", "agency": agency("CG")["id"]}]
    routed = run(AuditEvent.select().where(AuditEvent.action == "route"))
    assert [(e["object_id"], e["actor_role"]) for e in routed] == [(str(row["id"]), "system")]
    page = ready.get(f"/t/{tracking}")
    assert "经开区城市管理局" in page.text and "办理时限" in page.text


def test_a_report_without_a_rule_stays_with_the_police(ready):
    from tests.conftest import run

    report(ready, "noise")
    [row] = run(Report.select())
    assert (row["status"], row["responsible_agency"], row["routing_rule"]) == ("received", None, None)


def test_a_grid_rule_beats_the_station_rule_and_a_retired_rule_routes_nothing(ready):
    from app.tables import Grid
    from tests.conftest import run

    station_rule = run(RoutingRule.select().where(RoutingRule.category == "environment").first())
    grid = run(Grid.select().where(Grid.code == "TH-01").first())
    run(
        RoutingRule.insert(
            RoutingRule(
                kind="report",
                category="environment",
                station=station_rule["station"],
                office=grid["office"],
                grid=grid["id"],
                agency=agency("WY")["id"],
            )
        )
    )
    report(ready, "environment", place="泰和花园")  # in TH-01
    report(ready, "environment", place="马赛公馆")  # elsewhere: the station's rule
    rows = run(Report.select(Report.responsible_agency).order_by(Report.id))
    assert [r["responsible_agency"] for r in rows] == [agency("WY")["id"], agency("CG")["id"]]
    run(
        RoutingRule.update({RoutingRule.retired_at: rows and station_rule["created_at"]}).where(
            RoutingRule.id == station_rule["id"]
        )
    )
    report(ready, "environment", place="马赛公馆")
    last = run(Report.select().order_by(Report.id, ascending=False).first())
    assert (last["status"], last["responsible_agency"]) == ("received", None)


def test_the_holiday_calendar_is_shipped_once(db):
    from tests.conftest import run

    run(routing.ensure_holidays())
    run(routing.ensure_holidays())
    rows = run(Holiday.select())
    assert len(rows) == len({r["day"] for r in rows}) > 30
    assert all(r["provisional"] == (r["day"].year == 2027) for r in rows)


# --- the agency's side ----------------------------------------------------------------------


def matter_id() -> int:
    from tests.conftest import run

    return run(Report.select(Report.id).order_by(Report.id, ascending=False).first())["id"]


def staff_of(code: str) -> int:
    """A second agency's staff member (the demo has one for 城管 only)."""
    from app.tables import Person, PersonRole
    from tests.conftest import run

    person = run(Person.insert(Person(name="物业客服小李")).returning(Person.id))[0]["id"]
    run(PersonRole.insert(PersonRole(person=person, role="agency_staff", agency=agency(code)["id"])))
    return person


def sign_in(client, person: int) -> None:
    from app.services import auth
    from tests.conftest import run

    client.http.cookies.clear()
    client.http.cookies.set("qianmo_session", run(auth.start_session(person)).token)


def test_agency_staff_accept_and_answer_and_the_resident_sees_it_and_rates_the_agency(ready):
    from tests.conftest import run

    tracking = report(ready, "environment")
    report_id = matter_id()
    ready.sign_in_as("agency_staff")
    home = ready.get("/")
    assert "本单位待办事项" in home.text and 'href="/agency?tab=new"' in home.text
    queue = ready.get("/agency")
    assert queue.status_code == 200 and f"/agency/{report_id}" in queue.text and "前签收" in queue.text
    assert ready.post(f"/agency/{report_id}/steps", data={"action": "accept"}).status_code == 303
    empty = ready.post(f"/agency/{report_id}/steps", data={"action": "answer", "text": ""})
    assert empty.status_code == 422 and "请填写公开答复" in empty.text
    assert ready.post(f"/agency/{report_id}/steps", data={"action": "note", "text": "已派清运车"}).status_code == 303
    assert (
        ready.post(
            f"/agency/{report_id}/steps", data={"action": "answer", "text": "垃圾已清运，已安排每日巡查"}
        ).status_code
        == 303
    )
    row = run(Report.select().where(Report.id == report_id).first())
    assert (row["status"], row["agency_state"], row["answered_by"]) == ("done", "answered", agency("CG")["id"])
    actions = [
        e["action"] for e in run(AuditEvent.select().where(AuditEvent.object_type == "report").order_by(AuditEvent.id))
    ]
    assert actions == ["create", "route", "agency_accept", "agency_note", "agency_answer"]
    ready.post("/signout")
    ready.http.cookies.clear()
    page = ready.get(f"/t/{tracking}")
    assert "经开区城市管理局已签收" in page.text and "垃圾已清运，已安排每日巡查" in page.text
    assert "已派清运车" not in page.text  # the agency's internal note
    assert ready.post(f"/t/{tracking}/rate", data={"rating": "5"}).status_code == 303
    rated = run(Report.select(Report.answered_by).where(Report.id == report_id).first())
    assert rated["answered_by"] == agency("CG")["id"]  # the rating rates the unit that answered


def test_a_return_with_a_reason_goes_back_to_the_police_queue_visibly(ready):
    from tests.conftest import run

    tracking = report(ready, "environment")
    report_id = matter_id()
    ready.sign_in_as("agency_staff")
    missing = ready.post(f"/agency/{report_id}/steps", data={"action": "return", "reason": "", "text": ""})
    assert missing.status_code == 422 and "请选择退回原因" in missing.text
    assert run(Report.select(Report.agency_state).where(Report.id == report_id).first())["agency_state"] == "new"
    back = ready.post(
        f"/agency/{report_id}/steps", data={"action": "return", "reason": "not_ours", "text": "属物业管理范围"}
    )
    assert back.status_code == 303
    again = ready.post(
        f"/agency/{report_id}/steps", data={"action": "return", "reason": "not_ours", "text": "再退一次"}
    )
    assert again.status_code == 404  # no longer the agency's: nothing written
    row = run(Report.select().where(Report.id == report_id).first())
    assert (row["status"], row["responsible_agency"], row["agency_state"], row["returns"]) == (
        "received",
        None,
        "returned",
        1,
    )
    assert "属物业管理范围" not in ready.get("/agency?tab=returned").text
    ready.post("/signout")
    ready.sign_in_as("officer")
    queue = ready.get("/reports")
    assert f"/reports/{report_id}" in queue.text and "承办单位退回" in queue.text
    detail = ready.get(f"/reports/{report_id}")
    assert "经开区城市管理局已退回" in detail.text and "属物业管理范围" in detail.text
    ready.post("/signout")
    ready.http.cookies.clear()
    page = ready.get(f"/t/{tracking}")
    assert "经开区城市管理局已退回" in page.text and "属物业管理范围" not in page.text


def test_an_agency_sees_only_its_own_matters_and_never_police_notes(ready):
    report(ready, "environment")
    report_id = matter_id()
    ready.sign_in_as("officer")
    assert ready.post(f"/reports/{report_id}/steps", data={"action": "note", "text": "嫌疑人前科"}).status_code == 303
    ready.post("/signout")
    sign_in(ready, staff_of("WY"))
    assert ready.get(f"/agency/{report_id}").status_code == 404
    assert f"/agency/{report_id}" not in ready.get("/agency").text
    assert ready.post(f"/agency/{report_id}/steps", data={"action": "accept"}).status_code == 404
    ready.http.cookies.clear()
    ready.sign_in_as("agency_staff")
    page = ready.get(f"/agency/{report_id}")
    assert page.status_code == 200 and "嫌疑人前科" not in page.text
    police = ready.get(f"/reports/{report_id}")
    assert police.status_code == 403, police.text[-3000:]  # the police pages stay the police's


def test_a_transfer_on_needs_another_agency_and_a_reason(ready):
    from tests.conftest import run

    report(ready, "environment")
    report_id = matter_id()
    ready.sign_in_as("agency_staff")
    same = ready.post(
        f"/agency/{report_id}/steps", data={"action": "transfer", "agency": str(agency("CG")["id"]), "text": "x"}
    )
    assert same.status_code == 422 and "已在本单位" in same.text
    bare = ready.post(f"/agency/{report_id}/steps", data={"action": "transfer", "agency": str(agency("WY")["id"])})
    assert bare.status_code == 422
    assert (
        run(Report.select(Report.responsible_agency).where(Report.id == report_id).first())["responsible_agency"]
        == agency("CG")["id"]
    )
    on = ready.post(
        f"/agency/{report_id}/steps",
        data={"action": "transfer", "agency": str(agency("WY")["id"]), "text": "小区内部道路归物业"},
    )
    assert on.status_code == 303
    row = run(Report.select().where(Report.id == report_id).first())
    assert (row["responsible_agency"], row["agency_state"], row["returns"]) == (agency("WY")["id"], "new", 1)
    assert f"/agency/{report_id}" not in ready.get("/agency").text
    assert "紫薇物业服务中心" in ready.get("/agency?tab=returned").text


def test_an_agency_person_without_an_agency_is_told_so(ready):
    from app.tables import Person, PersonRole
    from tests.conftest import run

    person = run(Person.insert(Person(name="未关联")).returning(Person.id))[0]["id"]
    run(PersonRole.insert(PersonRole(person=person, role="agency_staff")))
    sign_in(ready, person)
    assert "尚未关联承办单位" in ready.get("/agency").text
    assert "尚未关联承办单位" in ready.get("/").text


# --- Open311 -----------------------------------------------------------------------------------


def test_open311_shows_the_routing_from_filing_to_the_answer(ready):
    from app.services import api_keys, audit
    from tests.conftest import run

    key = run(api_keys.create("城市App", "open311", None, audit.SYSTEM))[1]
    site = run(Place.select().where(Place.name == "泰和花园").first())
    filed = ready.http.post(
        "/open311/v2/requests.json",
        data={
            "api_key": key,
            "service_code": "environment",
            "description": "路边垃圾没人清",
            "lat": str(site["lat"]),
            "long": str(site["lon"]),
        },
    )
    assert filed.status_code in (200, 201), filed.text
    request_id = filed.json()[0]["service_request_id"]
    [first] = ready.http.get(f"/open311/v2/requests/{request_id}.json").json()
    assert (first["agency_responsible"], first["status"], first["status_notes"]) == ("经开区城市管理局", "open", None)
    row = run(Report.select().where(Report.id == int(request_id)).first())
    assert first["expected_datetime"] == iso(row["accept_due"])
    ready.sign_in_as("agency_staff")
    ready.post(f"/agency/{request_id}/steps", data={"action": "accept"})
    [accepted] = ready.http.get(f"/open311/v2/requests/{request_id}.json").json()
    row = run(Report.select().where(Report.id == int(request_id)).first())
    assert accepted["expected_datetime"] == iso(row["finish_due"])
    ready.post(f"/agency/{request_id}/steps", data={"action": "answer", "text": "已清运"})
    [answered] = ready.http.get(f"/open311/v2/requests/{request_id}.json").json()
    assert (
        answered["status"],
        answered["status_notes"],
        answered["agency_responsible"],
        answered["expected_datetime"],
    ) == ("closed", "已清运", "经开区城市管理局", None)
    assert answered["updated_datetime"] >= accepted["updated_datetime"]


# --- the admin's rule list and calendar -----------------------------------------------------------


def rule_form(**changes) -> dict:
    from app.tables import Station
    from tests.conftest import run

    station = run(Station.select(Station.id).first())["id"]
    return {
        "kind": "report",
        "category": "noise",
        "unit": f"station:{station}",
        "agency": str(agency("CG")["id"]),
        "accept_amount": "1",
        "accept_unit": "workdays",
        "finish_amount": "3",
        "finish_unit": "workdays",
        **changes,
    }


def test_bad_rules_are_refused_with_a_message_and_nothing_written(ready):
    from app.tables import RoutingRuleChange
    from tests.conftest import run

    ready.sign_in_as("admin")
    before = run(RoutingRule.count())
    retired = agency("MZ")
    run(Agency.update({Agency.active: False}).where(Agency.id == retired["id"]))
    cases = [
        (rule_form(agency=""), "请选择"),
        (rule_form(agency=str(retired["id"])), "该单位已停用或不存在"),
        (rule_form(accept_amount="0"), "必须大于零"),
        (rule_form(finish_amount="-1"), "必须大于零"),
        (rule_form(category="environment"), "该类别和单位已有规则"),
    ]
    for data, message in cases:
        page = ready.post("/admin/routing", data=data)
        assert page.status_code == 422, data
        assert message in page.text
        assert 'value="noise"' in page.text or 'value="environment"' in page.text  # the input is kept
    assert run(RoutingRule.count()) == before and run(RoutingRuleChange.count()) == before


def test_a_rule_is_created_changed_and_retired_with_its_history_and_exported(ready):
    from tests.conftest import run

    admin = ready.sign_in_as("admin")
    created = ready.post("/admin/routing", data=rule_form())
    assert created.status_code == 303
    rule_id = int(created.headers["location"].split("/")[-1].split("?")[0])
    changed = ready.post(f"/admin/routing/{rule_id}", data=rule_form(agency=str(agency("WY")["id"]), finish_amount="5"))
    assert changed.status_code == 303
    row = run(RoutingRule.select().where(RoutingRule.id == rule_id).first())
    assert (row["agency"], row["finish_amount"], row["created_by"]) == (agency("WY")["id"], 5, admin)
    page = ready.get(f"/admin/routing/{rule_id}")
    assert "已创建" in page.text and f"agency: {agency('CG')['id']} → {agency('WY')['id']}" in page.text
    csv = ready.get("/admin/routing/export.csv")
    assert csv.headers["content-type"].startswith("text/csv") and "紫薇物业服务中心" in csv.text
    assert "经开区城市管理局" in ready.get("/admin/routing/print").text
    assert ready.post(f"/admin/routing/{rule_id}/retire").status_code == 303
    row = run(RoutingRule.select().where(RoutingRule.id == rule_id).first())
    assert row["retired_at"] is not None and row["retired_by"] == admin
    assert ready.post(f"/admin/routing/{rule_id}", data=rule_form()).status_code == 422  # retired: no edit
    report(ready, "noise")
    assert (
        run(Report.select(Report.responsible_agency).order_by(Report.id, ascending=False).first())["responsible_agency"]
        is None
    )
    assert "已停用" in ready.get(f"/admin/routing/{rule_id}").text
    assert run(RoutingRule.exists().where(RoutingRule.id == rule_id))  # retired, never deleted


def test_the_admin_edits_the_holiday_calendar(ready):
    from datetime import date

    from tests.conftest import run

    ready.sign_in_as("admin")
    page = ready.get("/admin/routing/holidays?year=2027")
    assert "暂定" in page.text
    bad = ready.post("/admin/routing/holidays", data={"day": "2027-02-30", "workday": "1", "name": ""})
    assert bad.status_code == 422 and "请输入日期" in bad.text
    saved = ready.post("/admin/routing/holidays", data={"day": "2027-02-06", "workday": "0", "name": "春节"})
    assert saved.status_code == 303
    day = run(Holiday.select().where(Holiday.day == date(2027, 2, 6)).first())
    assert (day["workday"], day["provisional"]) == (False, False)
    run(routing.ensure_holidays())  # a later start leaves the admin's day alone
    assert run(Holiday.select().where(Holiday.day == date(2027, 2, 6)).first())["name"] == "春节"
    assert ready.post(f"/admin/routing/holidays/{day['id']}/remove").status_code == 303
    run(routing.ensure_holidays())
    assert not run(Holiday.exists().where(Holiday.day == date(2027, 2, 6)))  # removed stays removed


def test_overdue_for_the_agency_then_escalated_to_the_supervisor_with_a_frozen_clock(ready):
    from datetime import timedelta

    from app.domain.access import principal_from_rows
    from app.services import agency as agency_service
    from app.services import reports as report_service
    from app.tables import Person, PersonRole
    from tests.conftest import run

    report(ready, "environment")
    report_id = matter_id()
    row = run(Report.select().where(Report.id == report_id).first())

    def who(role: str):
        person_id = run(PersonRole.select(PersonRole.person).where(PersonRole.role == role).first())["person"]
        person = run(Person.select().where(Person.id == person_id).first())
        return principal_from_rows(person, run(PersonRole.select().where(PersonRole.person == person_id)))

    staff, supervisor, day = who("agency_staff"), who("supervisor"), timedelta(hours=24)
    on_time = row["accept_due"] - timedelta(minutes=1)
    late = row["accept_due"] + timedelta(hours=1)
    later = row["accept_due"] + timedelta(hours=25)
    assert run(agency_service.queue(staff, "overdue", on_time)).rows == []
    assert [r["id"] for r in run(agency_service.queue(staff, "overdue", late)).rows] == [report_id]
    assert run(agency_service.counts(staff, late))["overdue"] == 1
    escalated = report_service.QueueFilter(status="escalated")
    assert run(report_service.queue(supervisor, escalated, day, late)).rows == []
    assert [r["id"] for r in run(report_service.queue(supervisor, escalated, day, later)).rows] == [report_id]
    [listed] = run(report_service.queue(supervisor, report_service.QueueFilter(status="transferred"), day, late)).rows
    assert (listed["standing"], listed["agency_name"]) == ("overdue", "经开区城市管理局")
    # Accepting in time for the finish deadline takes it off the overdue lists.
    run(Report.update({Report.agency_state: "accepted"}).where(Report.id == report_id))
    assert run(agency_service.queue(staff, "overdue", later)).rows == []
    assert run(report_service.queue(supervisor, escalated, day, later)).rows == []


def test_imported_calls_of_a_routed_category_go_to_the_agency(ready):
    from datetime import datetime, timezone

    from app.services import api_keys, audit
    from app.tables import Call, Station
    from tests.conftest import run

    station = run(Station.select(Station.id).first())["id"]
    auth = {"Authorization": f"Bearer {run(api_keys.create('接警', 'analyst', station, audit.SYSTEM))[1]}"}
    items = [
        {
            "call_id": "R1",
            "received_at": datetime(2026, 11, 30, 20, tzinfo=timezone.utc).isoformat(),
            "address": "紫薇菜市场门口",
            "category": "占道经营",
            "summary": "门口摆摊堵路",
        },
        {
            "call_id": "R2",
            "received_at": datetime(2026, 11, 30, 21, tzinfo=timezone.utc).isoformat(),
            "address": "泰和祥府5号楼",
            "category": "纠纷",
            "caller_phone": "13900000002",
        },
    ]
    assert ready.http.post("/api/v1/calls", json=items, headers=auth).json()["created"] == 2
    rows = {r["call_id"]: r for r in run(Call.select())}
    rule = run(RoutingRule.select().where(RoutingRule.category == "占道经营").first())
    assert (rows["R1"]["responsible_agency"], rows["R1"]["routing_rule"], rows["R1"]["non_police"]) == (
        agency("CG")["id"],
        rule["id"],
        True,
    )
    assert (rows["R2"]["responsible_agency"], rows["R2"]["non_police"]) == (None, False)
    ready.sign_in_as("agency_staff")
    page = ready.get("/agency?tab=calls")
    assert "门口摆摊堵路" in page.text and "纠纷" not in page.text
    sign_in(ready, staff_of("WY"))
    assert "门口摆摊堵路" not in ready.get("/agency?tab=calls").text


def test_an_officer_takes_a_matter_back_from_the_agency(ready):
    from tests.conftest import run

    tracking = report(ready, "environment")
    report_id = matter_id()
    ready.sign_in_as("officer")
    assert (
        ready.post(f"/reports/{report_id}/steps", data={"action": "take_back", "text": "民警已到场处理"}).status_code
        == 303
    )
    row = run(Report.select().where(Report.id == report_id).first())
    assert (row["status"], row["responsible_agency"], row["agency_state"]) == ("accepted", None, "")
    assert "已从经开区城市管理局收回" in ready.get(f"/reports/{report_id}").text
    ready.http.cookies.clear()
    ready.sign_in_as("agency_staff")
    assert ready.get(f"/agency/{report_id}").status_code == 404
    ready.http.cookies.clear()
    page = ready.get(f"/t/{tracking}")
    assert "已从经开区城市管理局收回" in page.text and "民警已到场处理" not in page.text


def test_a_grid_worker_transfers_by_hand_and_takes_back_only_in_their_grids(ready):
    from tests.conftest import run

    report(ready, "noise", place="泰和祥府")  # TH-04, the demo grid worker's grid
    report_id = matter_id()
    report(ready, "noise", place="泰和花园")  # TH-01: not theirs
    elsewhere = matter_id()
    ready.sign_in_as("grid_worker")
    no_reason = ready.post(
        f"/reports/{report_id}/steps", data={"action": "transfer", "agency": str(agency("CG")["id"])}
    )
    assert no_reason.status_code == 422
    assert run(Report.select(Report.status).where(Report.id == report_id).first())["status"] == "received"
    assert (
        ready.post(
            f"/reports/{report_id}/steps",
            data={"action": "transfer", "agency": str(agency("CG")["id"]), "text": "商铺噪音，城管处理"},
        ).status_code
        == 303
    )
    row = run(Report.select().where(Report.id == report_id).first())
    assert (row["status"], row["responsible_agency"], row["agency_state"]) == ("transferred", agency("CG")["id"], "new")
    assert (
        ready.post(f"/reports/{report_id}/steps", data={"action": "take_back", "text": "网格员已协调"}).status_code
        == 303
    )
    row = run(Report.select().where(Report.id == report_id).first())
    assert (row["status"], row["responsible_agency"]) == ("accepted", None)
    denied = ready.post(
        f"/reports/{elsewhere}/steps",
        data={"action": "transfer", "agency": str(agency("CG")["id"]), "text": "不是我的网格"},
    )
    assert denied.status_code == 404
    assert run(Report.select(Report.status).where(Report.id == elsewhere).first())["status"] == "received"
    kinds = [
        s["kind"]
        for s in run(ReportStep.select(ReportStep.kind).where(ReportStep.report == report_id).order_by(ReportStep.id))
    ]
    assert kinds == ["received", "transferred", "taken_back"]


def test_a_change_of_category_re_routes_to_the_new_rule_s_agency(ready):
    from tests.conftest import run

    tracking = report(ready, "environment")  # with 城管
    report_id = matter_id()
    before = run(Report.select().where(Report.id == report_id).first())
    ready.sign_in_as("officer")
    same = ready.post(f"/reports/{report_id}/steps", data={"action": "category", "category": "environment"})
    assert same.status_code == 422 and "已是这个类别" in same.text
    assert (
        ready.post(f"/reports/{report_id}/steps", data={"action": "category", "category": "power_cut"}).status_code
        == 303
    )
    row = run(Report.select().where(Report.id == report_id).first())
    rule = run(RoutingRule.select().where(RoutingRule.category == "power_cut").first())
    assert (row["status"], row["responsible_agency"], row["agency_state"], row["routing_rule"]) == (
        "transferred",
        agency("GD")["id"],
        "new",
        rule["id"],
    )
    assert row["finish_due"] != before["finish_due"]  # the new rule's deadlines (24 hours)
    steps = run(
        ReportStep.select(ReportStep.kind, ReportStep.public, ReportStep.agency)
        .where(ReportStep.report == report_id)
        .order_by(ReportStep.id)
    )
    assert [s["kind"] for s in steps] == ["received", "transferred", "recategorised", "transferred"]
    assert steps[-1] == {"kind": "transferred", "public": True, "agency": agency("GD")["id"]}
    ready.sign_in_as("agency_staff")  # 城管 no longer has it
    assert ready.get(f"/agency/{report_id}").status_code == 404
    ready.http.cookies.clear()
    page = ready.get(f"/t/{tracking}")
    responsible = page.text.split("宿迁供电公司经开区供电所")
    assert len(responsible) >= 3  # responsible now, and the public step of the move
    assert "类别已更改" not in page.text  # the correction itself is for staff
    # A category without a rule leaves the matter where it is.
    ready.sign_in_as("officer")
    assert (
        ready.post(f"/reports/{report_id}/steps", data={"action": "category", "category": "noise"}).status_code == 303
    )
    assert (
        run(Report.select(Report.responsible_agency).where(Report.id == report_id).first())["responsible_agency"]
        == agency("GD")["id"]
    )


def test_the_agency_s_handling_photo_is_for_its_staff_only(ready):
    from app.tables import ReportStepPhoto
    from tests.conftest import run
    from tests.images import png

    tracking = report(ready, "environment")
    report_id = matter_id()
    ready.sign_in_as("agency_staff")
    bad = ready.post(
        f"/agency/{report_id}/steps",
        data={"action": "note", "text": "清运前"},
        files={"photo": ("x.png", b"not a photo", "image/png")},
    )
    assert bad.status_code == 422 and "清运前" in bad.text
    assert run(ReportStepPhoto.count()) == 0 and run(ReportStep.count().where(ReportStep.kind == "agency_note")) == 0
    sent = ready.post(
        f"/agency/{report_id}/steps",
        data={"action": "note", "text": ""},
        files={"photo": ("p.png", png(40, 30), "image/png")},
    )
    assert sent.status_code == 303
    [photo] = run(ReportStepPhoto.select())
    assert (photo["width"], photo["height"]) == (40, 30)
    page = ready.get(f"/agency/{report_id}")
    assert f"/agency/photos/{photo['id']}" in page.text
    shown = ready.get(f"/agency/photos/{photo['id']}")
    assert shown.status_code == 200 and shown.headers["content-type"] == "image/jpeg"
    sign_in(ready, staff_of("WY"))  # another agency
    assert ready.get(f"/agency/photos/{photo['id']}").status_code == 404
    ready.http.cookies.clear()
    assert "/agency/photos/" not in ready.get(f"/t/{tracking}").text
    assert ready.get(f"/agency/photos/{photo['id']}", follow_redirects=False).status_code in (302, 303, 401, 403)


def test_the_job_marks_escalated_matters_as_the_supervisor_s_list_shows_them(ready):
    from datetime import timedelta

    from app.services import jobs
    from app.services import reports as report_service
    from app.tables import Person, PersonRole
    from tests.conftest import run

    report(ready, "environment")
    report_id = matter_id()
    row = run(Report.select().where(Report.id == report_id).first())
    day = timedelta(hours=24)
    late, later = row["accept_due"] + timedelta(hours=1), row["accept_due"] + timedelta(hours=25)
    assert run(routing.mark_escalated(day, late)) == 0  # overdue only
    assert run(routing.mark_escalated(day, later)) == 1
    assert run(routing.mark_escalated(day, later)) == 0  # once
    stamped = run(Report.select(Report.escalated_at).where(Report.id == report_id).first())["escalated_at"]
    assert stamped == later
    person_id = run(PersonRole.select(PersonRole.person).where(PersonRole.role == "supervisor").first())["person"]
    from app.domain.access import principal_from_rows

    supervisor = principal_from_rows(
        run(Person.select().where(Person.id == person_id).first()),
        run(PersonRole.select().where(PersonRole.person == person_id)),
    )
    listed = run(report_service.queue(supervisor, report_service.QueueFilter(status="escalated"), day, later)).rows
    assert [r["id"] for r in listed] == [report_id] and listed[0]["escalated_at"] == stamped
    assert [e["object_id"] for e in run(AuditEvent.select().where(AuditEvent.action == "escalate"))] == [str(report_id)]
    # The app's timer runs it: a second matter whose deadlines passed long ago is stamped by run_due.
    report(ready, "environment")
    second = matter_id()
    run(
        Report.update(
            {
                Report.accept_due: row["routed_at"] - timedelta(days=3),
                Report.finish_due: row["routed_at"] - timedelta(days=2),
            }
        ).where(Report.id == second)
    )
    run(jobs.run_due(day))
    assert run(Report.select(Report.escalated_at).where(Report.id == second).first())["escalated_at"] is not None


def test_overdue_is_flagged_for_every_holder_of_the_agency_s_role_the_head_included(ready, monkeypatch):
    from datetime import timedelta

    from app.services import agency as agency_service
    from app.tables import Person, PersonRole
    from tests.conftest import run

    report(ready, "environment")
    report_id = matter_id()
    due = run(Report.select(Report.accept_due).where(Report.id == report_id).first())["accept_due"]
    head = run(Person.insert(Person(name="城管局长")).returning(Person.id))[0]["id"]
    run(PersonRole.insert(PersonRole(person=head, role="agency_staff", agency=agency("CG")["id"])))
    monkeypatch.setattr(agency_service, "now", lambda: due + timedelta(hours=1))
    for person in (
        run(PersonRole.select(PersonRole.person).where(PersonRole.role == "agency_staff").first())["person"],
        head,
    ):
        sign_in(ready, person)
        home = ready.get("/")
        assert 'href="/agency?tab=overdue" class="late"' in home.text
        overdue = ready.get("/agency?tab=overdue")
        assert f"/agency/{report_id}" in overdue.text and "status-overdue" in overdue.text
    sign_in(ready, staff_of("WY"))  # another agency's head or staff: nothing of 城管's
    assert f"/agency/{report_id}" not in ready.get("/agency?tab=overdue").text
