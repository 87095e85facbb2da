"""Routed 110 calls are the agency's matters: imported calls of a category with a rule open at
the agency with deadlines from the import, are accepted, noted, answered, returned (back to the
police, where they count in the detection again) or transferred on, each step on the call's
timeline; the police see the agencies' steps on the work order of the place. Both engines."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from app.tables import AuditEvent, Call, CallStep, RoutingRule, WorkOrder
from tests.integration.test_routing import agency, sign_in, staff_of

MARKET = "紫薇菜市场门口"


@pytest.fixture
def ready(client, demo):
    client.http.headers["Accept-Language"] = "en"  # the pages' words, read in English
    return client


def api_auth() -> dict:
    from app.services import api_keys, audit
    from app.tables import Station
    from tests.conftest import run

    station = run(Station.select(Station.id).first())["id"]
    return {"Authorization": f"Bearer {run(api_keys.create('接警', 'analyst', station, audit.SYSTEM))[1]}"}


def send(client, *calls: dict) -> None:
    response = client.http.post("/api/v1/calls", json=list(calls), headers=api_auth())
    assert response.json()["created"] == len(calls), response.text


def a_call(call_id: str, hours_ago: float, category: str = "占道经营", **more) -> dict:
    at = datetime.now(timezone.utc) - timedelta(hours=hours_ago)
    return {"call_id": call_id, "received_at": at.isoformat(), "address": MARKET, "category": category, **more}


def row(call_id: str) -> dict:
    from tests.conftest import run

    return run(Call.select().where(Call.call_id == call_id).first())


def steps(call_id: str) -> list[tuple[str, str]]:
    from tests.conftest import run

    found = run(
        CallStep.select(CallStep.kind, CallStep.text).where(CallStep.call == row(call_id)["id"]).order_by(CallStep.id)
    )
    return [(s["kind"], s["text"]) for s in found]


def step(client, call_id: str, **form) -> object:
    return client.post(f"/agency/calls/{row(call_id)['id']}/steps", data=form)


def test_a_routed_call_opens_at_the_agency_and_is_accepted_noted_and_answered(ready):
    from tests.conftest import run

    before = datetime.now(timezone.utc)
    send(ready, a_call("N1", 2, summary="门口摆摊堵路"), a_call("OLD", 24 * 40, summary="去年的摊位"))
    new, old = row("N1"), row("OLD")
    rule = run(RoutingRule.select().where(RoutingRule.category == "占道经营").first())
    assert (new["agency_state"], new["responsible_agency"], new["routing_rule"]) == (
        "new",
        agency("CG")["id"],
        rule["id"],
    )
    assert before <= new["routed_at"] < new["accept_due"] <= new["finish_due"]
    # Received forty days before its import: routed for the lists, not an open matter.
    assert (old["agency_state"], old["responsible_agency"], old["accept_due"]) == ("", agency("CG")["id"], None)

    ready.sign_in_as("agency_staff")
    queue = ready.get("/agency?tab=calls").text
    assert "门口摆摊堵路" in queue and "去年的摊位" in queue and "Accept by" in queue
    assert "For information" in queue  # the old one, marked as such
    assert step(ready, "N1", action="accept").status_code == 303
    assert step(ready, "N1", action="note", text="已联系市场管理方").status_code == 303
    assert step(ready, "N1", action="answer", text="已劝离摊贩，设置了提示牌").status_code == 303
    assert row("N1")["agency_state"] == "answered"
    assert steps("N1") == [
        ("agency_accepted", ""),
        ("agency_note", "已联系市场管理方"),
        ("answered", "已劝离摊贩，设置了提示牌"),
    ]
    page = ready.get(f"/agency/calls/{row('N1')['id']}").text
    assert "Routed to 经开区城市管理局" in page and "Answered by 经开区城市管理局" in page
    assert "已劝离摊贩" in page and "Accept (签收)" not in page  # nothing more to do
    actions = run(AuditEvent.select(AuditEvent.action).where(AuditEvent.object_type == "call"))
    assert [a["action"] for a in actions] == ["agency_accept", "agency_note", "agency_answer"]
    # The same step twice: a clear message, nothing written.
    again = step(ready, "N1", action="accept")
    assert again.status_code == 422 and "not possible in the matter" in again.text
    assert len(steps("N1")) == 3


def test_a_return_gives_the_call_back_to_the_police_and_the_work_order_shows_the_agency_steps(ready):
    from tests.conftest import run

    # Three fights at the market (a repeat place: a work order) and a stall the police routed.
    police = [a_call(f"P{i}", 10 - i, category="纠纷", caller_phone=f"1390000000{i}") for i in range(3)]
    send(ready, a_call("S1", 5, summary="摊位占了消防通道"), *police)
    ready.sign_in_as("agency_staff")
    missing = step(ready, "S1", action="return", reason="", text="")
    assert missing.status_code == 422 and "Choose why it comes back" in missing.text
    assert steps("S1") == [] and row("S1")["agency_state"] == "new"
    assert step(ready, "S1", action="accept").status_code == 303
    assert step(ready, "S1", action="return", reason="not_ours", text="属于消防通道，请派出所处理").status_code == 303
    back = row("S1")
    assert (back["agency_state"], back["responsible_agency"], back["non_police"], back["returns"]) == (
        "returned",
        None,
        False,
        1,
    )
    assert ready.get(f"/agency/calls/{back['id']}").status_code == 404  # no longer theirs

    order = run(WorkOrder.select().where(WorkOrder.rule == "repeat_place").first())
    assert order is not None
    ready.sign_in_as("analyst")
    page = ready.get(f"/orders/{order['id']}").text
    assert "Calls here routed to agencies" in page
    assert "Accepted by 经开区城市管理局" in page and "Returned by 经开区城市管理局" in page
    assert "属于消防通道" in page


def test_a_transfer_on_moves_the_call_and_another_agency_never_sees_it(ready):
    send(ready, a_call("T1", 1, summary="菜市场停电"))
    wuye = staff_of("WY")
    ready.sign_in_as("agency_staff")
    call_id = row("T1")["id"]
    same = step(ready, "T1", action="transfer", agency=str(agency("CG")["id"]), text="不是我们")
    assert same.status_code == 422 and "It is with this agency already" in same.text
    assert step(ready, "T1", action="transfer", agency=str(agency("WY")["id"]), text="物业管的线路").status_code == 303
    moved = row("T1")
    assert (moved["responsible_agency"], moved["agency_state"], moved["returns"]) == (agency("WY")["id"], "new", 1)
    assert ready.get(f"/agency/calls/{call_id}").status_code == 404
    sign_in(ready, wuye)
    page = ready.get(f"/agency/calls/{call_id}").text
    assert "菜市场停电" in page and "Transferred to" in page and "物业管的线路" in page
    assert "Accept (签收)" in page


def test_overdue_calls_are_flagged_and_the_job_escalates_them(ready):
    from app.domain.access import principal_from_rows
    from app.services import agency_calls, routing
    from app.tables import Person, PersonRole
    from tests.conftest import run

    send(ready, a_call("L1", 1, summary="路灯不亮"))
    late = row("L1")["accept_due"] + timedelta(hours=1)
    person_id = run(PersonRole.select(PersonRole.person).where(PersonRole.role == "agency_staff").first())["person"]
    staff = principal_from_rows(
        run(Person.select().where(Person.id == person_id).first()),
        run(PersonRole.select().where(PersonRole.person == person_id)),
    )
    assert run(agency_calls.overdue(staff, late - timedelta(hours=2))) == []
    assert [c["call_id"] for c in run(agency_calls.overdue(staff, late))] == ["L1"]
    assert run(agency_calls.counts(staff, late)) == {"calls": 1, "calls_overdue": 1}
    day = timedelta(hours=24)
    assert run(routing.mark_escalated(day, late)) == 0
    assert run(routing.mark_escalated(day, late + day)) == 1
    assert run(routing.mark_escalated(day, late + day)) == 0  # stamped once
    assert row("L1")["escalated_at"] is not None
