"""Routing to agencies end to end: a report whose category has a rule goes to the rule's agency
at once, with its deadlines, and keeps the rule that routed it. SQLite and PostgreSQL alike."""
from __future__ import annotations

import re
import uuid

import pytest

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
    response = client.post("/report", data={"client_uuid": str(uuid.uuid4()), "category": category,
                                            "description": "垃圾堆在路边三天没人清", "join": "new", "place": str(place_named(place))})
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
        "transferred", agency("CG")["id"], "new", rule["id"])
    assert row["routed_at"] < row["accept_due"] < row["finish_due"]
    steps = run(ReportStep.select(ReportStep.kind, ReportStep.agency).where(ReportStep.report == row["id"])
                .order_by(ReportStep.id))
    assert steps == [{"kind": "received", "agency": None}, {"kind": "transferred", "agency": agency("CG")["id"]}]
    routed = run(AuditEvent.select().where(AuditEvent.action == "route"))
    assert [(e["object_id"], e["actor_role"]) for e in routed] == [(str(row["id"]), "system")]
    page = ready.get(f"/t/{tracking}")
    assert "经开区城市管理局" in page.text


def test_a_report_without_a_rule_stays_with_the_police(ready):
    from tests.conftest import run
    report(ready, "noise")
    [row] = run(Report.select())
    assert (row["status"], row["responsible_agency"], row["routing_rule"]) == ("received", None, None)


def test_a_grid_rule_beats_the_station_rule_and_a_retired_rule_routes_nothing(ready):
    from tests.conftest import run
    from app.tables import Grid
    station_rule = run(RoutingRule.select().where(RoutingRule.category == "environment").first())
    grid = run(Grid.select().where(Grid.code == "TH-01").first())
    run(RoutingRule.insert(RoutingRule(kind="report", category="environment", station=station_rule["station"],
                                       office=grid["office"], grid=grid["id"], agency=agency("WY")["id"])))
    report(ready, "environment", place="泰和花园")  # in TH-01
    report(ready, "environment", place="马赛公馆")  # elsewhere: the station's rule
    rows = run(Report.select(Report.responsible_agency).order_by(Report.id))
    assert [r["responsible_agency"] for r in rows] == [agency("WY")["id"], agency("CG")["id"]]
    run(RoutingRule.update({RoutingRule.retired_at: rows and station_rule["created_at"]}).where(
        RoutingRule.id == station_rule["id"]))
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
