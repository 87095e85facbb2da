"""Every form field that names a person or a unit takes only what the form offers: a work
order's assignee (by hand, reassign, bulk) is an officer or grid worker of the order's grid;
anything else is a 422 with the field marked and nothing written."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from app.tables import (
    ApiKey,
    AuditEvent,
    Bureau,
    Grid,
    Office,
    Person,
    PersonRole,
    Station,
    WorkOrder,
    WorkOrderStep,
)
from tests.conftest import run


def person(name: str) -> int:
    return run(Person.select(Person.id).where(Person.name == name).first())["id"]


def role_holder(role: str) -> int:
    return run(PersonRole.select(PersonRole.person).where(PersonRole.role == role).first())["person"]


def grid_id(code: str) -> int:
    return run(Grid.select(Grid.id).where(Grid.code == code).first())["id"]


def other_station_officer() -> int:
    """An officer of a second station, who must never be handed this station's orders."""

    async def make() -> int:
        bureau = (await Bureau.select(Bureau.id).first())["id"]
        station = (await Station.insert(Station(bureau=bureau, name="运河派出所", code="YH")).returning(Station.id))[0][
            "id"
        ]
        office = (await Office.insert(Office(station=station, name="运河警务室", code="YH-1")).returning(Office.id))[0][
            "id"
        ]
        await Grid.insert(Grid(office=office, name="运河一网格", code="YH-01"))
        officer = (await Person.insert(Person(name="外所民警", phone="13900000077")).returning(Person.id))[0]["id"]
        await PersonRole.insert(PersonRole(person=officer, role="officer", office=office))
        return officer

    return run(make())


@pytest.fixture
def order(client, demo):
    """A repeat-caller order at 泰和祥府 (grid TH-04), made by an import; the analyst signed in."""
    client.sign_in_as("analyst")
    start = datetime(2026, 3, 1, 9)
    rows = "".join(
        f"J{i:03},{(start + timedelta(days=i)):%Y-%m-%d %H:%M},13800000001,泰和祥府3号楼,纠纷,邻里吵架\n"
        for i in range(3)
    )
    preview = client.post(
        "/calls/import",
        files={
            "file": (
                "calls.csv",
                ("警情编号,报警时间,报警电话,发案地址,警情类别,简要警情\n" + rows).encode(),
                "text/csv",
            )
        },
    )
    token = re.search(r'action="/calls/import/([\w-]+)"', preview.text).group(1)
    client.post(f"/calls/import/{token}", data={"filename": "calls.csv"})
    found = run(WorkOrder.select().where(WorkOrder.rule == "repeat_caller").first())
    assert found["grid"] == grid_id("TH-04")
    return found


def writes() -> tuple[int, int, list]:
    return (
        run(WorkOrderStep.count()),
        run(AuditEvent.count()),
        run(WorkOrder.select(WorkOrder.id, WorkOrder.assignee).order_by(WorkOrder.id)),
    )


def test_reassigning_takes_only_an_officer_or_grid_worker_of_the_orders_grid(client, order):
    outsider = other_station_officer()
    before = writes()
    for wrong in (
        outsider,
        person("胡飞"),  # another station's officer; an officer of another office
        role_holder("volunteer"),
        role_holder("admin"),
        999999,
        99999999999,
        "x",
    ):
        answer = client.post(
            f"/orders/{order['id']}/step", data={"step": "reassign", "note": "换人", "assignee": str(wrong)}
        )
        assert answer.status_code == 422, wrong
        assert re.search(r'<select id="r-assignee" name="assignee" required aria-invalid="true"', answer.text), wrong
        assert "请从列表中选择" in answer.text and 'value="换人"' in answer.text  # field marked, input kept
        assert writes() == before, wrong
    page = client.get(f"/orders/{order['id']}").text
    offered = set(re.findall(r'<option value="(\d+)"', page.split('id="r-assignee"')[1].split("</select>")[0]))
    assert offered == {str(person("邵韦杰")), str(person("王艳荣"))}
    done = client.post(
        f"/orders/{order['id']}/step", data={"step": "reassign", "note": "换人", "assignee": str(person("王艳荣"))}
    )
    assert done.status_code == 303
    assert run(WorkOrder.select(WorkOrder.assignee).where(WorkOrder.id == order["id"]).first())["assignee"] == person(
        "王艳荣"
    )


def test_bulk_assignment_is_all_or_nothing_and_only_to_a_choice(client, order):
    outsider = other_station_officer()
    before = writes()
    for wrong in (outsider, role_holder("volunteer"), 999999):
        answer = client.post(
            "/orders/bulk-assign", data={"order": [str(order["id"])], "assignee": str(wrong), "reason": "统一调度"}
        )
        assert answer.status_code == 422, wrong
        assert 'id="b-assignee" name="assignee" form="bulk" required aria-invalid="true"' in answer.text
        assert writes() == before
    no_reason = client.post(
        "/orders/bulk-assign", data={"order": [str(order["id"])], "assignee": str(person("王艳荣")), "reason": ""}
    )
    assert no_reason.status_code == 422 and writes() == before
    done = client.post(
        "/orders/bulk-assign",
        data={"order": [str(order["id"])], "assignee": str(person("王艳荣")), "reason": "统一调度"},
    )
    assert done.status_code == 303 and done.headers["location"] == "/orders?assigned=1"
    assert run(WorkOrder.select(WorkOrder.assignee).where(WorkOrder.id == order["id"]).first())["assignee"] == person(
        "王艳荣"
    )


def test_an_order_by_hand_takes_only_an_assignee_of_its_grid(client, order):
    outsider = other_station_officer()
    before = writes()
    for wrong in (outsider, person("王艳荣"), 999999):  # 王艳荣 works in TH-04, not TH-01
        answer = client.post(
            "/orders/new", data={"title": "邻里纠纷", "grid": str(grid_id("TH-01")), "assignee": str(wrong)}
        )
        assert answer.status_code == 422, wrong
        assert '<select id="f-assignee" name="assignee" aria-invalid="true"' in answer.text
        assert 'value="邻里纠纷"' in answer.text
        assert writes() == before
    done = client.post(
        "/orders/new", data={"title": "邻里纠纷", "grid": str(grid_id("TH-01")), "assignee": str(person("邵韦杰"))}
    )
    assert done.status_code == 303
    made = run(WorkOrder.select().where(WorkOrder.rule == "manual").first())
    assert made["assignee"] == person("邵韦杰")


def test_an_api_key_for_an_unknown_station_is_refused_not_a_server_error(admin):
    answer = admin.post("/admin/api-keys", data={"name": "外部系统", "role": "analyst", "station": "999999"})
    assert answer.status_code == 422 and run(ApiKey.count()) == 0


def test_the_assignee_field_is_labelled_as_a_person_not_a_date(client, order):
    for page in (client.get(f"/orders/{order['id']}").text, client.get("/orders").text):
        label = re.search(r'<label for="[rb]-assignee">([^<]+)</label>', page).group(1)
        assert label == "交给", label
