"""Grid alerts end to end: posting, My day, acknowledging, closing, escalation on a frozen
clock (exactly once, also with two processes at the same moment), notifications."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from app.domain.access import Principal, principal_from_rows
from app.services import alerts, auth
from app.tables import (
    AlertRecipient,
    AlertStep,
    Grid,
    GridAlert,
    Notification,
    Person,
    PersonRole,
    WorkOrder,
)
from tests.conftest import client_with, run
from tests.live import ROOT

T0 = datetime(2026, 12, 2, 3, 0, tzinfo=timezone.utc)


def grid_id(code: str = "TH-04") -> int:
    return run(Grid.select(Grid.id).where(Grid.code == code).first())["id"]


def person_of(role: str) -> int:
    return run(PersonRole.select(PersonRole.person).where(PersonRole.role == role).first())["person"]


def add_officer(name: str, grid: int) -> int:
    """Another officer of the grid's office (the chain's second step)."""
    office = run(Grid.select(Grid.office).where(Grid.id == grid).first())["office"]
    person = run(Person.insert(Person(name=name)).returning(Person.id))[0]["id"]
    run(PersonRole.insert(PersonRole(person=person, role="officer", office=office)))
    return person


def alert_form(grid: int, urgency: str = "urgent", text: str = "两个邻居要打起来了") -> dict:
    return {"client_uuid": str(uuid.uuid4()), "text": text, "urgency": urgency, "grid": str(grid)}


def notified(person: int) -> list[str]:
    return [r["kind"] for r in run(Notification.select(Notification.kind).where(Notification.person == person))]


@pytest.fixture
def worker(client, demo):
    client.sign_in_as("grid_worker")
    return client


def test_grid_worker_alerts_the_officer_who_acknowledges_and_closes_it_into_a_work_order(worker, settings):
    grid = grid_id()
    officer = run(alerts.chain_for(grid)).at(0)[0]
    page = worker.get("/alerts/new")
    assert "tel:110" in page.text and "tel:119" in page.text and "tel:120" in page.text
    response = worker.post("/alerts/new", data=alert_form(grid))
    assert response.status_code == 303, response.text
    alert_id = int(response.headers["location"].split("/")[2].split("?")[0])
    assert [r["person"] for r in run(AlertRecipient.select(AlertRecipient.person))] == [officer]
    assert notified(officer) == ["alert"]

    with client_with(settings) as officer_client:
        officer_client.post("/signin/demo", data={"person": str(officer), "next": "/"})
        day = officer_client.get("/field")
        assert "两个邻居要打起来了" in day.text and f"/alerts/{alert_id}" in day.text
        assert officer_client.post(f"/alerts/{alert_id}/acknowledge", data={"kind": "on_my_way"}).status_code == 303
        again = officer_client.post(f"/alerts/{alert_id}/acknowledge", data={"kind": "seen"})
        assert again.status_code == 422  # acknowledged once; the second tap is told so
        closed = officer_client.post(
            f"/alerts/{alert_id}/close", data={"outcome": "调解成功", "work_order": "1"}, follow_redirects=True
        )
        assert closed.status_code == 200

    sender = person_of("grid_worker")
    assert notified(sender) == ["alert_on_my_way", "alert_closed"]
    row = run(GridAlert.select().where(GridAlert.id == alert_id).first())
    assert row["state"] == "closed" and row["ack_kind"] == "on_my_way" and row["escalate_at"] is None
    order = run(WorkOrder.select().where(WorkOrder.id == row["work_order"]).first())
    assert order["grid"] == grid and order["title"] == "两个邻居要打起来了"
    steps = [
        s["kind"]
        for s in run(AlertStep.select(AlertStep.kind).where(AlertStep.alert == alert_id).order_by(AlertStep.id))
    ]
    assert steps == ["posted", "sent", "acknowledged", "closed"]
    shown = worker.get(f"/alerts/{alert_id}").text
    assert "马上到" in shown and "调解成功" in shown  # the sender's page (zh-CN): on my way, and the outcome


def test_bad_input_keeps_what_was_typed_and_marks_the_fields(worker):
    form = alert_form(grid_id(), urgency="")
    form["text"] = "  快来 "
    response = worker.post("/alerts/new", data=form)
    assert response.status_code == 422
    assert "快来" in response.text and 'class="field has-error"' in response.text and 'id="e-urgency"' in response.text
    assert run(GridAlert.count()) == 0


def test_a_grid_worker_cannot_alert_for_another_grid(worker):
    response = worker.post("/alerts/new", data=alert_form(grid_id("TH-01")))
    assert response.status_code == 422 and run(GridAlert.count()) == 0


def test_a_replayed_post_creates_nothing_twice(worker):
    form = alert_form(grid_id())
    assert worker.post("/alerts/new", data=form).status_code == 303
    assert worker.post("/alerts/new", data=form).status_code == 303
    assert run(GridAlert.count()) == 1


def principal_of(person_id: int) -> Principal:
    async def load() -> Principal:
        person = await Person.select().where(Person.id == person_id).first()
        return principal_from_rows(person, await PersonRole.select().where(PersonRole.person == person_id))

    return run(load())


def _post_at(monkeypatch, principal_role: str, urgency: str = "urgent") -> int:
    """An alert posted at T0 (the clock frozen there)."""
    monkeypatch.setattr(auth, "now", lambda: T0)
    principal = principal_of(person_of(principal_role))
    outcome = run(alerts.post(principal, alert_form(grid_id(), urgency), None, "/tmp"))
    assert outcome.ok, outcome.errors
    return outcome.id


def recipients(alert_id: int) -> list[tuple[int, int]]:
    return [
        (r["level"], r["person"])
        for r in run(
            AlertRecipient.select(AlertRecipient.level, AlertRecipient.person)
            .where(AlertRecipient.alert == alert_id)
            .order_by(AlertRecipient.id)
        )
    ]


def test_an_unacknowledged_urgent_alert_climbs_the_chain_once_per_step(demo, monkeypatch):
    grid = grid_id()
    second = add_officer("第二民警", grid)
    officer = run(alerts.chain_for(grid)).at(0)[0]
    supervisor = person_of("supervisor")
    alert_id = _post_at(monkeypatch, "grid_worker")
    assert run(alerts.escalate_due(T0 + timedelta(minutes=4, seconds=59))) == 0
    assert recipients(alert_id) == [(0, officer)]
    assert run(alerts.escalate_due(T0 + timedelta(minutes=5))) == 1
    assert run(alerts.escalate_due(T0 + timedelta(minutes=5))) == 0  # the same step only once
    assert recipients(alert_id) == [(0, officer), (1, second)]
    assert notified(second) == ["alert_escalated"] and notified(supervisor) == []
    assert run(alerts.escalate_due(T0 + timedelta(minutes=10))) == 1
    assert recipients(alert_id) == [(0, officer), (1, second), (2, supervisor)]
    assert run(alerts.escalate_due(T0 + timedelta(hours=5))) == 0  # the chain has ended
    steps = [
        s["kind"]
        for s in run(AlertStep.select(AlertStep.kind).where(AlertStep.alert == alert_id).order_by(AlertStep.id))
    ]
    assert steps == ["posted", "sent", "escalated", "escalated"]


def test_the_station_setting_sets_the_minutes_and_acknowledging_stops_the_chain(demo, monkeypatch, settings):
    with client_with(settings) as keeper:
        keeper.sign_in_as("supervisor")
        station = run(Grid.select(Grid.office.station.as_alias("s")).where(Grid.id == grid_id()).first())["s"]
        assert keeper.post(f"/alerts/settings/{station}", data={"escalate_minutes": "0"}).status_code == 422
        assert keeper.post(f"/alerts/settings/{station}", data={"escalate_minutes": "2"}).status_code == 303
    alert_id = _post_at(monkeypatch, "grid_worker")
    assert run(GridAlert.select(GridAlert.escalate_at).where(GridAlert.id == alert_id).first())[
        "escalate_at"
    ] == T0 + timedelta(minutes=2)
    officer = run(alerts.chain_for(grid_id())).at(0)[0]
    assert run(alerts.acknowledge(principal_of(officer), alert_id, "seen")).ok
    assert run(alerts.escalate_due(T0 + timedelta(hours=1))) == 0
    assert notified(person_of("supervisor")) == []


def test_only_urgent_alerts_escalate(demo, monkeypatch):
    alert_id = _post_at(monkeypatch, "grid_worker", urgency="soon")
    assert run(alerts.escalate_due(T0 + timedelta(hours=1))) == 0
    assert len(recipients(alert_id)) == 1


ESCALATE = (
    "import asyncio, sys; from datetime import datetime; from app.services import alerts; "
    "print(asyncio.run(alerts.escalate_due(datetime.fromisoformat(sys.argv[1]))))"
)


def test_two_processes_escalating_at_the_same_moment_take_each_step_once(demo, monkeypatch):
    """Two app processes run the due job together: one takes the step, the other nothing."""
    grid = grid_id()
    add_officer("第二民警", grid)
    alert_id = _post_at(monkeypatch, "grid_worker")
    moment = (T0 + timedelta(minutes=5)).isoformat()
    env = {**os.environ, "PICCOLO_CONF": "piccolo_conf"}
    runs = [
        subprocess.Popen([sys.executable, "-c", ESCALATE, moment], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    taken = sorted(int(p.communicate(timeout=120)[0].strip().splitlines()[-1]) for p in runs)
    assert taken == [0, 1]
    assert [level for level, _ in recipients(alert_id)] == [0, 1]


def test_an_officer_alerting_for_his_own_grid_reaches_the_next_people(demo, monkeypatch):
    officer = run(alerts.chain_for(grid_id())).at(0)[0]
    monkeypatch.setattr(auth, "now", lambda: T0)
    outcome = run(alerts.post(principal_of(officer), alert_form(grid_id()), None, "/tmp"))
    assert outcome.ok
    assert recipients(outcome.id) == [(0, person_of("supervisor"))] and notified(officer) == []
