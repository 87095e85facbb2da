"""Calls: CSV import (UTF-8 and GBK) with preview, idempotent re-import, conflicts, bad files,
address mapping remembered, detection → work orders without duplicates, the loop, the API."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from app.services import api_keys, audit, calls
from app.tables import AddressMapping, Call, Place, PreventionReview, Station, WorkOrder, WorkOrderCall, WorkOrderStep
from tests.conftest import run

HEADER = "警情编号,报警时间,报警电话,发案地址,警情类别,简要警情\n"


def csv_text(rows: list[tuple], header: str = HEADER) -> str:
    return header + "".join(",".join(str(v) for v in row) + "\n" for row in rows)


def sample(start: datetime, n: int = 3, phone="13800000001", address="泰和祥府3号楼", prefix="J") -> list[tuple]:
    return [
        (f"{prefix}{i:03}", (start + timedelta(days=i)).strftime("%Y-%m-%d %H:%M"), phone, address, "纠纷", "邻里吵架")
        for i in range(n)
    ]


def upload(client, text: str, encoding: str = "utf-8", name: str = "calls.csv"):
    return client.post("/calls/import", files={"file": (name, text.encode(encoding), "text/csv")})


def confirm(client, preview) -> object:
    token = re.search(r'action="/calls/import/([\w-]+)"', preview.text).group(1)
    return client.post(f"/calls/import/{token}", data={"filename": "calls.csv"})


@pytest.fixture
def analyst(client, demo):
    client.sign_in_as("analyst")
    return client


def test_an_analyst_imports_a_gbk_file_after_a_preview_and_an_order_is_made(analyst):
    start = datetime(2026, 3, 1, 9, 0)
    preview = upload(analyst, csv_text(sample(start)), encoding="gbk")
    assert preview.status_code == 200 and "J002" in preview.text
    assert run(Call.count()) == 0  # the preview writes nothing
    done = confirm(analyst, preview)
    assert done.status_code == 200
    calls = run(Call.select().order_by(Call.call_id))
    assert [c["call_id"] for c in calls] == ["J000", "J001", "J002"]
    assert calls[0]["received_at"] == datetime(2026, 3, 1, 1, 0, tzinfo=timezone.utc)  # Asia/Shanghai
    assert calls[0]["caller_key"] == "13800000001"
    rules = sorted(o["rule"] for o in run(WorkOrder.select()))
    assert rules == ["repeat_caller", "repeat_place"]
    order = run(WorkOrder.select().where(WorkOrder.rule == "repeat_caller").first())
    assert order["assignee"] is not None and order["state"] == "assigned"


def test_other_column_names_are_mapped_once_and_remembered_for_the_next_import(analyst):
    from app.tables import AuditEvent

    header = "接警单编号,接警时间,报警电话,事发地址,警情类别,简要警情\n"
    en = {"Accept-Language": "en"}
    first = analyst.post(
        "/calls/import",
        files={"file": ("a.csv", csv_text(sample(datetime(2026, 3, 1, 9)), header).encode(), "text/csv")},
        headers=en,
    )
    assert first.status_code == 422 and "Some needed columns were not found" in first.text
    token = re.search(r'action="/calls/import/([\w-]+)/columns"', first.text).group(1)
    assert "<option>接警单编号</option>" in first.text and 'name="column_call_id"' in first.text
    assert 'name="column_caller_phone"' not in first.text  # found by its usual name

    def choose(**chosen):
        form = {f"column_{k}": v for k, v in chosen.items()}
        return analyst.post(f"/calls/import/{token}/columns", data={**form, "filename": "a.csv"}, headers=en)

    twice = choose(call_id="接警单编号", received_at="接警单编号", address="事发地址")
    assert twice.status_code == 422 and "This column is chosen for another field already" in twice.text
    assert run(AuditEvent.count().where(AuditEvent.action == "map_columns")) == 0
    preview = choose(call_id="接警单编号", received_at="接警时间", address="事发地址")
    assert preview.status_code == 200
    assert "J002" in preview.text and "3</strong> new" in preview.text
    assert confirm(analyst, preview).status_code == 200
    assert run(Call.count()) == 3
    # The next export with the same columns is read at once.
    again = upload(analyst, csv_text(sample(datetime(2026, 4, 1, 9), prefix="K"), header))
    assert again.status_code == 200 and "K002" in again.text
    assert run(AuditEvent.count().where(AuditEvent.action == "map_columns")) == 1


def test_reimporting_creates_nothing_twice_and_reports_conflicts(analyst):
    start = datetime(2026, 3, 1, 9, 0)
    confirm(analyst, upload(analyst, csv_text(sample(start))))
    changed = sample(start)
    changed[1] = (*changed[1][:5], "内容不同")
    overlap = changed + sample(start + timedelta(days=3), n=1, prefix="K")
    preview = upload(analyst, csv_text(overlap))
    assert "内容不同" not in [c["summary"] for c in run(Call.select())]
    result = confirm(analyst, preview)
    assert run(Call.count()) == 4
    assert "J001" in result.text  # the conflict is listed
    assert run(Call.select(Call.summary).where(Call.call_id == "J001").first())["summary"] == "邻里吵架"
    orders_by_rule = {o["rule"]: o["id"] for o in run(WorkOrder.select())}
    # K000 joins the open orders of the same caller and place instead of new ones.
    assert len(run(WorkOrder.select())) == 2
    links = run(WorkOrderCall.count().where(WorkOrderCall.order == orders_by_rule["repeat_caller"]))
    assert links == 4


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "The file is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not UTF-8 or GBK"),
        ("名字,电话\n张三,1\n".encode(), "Some needed columns were not found"),
        (HEADER.encode(), "The file has a header but no rows"),
    ],
)
def test_files_that_are_not_call_lists_are_refused(analyst, content, message):
    response = analyst.post(
        "/calls/import", files={"file": ("x.csv", content, "text/csv")}, headers={"Accept-Language": "en"}
    )
    assert response.status_code == 422 and message in response.text
    assert run(Call.count()) == 0


def test_bad_rows_are_listed_and_the_good_ones_imported(analyst):
    rows = sample(datetime(2026, 3, 1, 9, 0), n=2) + [
        ("B1", "2026-13-01 10:00", "", "x", "纠纷", ""),
        ("B2", "2026-03-01 10:00", "138abc", "x", "纠纷", ""),
        ("J000", "2026-03-01 10:00", "", "x", "纠纷", ""),
    ]
    preview = upload(analyst, csv_text(rows), name="mixed.csv")
    assert preview.status_code == 200
    for text in ("B1", "B2", "报警时间", "报警电话", "J000"):
        assert text in preview.text
    confirm(analyst, preview)
    assert sorted(c["call_id"] for c in run(Call.select(Call.call_id))) == ["J000", "J001"]


def test_an_unmatched_address_is_mapped_once_and_remembered(analyst):
    confirm(analyst, upload(analyst, csv_text(sample(datetime(2026, 3, 1, 9), n=1, address="某某路边摊"))))
    assert run(Call.select(Call.place).first())["place"] is None
    page = analyst.get("/calls/unmatched")
    assert "某某路边摊" in page.text
    place = run(Place.select(Place.id, Place.grid).first())
    key = run(Call.select(Call.address_key).first())["address_key"]
    assert analyst.post("/calls/unmatched", data={"address_key": key, "place": str(place["id"])}).status_code == 303
    assert run(Call.select(Call.place).first())["place"] == place["id"]
    confirm(analyst, upload(analyst, csv_text(sample(datetime(2026, 4, 1, 9), n=1, address="某某路边摊", prefix="L"))))
    assert run(Call.select(Call.place, Call.grid).where(Call.call_id == "L000").first()) == {
        "place": place["id"],
        "grid": place["grid"],
    }
    assert run(AddressMapping.count()) == 1


def test_an_address_containing_a_places_name_matches_it(analyst):
    place = run(Place.select(Place.id, Place.name).first())
    day = datetime.now() - timedelta(days=3)
    confirm(analyst, upload(analyst, csv_text(sample(day, n=1, address=f"徐州市{place['name']}东门"))))
    assert run(Call.select(Call.place).first())["place"] == place["id"]
    chart = analyst.get(f"/calls/places/{place['id']}", headers={"Accept-Language": "en"}).text
    weekly = re.search(r'aria-label="Calls per week: ([\d, ]+)"', chart).group(1)
    assert [int(n) for n in weekly.split(", ")][-1] == 1 and sum(int(n) for n in weekly.split(", ")) == 1


def test_a_large_import_leaves_the_call_table_ready_for_index_only_counts(analyst, monkeypatch):
    """On PostgreSQL a large import ends with VACUUM (ANALYZE) of the call table; on SQLite
    there is nothing to do and the import is the same."""
    from piccolo.engine.postgres import PostgresEngine

    monkeypatch.setattr(calls, "BULK_IMPORT", 3)
    postgres = isinstance(Call._meta.db, PostgresEngine)
    if postgres:
        started = run(Call.raw("SELECT now() AS t"))[0]["t"]
    confirm(analyst, upload(analyst, csv_text(sample(datetime(2026, 3, 1, 9)))))
    assert run(Call.count()) == 3
    if postgres:
        [stat] = run(Call.raw("SELECT last_vacuum, last_analyze FROM pg_stat_user_tables WHERE relname = 'call'"))
        assert stat["last_vacuum"] >= started and stat["last_analyze"] >= started


def test_detection_on_demand_makes_no_duplicate_orders(analyst):
    confirm(analyst, upload(analyst, csv_text(sample(datetime(2026, 3, 1, 9), n=4))))
    before = run(WorkOrder.count())
    analyst.post("/calls/detect")
    analyst.post("/calls/detect")
    assert run(WorkOrder.count()) == before


# --- the closed loop through the pages -------------------------------------------------------


def order_for(client) -> int:
    confirm(client, upload(client, csv_text(sample(datetime(2026, 3, 1, 9)))))
    return run(WorkOrder.select(WorkOrder.id).where(WorkOrder.rule == "repeat_caller").first())["id"]


def step(client, order_id: int, name: str, note: str = "已处理", **extra):
    return client.post(
        f"/orders/{order_id}/step", data={"step": name, "note": note, **extra}, headers={"Accept-Language": "en"}
    )


def test_the_six_steps_by_their_roles(analyst):
    order_id = order_for(analyst)
    assignee = run(WorkOrder.select(WorkOrder.assignee).where(WorkOrder.id == order_id).first())["assignee"]
    refused = step(analyst, order_id, "verify")
    assert refused.status_code == 422 and "Your role cannot take this step" in refused.text
    analyst.http.cookies.clear()
    analyst.sign_in_as("officer")
    assert analyst.get("/field").text.count(f"/orders/{order_id}") == 1  # on the officer's My day
    assert step(analyst, order_id, "handle").status_code == 422  # out of order
    for name in ("verify", "handle", "feed_back"):
        assert step(analyst, order_id, name).status_code == 303, name
    analyst.sign_in_as("supervisor")
    assert step(analyst, order_id, "unsatisfied", "回访不到位").status_code == 303
    assert run(WorkOrder.select(WorkOrder.state).where(WorkOrder.id == order_id).first())["state"] == "verified"
    analyst.sign_in_as("officer")
    for name in ("handle", "feed_back"):
        assert step(analyst, order_id, name).status_code == 303
    analyst.sign_in_as("supervisor")
    assert step(analyst, order_id, "evaluate", "").status_code == 303
    analyst.sign_in_as("analyst")
    early = step(analyst, order_id, "close", "")
    assert early.status_code == 422 and "after the review period" in early.text
    run(
        WorkOrder.update({WorkOrder.handled_at: datetime.now(timezone.utc) - timedelta(days=31)}).where(
            WorkOrder.id == order_id
        )
    )
    assert step(analyst, order_id, "close", "无新警情").status_code == 303
    steps = [
        s["step"] for s in run(WorkOrderStep.select().where(WorkOrderStep.order == order_id).order_by(WorkOrderStep.id))
    ]
    assert steps == [
        "create",
        "verify",
        "handle",
        "feed_back",
        "unsatisfied",
        "handle",
        "feed_back",
        "evaluate",
        "close",
    ]
    assert assignee is not None


def test_an_order_is_not_seen_outside_its_station_or_grid(analyst):
    order_id = order_for(analyst)
    analyst.sign_in_as("volunteer")
    assert analyst.get(f"/orders/{order_id}").status_code in (403, 404)


# --- the API ---------------------------------------------------------------------------------

MIXED_TIMES = {
    "T1": "2026/11/27 9:27",
    "T2": "2026-11-30 8:05",
    "T3": "2026.12.1 7:00:30",
    "T4": "2026年12月2日 6:15",
    "T5": "2026-12-03T05:10:00+08:00",
    "T6": "46359.25",
}
MIXED_UTC = {
    "T1": datetime(2026, 11, 27, 1, 27),
    "T2": datetime(2026, 11, 30, 0, 5),
    "T3": datetime(2026, 11, 30, 23, 0, 30),
    "T4": datetime(2026, 12, 1, 22, 15),
    "T5": datetime(2026, 12, 2, 21, 10),
    "T6": datetime(2026, 12, 2, 22, 0),
}


def stored_times() -> dict[str, datetime]:
    return {
        c["call_id"]: c["received_at"].astimezone(timezone.utc).replace(tzinfo=None)
        for c in run(Call.select(Call.call_id, Call.received_at))
    }


def test_times_as_excel_and_110_exports_write_them_are_read_and_the_ambiguous_refused_by_row(analyst):
    rows = [(call_id, text, "", "泰和祥府3号楼", "纠纷", "") for call_id, text in MIXED_TIMES.items()]
    rows.append(("T7", "03/04/2026 10:00", "", "泰和祥府3号楼", "纠纷", ""))
    preview = upload(analyst, csv_text(rows))
    # Line 8 of the file, named by the file's own header.
    assert "<td>8</td><td>T7</td><td>报警时间</td><td>日期有歧义：请把年份写在前面" in preview.text
    confirm(analyst, preview)
    assert stored_times() == MIXED_UTC  # T7 was not written


def test_the_api_reads_the_same_spellings(client, demo):
    auth = {"Authorization": f"Bearer {key_for()}"}
    items = [
        {"call_id": call_id, "received_at": text, "address": "泰和祥府3号楼", "category": "纠纷"}
        for call_id, text in MIXED_TIMES.items()
    ]
    items[-1]["received_at"] = 46359.25  # a serial number as a JSON number
    items.append({"call_id": "T7", "received_at": "03/04/2026 10:00", "address": "x", "category": "纠纷"})
    body = client.http.post("/api/v1/calls", json=items, headers=auth).json()
    assert (body["created"], body["rejected"]) == (6, 1)
    assert [(e["index"], e["field"]) for e in body["errors"]] == [(6, "received_at")]
    assert "year first" in body["errors"][0]["message"]
    assert stored_times() == MIXED_UTC


def key_for(role="analyst") -> str:
    station = run(Station.select(Station.id).first())["id"]
    return run(api_keys.create("test", role, station if role == "analyst" else None, audit.SYSTEM))[1]


def test_the_api_imports_calls_and_lists_orders_and_metrics(client, demo):
    auth = {"Authorization": f"Bearer {key_for()}"}
    start = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)
    items = [
        {
            "call_id": f"A{i}",
            "received_at": (start + timedelta(days=i)).isoformat(),
            "caller_phone": "+86 139 0000 0002",
            "address": "泰和祥府5号楼",
            "category": "噪音",
        }
        for i in range(3)
    ]
    items.append({"call_id": "A9", "received_at": "yesterday", "address": "x", "category": "y"})
    answer = client.http.post("/api/v1/calls", json=items, headers=auth)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["created"], body["duplicate"], body["rejected"]) == (3, 0, 1)
    assert body["errors"][0]["index"] == 3 and body["errors"][0]["field"] == "received_at"
    again = client.http.post("/api/v1/calls", json=items[:3], headers=auth).json()
    assert (again["created"], again["duplicate"]) == (0, 3)

    listed = client.http.get("/api/v1/work-orders?rule=repeat_caller&status=open", headers=auth).json()
    assert [(o["rule"], o["key"], sorted(o["call_ids"]), o["state"]) for o in listed] == [
        ("repeat_caller", "13900000002", ["A0", "A1", "A2"], "assigned")
    ]
    assert "assignee_id" in listed[0]
    order = listed[0]
    assert order["title"].startswith("一人多次") and order["overdue"] is False
    assert order["created_at"] < order["due_at"]
    assert client.http.get("/api/v1/work-orders?status=closed", headers=auth).json() == []

    metrics = client.http.get("/api/v1/metrics/calls?start=2025-03-01&end=2025-03-31", headers=auth).json()
    assert metrics == {
        "start": "2025-03-01",
        "end": "2025-03-31",
        "total_calls": 3,
        "repeat_calls": 2,
        "repeat_share": 0.6667,
        "repeat_share_change_yoy": None,
        "repeat_calls_change_yoy": None,
    }


def test_backfilling_a_year_of_history_through_the_api_makes_no_work_of_it(client, demo):
    auth = {"Authorization": f"Bearer {key_for()}"}

    def calls(prefix, phone, address, *days):
        return [
            {
                "call_id": f"{prefix}{i}",
                "received_at": f"{day} 9:{i:02d}",
                "caller_phone": phone,
                "address": address,
                "category": "纠纷",
            }
            for i, day in enumerate(days)
        ]

    def post(items):
        return client.http.post("/api/v1/calls", json=items, headers=auth).json()

    today = post(calls("N", "13900000001", "解放南路10号", "2026/11/25", "2026/11/27", "2026/11/30"))
    assert today["work_orders_created"] == 2  # the caller and the place
    history = (
        calls(
            "H", "13900000001", "解放南路20号", "2025/11/3", "2025/11/5", "2025/11/9", "2025/11/20"
        )  # the same caller a year ago
        + calls("Y", "13900000002", "解放南路30号", "2026/3/1", "2026/3/2", "2026/3/3", "2026/3/4")  # spring: history
        + calls("L", "13900000001", "解放南路20号", "2026/11/5")  # a month ago: joins the caller's order
        + calls("Z", "13900000003", "解放南路40号", "2026/11/2", "2026/11/3", "2026/11/4")
    )  # recent: new work
    answer = post(history)
    assert answer["created"] == 12
    listed = client.http.get("/api/v1/work-orders?status=open", headers=auth).json()
    assert (answer["work_orders_created"], answer["calls_attached_to_open_orders"]) == (2, 1)
    assert sorted((o["rule"], o["key"], sorted(o["call_ids"])) for o in listed) == [
        ("repeat_caller", "13900000001", ["L0", "N0", "N1", "N2"]),
        ("repeat_caller", "13900000003", ["Z0", "Z1", "Z2"]),
        ("repeat_place", "address:解放南路10号:dispute", ["N0", "N1", "N2"]),
        ("repeat_place", "address:解放南路40号:dispute", ["Z0", "Z1", "Z2"]),
    ]
    # Run again on demand, the history still makes nothing.
    client.sign_in_as("analyst")
    client.post("/calls/detect")
    assert len(client.http.get("/api/v1/work-orders?status=open", headers=auth).json()) == 4


@pytest.mark.parametrize(
    "headers, status", [({}, 401), ({"Authorization": "Bearer qm_wrong"}, 401), ({"Authorization": "Basic abc"}, 401)]
)
def test_the_api_needs_a_valid_key(client, demo, headers, status):
    response = client.http.get("/api/v1/work-orders", headers=headers)
    assert response.status_code == status and response.headers["content-type"].startswith("application/json")


def test_an_open311_key_cannot_import_calls_and_bad_input_is_a_400_or_422(client, demo):
    open311 = {"Authorization": f"Bearer {key_for('open311')}"}
    assert client.http.post("/api/v1/calls", json=[], headers=open311).status_code == 403
    auth = {"Authorization": f"Bearer {key_for()}"}
    bad_day = client.http.get("/api/v1/metrics/calls?start=2025-02-30&end=2025-03-01", headers=auth)
    assert (bad_day.status_code, bad_day.json()["detail"]) == (422, "start must be a date like 2026-03-01")
    assert client.http.get("/api/v1/work-orders?rule=nope", headers=auth).status_code == 422
    assert client.http.post("/api/v1/calls", content=b"not json", headers=auth).status_code == 400
    # Not the documented shape (an item that is no object): the whole request, nothing written.
    assert client.http.post("/api/v1/calls", json=[{"call_id": "X1"}, 7], headers=auth).status_code == 400
    assert run(Call.count()) == 0


def test_an_api_key_is_limited_per_minute(client, demo, monkeypatch):
    from app.routes.api import v1

    monkeypatch.setattr(v1, "PER_MINUTE", 3)
    auth = {"Authorization": f"Bearer {key_for()}"}
    answers = [client.http.get("/api/v1/work-orders", headers=auth) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert "wait a minute" in answers[-1].json()["detail"]
    other = {"Authorization": f"Bearer {key_for()}"}
    assert client.http.get("/api/v1/work-orders", headers=other).status_code == 200  # per key


def test_the_schema_documents_the_apis_typed_and_no_page(client):
    schema = client.http.get("/schema/openapi.json").json()
    assert sorted({p.split("/")[1] for p in schema["paths"]}) == ["api", "open311"]
    calls = schema["paths"]["/api/v1/calls"]["post"]
    assert calls["requestBody"]["content"]["application/json"]["schema"]["items"]["$ref"].endswith("/CallItem")
    assert {"400", "401", "403", "422", "429"} <= set(calls["responses"])
    order = schema["components"]["schemas"]["WorkOrderItem"]["properties"]
    assert {"title", "place", "due_at", "overdue", "created_at"} <= set(order)


def test_year_on_year_change_of_the_repeat_share(db):
    def add(call_id, when, phone):
        run(
            Call.insert(
                Call(
                    call_id=call_id,
                    received_at=when,
                    caller_phone=phone,
                    caller_key=phone,
                    address="a",
                    address_key="a",
                    category="c",
                )
            )
        )

    base = datetime(2025, 3, 10, tzinfo=timezone.utc)
    for i, phone in enumerate(["1", "1", "2", "3"]):  # last year: 1 repeat in 4
        add(f"P{i}", base + timedelta(days=i), phone)
    for i, phone in enumerate(["1", "1", "1", "4"]):  # this year: 2 repeats in 4
        add(f"N{i}", base.replace(year=2026) + timedelta(days=i), phone)
    run(calls.refresh_repeats())
    result = run(calls.metrics(None, date(2026, 3, 1), date(2026, 3, 31), "Asia/Shanghai"))
    assert (result["total_calls"], result["repeat_calls"], result["repeat_share"]) == (4, 2, 0.5)
    assert result["repeat_share_change_yoy"] == 0.25
    assert result["repeat_calls_change_yoy"] == 1.0  # 2 repeat calls against 1: up 100%


def test_the_seeds_year_on_year_figure_is_the_change_of_the_number_of_repeat_calls(analyst, settings):
    from app.domain.calls import year_earlier
    from app.services.fieldwork import today

    day = today(settings.time_zone)
    first = year_earlier(day - timedelta(days=29))
    then = [first + timedelta(days=i) for i in range(30)]  # 29 repeat calls a year ago
    now = [day - timedelta(days=22 - i) for i in range(22)]  # 21 now
    rows = [(f"Y{i}", f"{d:%Y/%m/%d} 9:00", "13900000005", "解放南路1号", "纠纷", "") for i, d in enumerate(then + now)]
    confirm(analyst, upload(analyst, csv_text(rows)))
    auth = {"Authorization": f"Bearer {key_for()}"}
    metrics = analyst.http.get(f"/api/v1/metrics/calls?start={day - timedelta(days=29)}&end={day}", headers=auth).json()
    assert (metrics["repeat_calls"], metrics["repeat_calls_change_yoy"]) == (21, -0.2759)  # (21 - 29) / 29
    assert metrics["repeat_share_change_yoy"] == -0.0122  # 95.45% - 96.67%: in points, as before
    page = analyst.get("/dashboard")
    assert "重复报警同比下降27.6%" in page.text
    assert "Repeat calls down 27.6% year on year" in analyst.get("/dashboard", headers={"Accept-Language": "en"}).text


# --- briefing, dashboard, prevention reviews -------------------------------------------------


def test_the_morning_briefing_lists_yesterday_and_what_is_overdue(analyst, settings):
    from app.services.fieldwork import today

    day = today(settings.time_zone)
    yesterday = datetime.combine(day - timedelta(days=1), datetime.min.time()).replace(hour=10)
    confirm(analyst, upload(analyst, csv_text(sample(yesterday - timedelta(days=2)))))
    run(
        WorkOrder.update({WorkOrder.due_at: datetime.now(timezone.utc) - timedelta(hours=1)}).where(
            WorkOrder.rule == "repeat_caller"
        )
    )
    page = analyst.get(f"/briefing?day={day.isoformat()}", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    assert "Yesterday's calls: 1" in page.text and "纠纷" in page.text
    overdue = page.text.split("Overdue work orders")[1].split("Closed yesterday")[0]
    assert "Repeat caller" in overdue and "Repeat place" not in overdue  # generated titles in English


def test_the_dashboard_shows_the_repeat_share_and_orders_by_state(analyst, settings):
    from app.services.fieldwork import today

    day = today(settings.time_zone)
    start = datetime.combine(day - timedelta(days=5), datetime.min.time()).replace(hour=9)
    confirm(analyst, upload(analyst, csv_text(sample(start))))
    page = analyst.get("/dashboard", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    assert "66.7%" in page.text  # 2 of 3 calls repeat a call of the 30 days before
    weekly = re.search(r'aria-label="Calls per week: ([\d, ]+)"', page.text).group(1)
    assert sum(int(n) for n in weekly.split(", ")) == 3
    assert "no data a year before" in page.text


def test_a_prevention_review_compares_equal_windows(analyst, settings):
    from app.services.fieldwork import today

    day = today(settings.time_zone)
    place = run(Place.select(Place.id, Place.name).where(Place.name == "泰和祥府").first())
    measures = day - timedelta(days=10)
    before = datetime.combine(measures - timedelta(days=5), datetime.min.time()).replace(hour=12)
    after = datetime.combine(measures + timedelta(days=2), datetime.min.time()).replace(hour=12)
    rows = sample(before, n=4, address="泰和祥府东门") + sample(after, n=1, address="泰和祥府东门", prefix="Z")
    confirm(analyst, upload(analyst, csv_text(rows)))
    refused = analyst.post(
        "/reviews/new",
        data={
            "place": str(place["id"]),
            "weak_point": "",
            "measures": "加装监控",
            "measures_on": (day + timedelta(days=1)).isoformat(),
        },
        headers={"Accept-Language": "en"},
    )
    assert refused.status_code == 422 and "cannot be in the future" in refused.text and "加装监控" in refused.text
    created = analyst.post(
        "/reviews/new",
        data={
            "place": str(place["id"]),
            "weak_point": "东门无监控，电动车夜间被盗",
            "measures": "加装监控，夜间巡逻",
            "measures_on": measures.isoformat(),
        },
    )
    assert created.status_code == 303
    page = analyst.get(created.headers["location"], headers={"Accept-Language": "en"})
    assert "10 days before" in page.text and "-75%" in page.text


def test_a_review_names_its_case_and_compares_its_family_beside_all_calls(analyst, settings):
    from app.services.fieldwork import today

    day = today(settings.time_zone)
    place = run(Place.select(Place.id).where(Place.name == "泰和祥府").first())["id"]
    measures = day - timedelta(days=10)

    def at(days: int, n: int, category: str, prefix: str) -> list[tuple]:
        moment = datetime.combine(measures + timedelta(days=days), datetime.min.time()).replace(hour=12)
        return [
            (
                f"{prefix}{i}",
                (moment + timedelta(hours=i)).strftime("%Y-%m-%d %H:%M"),
                f"1390000400{i}",
                "泰和祥府东门",
                category,
                "",
            )
            for i in range(n)
        ]

    rows = (
        at(-5, 3, "纠纷", "RA") + at(-4, 1, "盗窃电动车", "RB") + at(2, 1, "纠纷", "RC") + at(3, 3, "盗窃电动车", "RD")
    )
    rows += [("ELSE1", at(-3, 1, "盗窃", "x")[0][1], "13900004999", "发展大道88号", "盗窃", "")]
    confirm(analyst, upload(analyst, csv_text(rows)))
    form = {
        "place": str(place),
        "weak_point": "东门无监控",
        "measures": "加装监控",
        "measures_on": measures.isoformat(),
    }
    en = {"Accept-Language": "en"}
    elsewhere = analyst.post("/reviews/new", data={**form, "case": "ELSE1"}, headers=en)
    assert elsewhere.status_code == 422 and "No 110 call with this number at the chosen place" in elsewhere.text
    unknown = analyst.post("/reviews/new", data={**form, "case": "#999999"}, headers=en)
    assert unknown.status_code == 422 and "No such work order of yours" in unknown.text
    created = analyst.post("/reviews/new", data={**form, "case": "RB0"})
    assert created.status_code == 303
    review = run(PreventionReview.select().order_by(PreventionReview.id, ascending=False).first())
    assert (review["case_type"], review["case_ref"], review["family"]) == ("call", "RB0", "theft")
    page = analyst.get(created.headers["location"], headers=en).text
    assert "110 call RB0" in page and "Thefts: +200%" in page
    assert "4 before, 4 after" in page  # all calls at the place: no change
    # The before/after bars: a group for all calls and one for the case's family, with the
    # numbers in the chart's description and its table.
    figure = page.split('id="chart-review"')[1].split("</figure>")[0]
    desc = figure.split('<desc id="c-review-d">')[1].split("</desc>")[0]
    assert "All calls: 4 before, 4 after (+0%). Thefts: 1 before, 3 after (+200%)." in desc
    assert desc.startswith("Before: ") and "; after: " in desc
    assert figure.count("<title>10 days before: ") == 2 and "<title>10 days after: 3</title>" in figure
    assert ">calls</text>" in figure and ">All calls</text>" in figure and ">Thefts</text>" in figure
    assert re.findall(r"<td>(.*?)</td>", figure.split("<tbody>")[1]) == [
        "All calls",
        "4",
        "4",
        "+0%",
        "Thefts",
        "1",
        "3",
        "+200%",
    ]
    zh = analyst.get(created.headers["location"]).text.split('id="chart-review"')[1].split("</figure>")[0]
    assert "全部警情：之前 4 起，之后 4 起（+0%）。" in zh and "措施前 10 天" in zh and "before" not in zh


def test_an_analyst_raises_a_threshold_for_their_station(analyst):
    refused = analyst.post(
        "/calls/settings",
        data={"rule": "repeat_caller", "category": "纠纷", "threshold": "1", "window_days": "30"},
        headers={"Accept-Language": "en"},
    )
    assert refused.status_code == 422 and "surge rule only" in refused.text
    assert (
        analyst.post(
            "/calls/settings", data={"rule": "repeat_caller", "threshold": "4", "window_days": "30"}
        ).status_code
        == 303
    )
    confirm(analyst, upload(analyst, csv_text(sample(datetime(2026, 3, 1, 9)))))
    assert [o["rule"] for o in run(WorkOrder.select(WorkOrder.rule))] == ["repeat_place"]


def test_categories_for_other_agencies_are_marked_for_transfer_and_not_detected(admin):
    assert admin.post("/calls/non-police", data={"category": "纠纷", "on": "1"}).status_code == 303
    confirm(admin, upload(admin, csv_text(sample(datetime(2026, 3, 1, 9)))))
    assert {c["non_police"] for c in run(Call.select(Call.non_police))} == {True}
    assert run(WorkOrder.count()) == 0
    assert "待移交" in admin.get("/calls").text


def test_a_mediation_naming_a_call_shows_on_its_work_order(analyst):
    import uuid as uuid_module

    from app.services import fieldwork_lists

    run(fieldwork_lists.ensure_topics())
    order_id = order_for(analyst)
    analyst.sign_in_as("officer")
    place = run(Place.select(Place.id).where(Place.name == "泰和祥府").first())["id"]
    mediation = {
        "client_uuid": str(uuid_module.uuid4()),
        "place": str(place),
        "dispute_type": "neighbours",
        "party_name_0": "赵甲",
        "party_name_1": "钱乙",
        "note": "噪音纠纷",
        "outcome": "agreed",
        "terms": "晚十点后停止施工",
        "call_refs": "J001 J404",
    }
    log_id = analyst.post("/field/mediations/new", data=mediation, headers={"X-Outbox-Replay": "1"}).json()["id"]
    detail = analyst.get(f"/field/logs/{log_id}", headers={"Accept-Language": "en"}).text
    assert "J001 · " in detail and "纠纷" in detail and "not imported yet" in detail  # J404 is not a call
    assert f"/field/logs/{log_id}" in analyst.get(f"/orders/{order_id}").text


def test_twenty_megabytes_of_garbage_is_refused_clearly(analyst):
    import os

    garbage = os.urandom(20 * 1024 * 1024)
    response = analyst.post(
        "/calls/import", files={"file": ("calls.csv", garbage, "text/csv")}, headers={"Accept-Language": "en"}
    )
    assert response.status_code == 422 and "not UTF-8 or GBK" in response.text
    assert run(Call.count()) == 0


def test_a_call_imported_late_makes_the_later_call_a_repeat(analyst):
    def is_repeat(call_id):
        return run(Call.select(Call.is_repeat).where(Call.call_id == call_id).first())["is_repeat"]

    confirm(analyst, upload(analyst, csv_text([("L2", "2026-03-10 10:00", "13700000007", "x", "求助", "")])))
    assert is_repeat("L2") is False
    confirm(analyst, upload(analyst, csv_text([("L1", "2026-03-05 10:00", "13700000007", "x", "求助", "")])))
    assert (is_repeat("L1"), is_repeat("L2")) == (False, True)


def mixed_file(lines: list[str], gbk_line: int) -> bytes:
    """UTF-8 lines, except line `gbk_line` (1 = the header), written as Excel's GBK would."""
    return b"".join(line.encode("gbk" if number == gbk_line else "utf-8") for number, line in enumerate(lines, 1))


def test_a_gbk_line_among_utf8_lines_refuses_the_file_with_its_line(analyst):
    lines = csv_text(sample(datetime(2026, 3, 1, 9), n=4)).splitlines(keepends=True)
    lines[3] = lines[3].replace("泰和祥府3号楼", "张三家门口")
    content = mixed_file(lines, gbk_line=4)
    assert "张三".encode("gbk") in content and "邻里吵架".encode("utf-8") in content
    for locale, message in (("zh-CN", "第 4 行的编码与文件其他行不同"), ("en", "Line 4 is not in the same encoding")):
        response = analyst.post(
            "/calls/import", files={"file": ("calls.csv", content, "text/csv")}, headers={"Accept-Language": locale}
        )
        assert response.status_code == 422 and message in response.text
    assert run(Call.count()) == 0


def test_a_whole_gbk_file_with_short_lines_still_imports(analyst):
    # "路" in GBK bytes happens to be valid UTF-8 too (so is every 6th common character).
    rows = [("G1", "2026-03-01 09:00", "", "张三家门口", "纠纷", "吵"), ("G2", "2026-03-02 09:00", "", "路", "x", "")]
    "路".encode("gbk").decode("utf-8")
    done = confirm(analyst, upload(analyst, csv_text(rows), encoding="gbk"))
    assert done.status_code == 200
    assert {c["address"] for c in run(Call.select(Call.address))} == {"张三家门口", "路"}


def stored_upload(settings, preview) -> object:
    token = re.search(r'action="/calls/import/([\w-]+)"', preview.text).group(1)
    return settings.upload_dir / "imports" / f"{token}.csv"


def test_an_unconfirmed_upload_is_deleted_after_an_hour(analyst, settings):
    preview = upload(analyst, csv_text(sample(datetime(2026, 3, 1, 9))))
    path = stored_upload(settings, preview)
    written = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
    run(calls.cleanup(settings.upload_dir, now=written + timedelta(minutes=59)))
    assert path.exists()
    removed, _imports = run(calls.cleanup(settings.upload_dir, now=written + timedelta(minutes=61)))
    assert removed >= 1 and not path.exists()
    done = confirm(analyst, preview)
    assert done.status_code == 422 and "上传的文件已不在" in done.text and run(Call.count()) == 0


def test_the_next_upload_removes_previews_older_than_an_hour(analyst, settings):
    import os

    old = stored_upload(settings, upload(analyst, csv_text(sample(datetime(2026, 3, 1, 9)))))
    two_hours_ago = (datetime.now(timezone.utc) - timedelta(hours=2)).timestamp()
    os.utime(old, (two_hours_ago, two_hours_ago))  # as if written then: no waiting in a test
    fresh = stored_upload(settings, upload(analyst, csv_text(sample(datetime(2026, 3, 1, 9)))))
    assert not old.exists() and fresh.exists()


def test_uploads_per_person_are_limited_to_so_many_an_hour(analyst, settings):
    import dataclasses

    app = analyst.http.app
    app.state.settings = dataclasses.replace(app.state.settings, call_uploads_per_hour=3)
    text = csv_text(sample(datetime(2026, 3, 1, 9)))
    assert [upload(analyst, text).status_code for _ in range(3)] == [200, 200, 200]
    files = len(list((settings.upload_dir / "imports").glob("*.csv")))
    refused = upload(analyst, text)
    assert refused.status_code == 429
    assert "您在过去一小时内已上传 3 个文件，已达上限" in refused.text and 'type="file"' in refused.text
    assert len(list((settings.upload_dir / "imports").glob("*.csv"))) == files  # nothing stored
    analyst.sign_in_as("admin")  # someone else may still upload
    assert upload(analyst, text).status_code == 200


def second_station() -> dict:
    """运河派出所 with a grid, a place (运河花园) and 2 calls of its own at 某某路边摊, unmatched."""

    async def make() -> dict:
        from app.tables import Bureau, Grid, Office

        bureau = (await Bureau.select(Bureau.id).first())["id"]
        station = (await Station.insert(Station(bureau=bureau, name="运河派出所", code="YH")).returning(Station.id))[0][
            "id"
        ]
        office = (await Office.insert(Office(station=station, name="运河警务室", code="YH-1")).returning(Office.id))[0][
            "id"
        ]
        grid = (await Grid.insert(Grid(office=office, name="运河一网格", code="YH-01")).returning(Grid.id))[0]["id"]
        place = (await Place.insert(Place(grid=grid, name="运河花园", kind="estate")).returning(Place.id))[0]["id"]
        key = "某某路边摊"
        for i in range(2):
            await Call.insert(
                Call(
                    call_id=f"Y{i}",
                    received_at=datetime(2026, 3, 1, 1, tzinfo=timezone.utc),
                    caller_phone="13800000009",
                    caller_key="13800000009",
                    address=key,
                    address_key=key,
                    category="纠纷",
                    summary="",
                    station=station,
                )
            )
        return {"station": station, "grid": grid, "place": place, "key": key}

    return run(make())


def test_an_address_is_mapped_only_for_the_analysts_own_station(analyst):
    other = second_station()
    mine = run(Place.select(Place.id).where(Place.name != "运河花园").first())["id"]
    # The address belongs to the other station's calls only: nothing to map here.
    assert analyst.post("/calls/unmatched", data={"address_key": other["key"], "place": str(mine)}).status_code == 404
    assert run(Call.select(Call.place).where(Call.station == other["station"])) == [{"place": None}] * 2
    assert run(AddressMapping.count()) == 0
    # The same address in this station too: mapping it attaches this station's calls, never the other's.
    confirm(analyst, upload(analyst, csv_text(sample(datetime(2026, 3, 1, 9), n=1, address=other["key"]))))
    key = run(Call.select(Call.address_key).where(Call.call_id == "J000").first())["address_key"]
    assert analyst.post("/calls/unmatched", data={"address_key": key, "place": str(mine)}).status_code == 303
    assert run(Call.select(Call.place).where(Call.call_id == "J000").first())["place"] == mine
    assert run(Call.select(Call.place).where(Call.station == other["station"])) == [{"place": None}] * 2


def test_an_address_mapped_by_another_station_is_not_taken_over(analyst):
    other = second_station()
    run(AddressMapping.insert(AddressMapping(address_key=other["key"], address=other["key"], place=other["place"])))
    confirm(analyst, upload(analyst, csv_text(sample(datetime(2026, 3, 1, 9), n=1, address=other["key"]))))
    mine = run(Place.select(Place.id).where(Place.name != "运河花园").first())["id"]
    assert analyst.post("/calls/unmatched", data={"address_key": other["key"], "place": str(mine)}).status_code == 404
    assert run(AddressMapping.select(AddressMapping.place)) == [{"place": other["place"]}]


def test_a_call_never_takes_a_place_of_another_station(analyst):
    second_station()
    # 运河花园 is the other station's place: this station's call at an address naming it stays unmatched.
    confirm(analyst, upload(analyst, csv_text(sample(datetime(2026, 3, 1, 9), n=1, address="运河花园3号楼"))))
    assert run(Call.select(Call.place, Call.grid).where(Call.call_id == "J000").first()) == {
        "place": None,
        "grid": None,
    }


def test_of_two_names_as_long_the_address_names_first_wins():
    matcher = calls.PlaceMatcher({1: {"紫薇园东门": (32, 4), "世纪紫薇园": (1, 4), "泰和": (9, 4)}})
    assert matcher.match(1, "徐州市世纪紫薇园东门") == (1, 4)
    assert matcher.match(1, "紫薇园东门世纪紫薇园") == (32, 4)
    assert matcher.match(2, "徐州市世纪紫薇园东门") is None  # another station's names


def walk_the_six_steps(client, order_id: int) -> None:
    client.sign_in_as("officer")
    for name in ("verify", "handle", "feed_back"):
        assert step(client, order_id, name).status_code == 303, name
    client.sign_in_as("supervisor")
    assert step(client, order_id, "evaluate", "").status_code == 303
    run(
        WorkOrder.update({WorkOrder.handled_at: datetime.now(timezone.utc) - timedelta(days=31)}).where(
            WorkOrder.id == order_id
        )
    )
    assert step(client, order_id, "close", "无新警情").status_code == 303


def test_a_family_dispute_closed_through_the_six_steps_counts_as_a_dispute_closed(analyst, settings):
    from app.services.fieldwork import today

    start = datetime.combine(today(settings.time_zone) - timedelta(days=9), datetime.min.time()).replace(hour=9)
    rows = [
        (
            f"F{i}",
            (start + timedelta(days=i)).strftime("%Y/%m/%d %H:%M"),
            "13900000007",
            f"泰和祥府{i + 1}号楼",
            "家庭纠纷",
            "夫妻吵架",
        )
        for i in range(3)
    ]
    rows += [
        (
            f"Q{i}",
            (start + timedelta(days=i)).strftime("%Y/%m/%d %H:%M"),
            "13900000008",
            f"泰和祥府{i + 5}号楼",
            "噪音扰民",
            "",
        )
        for i in range(3)
    ]
    confirm(analyst, upload(analyst, csv_text(rows)))
    by_phone = {o["rule_key"]: o["id"] for o in run(WorkOrder.select().where(WorkOrder.rule == "repeat_caller"))}
    for order_id in by_phone.values():  # a dispute and a noise complaint, both through the loop
        walk_the_six_steps(analyst, order_id)
    analyst.sign_in_as("analyst")
    page = analyst.get("/dashboard", headers={"Accept-Language": "en"})
    closed = re.search(r"<strong>(\d+)</strong><span class=\"sub\">Work orders closed", page.text).group(1)
    disputes = re.search(r"<strong>(\d+)</strong><span class=\"sub\">Disputes closed", page.text).group(1)
    assert (closed, disputes) == ("2", "1")


def test_the_review_is_offered_only_when_due_and_says_from_when(analyst):
    order_id = order_for(analyst)
    analyst.sign_in_as("officer")
    for name in ("verify", "handle", "feed_back"):
        assert step(analyst, order_id, name).status_code == 303
    analyst.sign_in_as("supervisor")
    assert step(analyst, order_id, "evaluate", "").status_code == 303
    handled = run(WorkOrder.select(WorkOrder.handled_at).where(WorkOrder.id == order_id).first())["handled_at"]
    page = analyst.get(f"/orders/{order_id}", headers={"Accept-Language": "en"}).text
    assert 'value="close"' not in page and 'value="reopen"' not in page
    due = (handled + timedelta(days=30)).astimezone(ZoneInfo("Asia/Shanghai"))
    assert re.search(rf"can be done from [^<]*{due.day}", page)
    zh = analyst.get(f"/orders/{order_id}").text
    assert "起可以问效" in zh and "复盘" not in zh
    early = analyst.post(f"/orders/{order_id}/step", data={"step": "close", "note": ""})  # posted anyway
    assert early.status_code == 422 and "问效须在处置满观察期后进行" in early.text  # refused, with the right word
    run(
        WorkOrder.update({WorkOrder.handled_at: datetime.now(timezone.utc) - timedelta(days=31)}).where(
            WorkOrder.id == order_id
        )
    )
    page = analyst.get(f"/orders/{order_id}", headers={"Accept-Language": "en"}).text
    assert 'value="close"' in page and 'value="reopen"' in page and "can be done from" not in page
    # The buttons say what they do: "Reopen", not the state "Reopened" that reads as done.
    buttons = re.findall(r'<button class="(?:danger|primary)" type="submit">([^<]+)</button>', page)
    assert "Reopen" in buttons and "Close after review" in buttons and "Reopened" not in buttons
    zh = re.findall(
        r'<button class="(?:danger|primary)" type="submit">([^<]+)</button>', analyst.get(f"/orders/{order_id}").text
    )
    assert "重新打开" in zh and "已重新打开" not in zh


def test_the_assignee_and_supervisors_reveal_a_repeat_callers_number_each_view_audited(analyst):
    from app.tables import AuditEvent

    order_id = order_for(analyst)
    place_order = run(WorkOrder.select(WorkOrder.id).where(WorkOrder.rule == "repeat_place").first())["id"]
    assert "/caller" not in analyst.get(f"/orders/{order_id}").text  # the analyst does not call back
    assert analyst.post(f"/orders/{order_id}/caller").status_code == 403
    officer = analyst.sign_in_as("officer")
    assert run(WorkOrder.select(WorkOrder.assignee).where(WorkOrder.id == order_id).first())["assignee"] == officer
    page = analyst.get(f"/orders/{order_id}").text
    assert "138****0001" in page and "13800000001" not in page and f'action="/orders/{order_id}/caller"' in page
    shown = analyst.post(f"/orders/{order_id}/caller")
    assert shown.status_code == 200 and '<a href="tel:13800000001">13800000001</a>' in shown.text
    assert analyst.post(f"/orders/{place_order}/caller").status_code == 404  # 一地多起: no caller to call
    analyst.sign_in_as("supervisor")
    assert 'href="tel:13800000001"' in analyst.post(f"/orders/{order_id}/caller").text
    views = run(
        AuditEvent.select().where(
            (AuditEvent.action == "view_personal_data") & (AuditEvent.object_type == "work_order")
        )
    )
    assert len(views) == 2
    run(WorkOrder.update({WorkOrder.assignee: None}).where(WorkOrder.id == order_id))
    analyst.sign_in_as("officer")  # no longer the assignee
    assert analyst.post(f"/orders/{order_id}/caller").status_code == 404
    assert "/caller" not in analyst.get(f"/orders/{order_id}").text


def test_a_places_repeats_are_counted_per_category_family(analyst):
    start = datetime(2026, 3, 1, 9)
    kinds = ["盗窃", "纠纷", "电动车被盗", "噪音扰民", "盗窃", "求助", "盗窃", "纠纷", "盗窃"]
    rows = [
        (f"M{i}", f"{start + timedelta(days=i):%Y/%m/%d %H:%M}", f"1390000{i:04d}", "泰和祥府南门", kind, "")
        for i, kind in enumerate(kinds)
    ]
    confirm(analyst, upload(analyst, csv_text(rows)))
    [order] = run(WorkOrder.select().where(WorkOrder.rule == "repeat_place"))  # the thefts only
    assert order["title"] == "一地多起 泰和祥府：30天内盗窃5起" and order["rule_key"].endswith(":theft")
    held = run(
        WorkOrderCall.select(WorkOrderCall.call.call_id.as_alias("call_id")).where(WorkOrderCall.order == order["id"])
    )
    assert sorted(h["call_id"] for h in held) == ["M0", "M2", "M4", "M6", "M8"]
    # Stored in Chinese, read in the viewer's language (the place's name as written).
    analyst.get("/locale/en?next=/orders")
    english = analyst.get(f"/orders/{order['id']}").text
    assert "<h1>Repeat place 泰和祥府, Thefts: 5 in 30 days</h1>" in english and "一地多起 泰和祥府" not in english
    assert "Repeat place 泰和祥府" in analyst.get("/orders").text
    analyst.get("/locale/zh_CN?next=/orders")
    assert "<h1>一地多起 泰和祥府：30天内盗窃5起</h1>" in analyst.get(f"/orders/{order['id']}").text


def test_after_lowering_a_threshold_the_analyst_reruns_detection_and_sees_the_result(analyst):
    rows = [(f"W{i}", f"2026/3/{i + 1} 9:00", "13900000011", f"解放南路{i}号", "纠纷", "") for i in range(2)]
    confirm(analyst, upload(analyst, csv_text(rows)))
    assert run(WorkOrder.count()) == 0  # two calls: under the default of three
    assert (
        analyst.post(
            "/calls/settings", data={"rule": "repeat_caller", "threshold": "2", "window_days": "30"}
        ).status_code
        == 303
    )
    page = analyst.get("/calls/settings?saved=1", headers={"Accept-Language": "en"}).text
    assert 'action="/calls/detect"' in page and "Run detection now" in page
    result = analyst.post("/calls/detect", headers={"Accept-Language": "en"})
    assert result.status_code == 200 and "1 new work orders" in result.text
    assert [o["rule"] for o in run(WorkOrder.select(WorkOrder.rule))] == ["repeat_caller"]


def test_a_surge_goes_to_the_stations_queue_lists_its_grids_and_splits_per_grid(analyst):
    start = datetime(2026, 3, 1, 9)
    places = [
        "泰和祥府1号楼",
        "世纪紫薇园2号楼",
        "泰和祥府3号楼",
        "世纪紫薇园4号楼",
        "泰和祥府5号楼",
        "世纪紫薇园6号楼",
    ]
    rows = [
        (f"S{i}", f"{start + timedelta(days=i):%Y/%m/%d %H:%M}", f"1390001{i:04d}", address, "电信诈骗", "")
        for i, address in enumerate(places)
    ]
    confirm(analyst, upload(analyst, csv_text(rows)))
    surge = run(WorkOrder.select().where(WorkOrder.rule == "category_surge").first())
    assert (surge["assignee"], surge["grid"]) == (None, None)  # not one grid officer's
    page = analyst.get(f"/orders/{surge['id']}").text
    touched = re.findall(r"<li>([^<·]+) · 3 起警情</li>", page.split("涉及网格")[1])
    assert len(touched) == 2, touched
    assert f'action="/orders/{surge["id"]}/split"' in page
    assert analyst.post(f"/orders/{surge['id']}/split").status_code == 303
    analyst.post(f"/orders/{surge['id']}/split")  # twice: nothing doubled
    parts = run(
        WorkOrder.select().where(WorkOrder.rule_key.like(f"{surge['rule_key']}@grid:%")).order_by(WorkOrder.grid)
    )
    assert len(parts) == 2 and all(p["assignee"] is not None and p["grid"] is not None for p in parts)
    held = {
        p["grid"]: sorted(
            r["call"] for r in run(WorkOrderCall.select(WorkOrderCall.call).where(WorkOrderCall.order == p["id"]))
        )
        for p in parts
    }
    assert sorted(len(ids) for ids in held.values()) == [3, 3]
    assert run(WorkOrder.select(WorkOrder.state).where(WorkOrder.id == surge["id"]).first())["state"] == "assigned"
    other = run(WorkOrder.select(WorkOrder.id).where(WorkOrder.rule == "repeat_place").first())["id"]
    assert analyst.post(f"/orders/{other}/split").status_code == 404  # only a surge splits


def test_the_80_20_ranking_shows_calls_at_unmatched_addresses_as_a_row_and_the_80_percent_line(analyst):
    start = datetime(2026, 3, 1, 9)
    addresses = ["泰和祥府1号楼"] * 6 + ["世纪紫薇园2号楼"] * 2 + ["解放南路7号"] * 2  # 2 calls match no place
    rows = [
        (f"R{i}", f"{start + timedelta(hours=i):%Y/%m/%d %H:%M}", "", address, "求助", "")
        for i, address in enumerate(addresses)
    ]
    confirm(analyst, upload(analyst, csv_text(rows)))
    page = analyst.get(
        "/calls/ranking?by=place&since=2026-03-01&until=2026-03-02", headers={"Accept-Language": "en"}
    ).text
    assert "2 places make 80% of calls" in page  # 6 + 2 of 10
    assert re.search(
        r'<tr class="keyless">.*?At addresses without a place</a></td>\s*<td>2</td><td>20% of all</td>', page, re.S
    )


def test_the_80_20_curve_labels_the_busiest_fifth_and_where_80_percent_is_reached(analyst):
    start = datetime(2026, 3, 1, 9)
    addresses = ["泰和祥府1号楼"] * 6 + ["世纪紫薇园2号楼"] * 2 + ["解放南路7号"] * 2  # 2 calls match no place
    rows = [
        (f"R{i}", f"{start + timedelta(hours=i):%Y/%m/%d %H:%M}", "", address, "求助", "")
        for i, address in enumerate(addresses)
    ]
    confirm(analyst, upload(analyst, csv_text(rows)))
    url = "/calls/ranking?by=place&since=2026-03-01&until=2026-03-02"
    figure = (
        analyst.get(url, headers={"Accept-Language": "en"}).text.split('id="chart-pareto"')[1].split("</figure>")[0]
    )
    # Of 2 places, the busiest fifth rounds to 1 place (50%): 6 of the 10 calls; 80% is reached
    # with both (6 + 2); the 2 calls at an unmatched address are no place's.
    text = (
        "50% of places (1) give 60% of calls. 80% of calls come from 100% of places (2). "
        "20% of calls were at addresses without a place."
    )
    assert f'<desc id="c-pareto-d">{text}</desc>' in figure
    assert ">50% of places: 60% of calls</text>" in figure and ">100% of places: 80% of calls</text>" in figure
    assert ">Places, most calls first (%)</text>" in figure and ">Calls (%)</text>" in figure
    cells = re.findall(r"<td>(.*?)</td>", figure.split("<tbody>")[1])
    assert cells[:3] == ["10%", "1", "60%"] and cells[-3:] == ["100%", "2", "80%"]
    zh = analyst.get(url).text.split('id="chart-pareto"')[1].split("</figure>")[0]
    assert "警情最多的 50% 地点（1 个）占 60% 的警情。" in zh and "80% 的警情来自 100% 的地点（2 个）" in zh
    assert "of calls" not in zh and "Places" not in zh
    # Every number withheld: no caller to rank, so no curve (and no division by nothing).
    assert 'id="chart-pareto"' not in analyst.get(url.replace("place", "caller")).text


def test_the_callers_ranking_counts_every_call_orders_ties_and_adds_up_to_100_percent(analyst):
    start = datetime(2026, 3, 1, 9)
    phones = ["13900000032"] * 3 + ["13900000031"] * 3 + ["13900000033", ""]  # a tie, one, one withheld
    rows = [
        (f"K{i}", f"{start + timedelta(hours=i):%Y/%m/%d %H:%M}", phone, "泰和祥府1号楼", "求助", "")
        for i, phone in enumerate(phones)
    ]
    confirm(analyst, upload(analyst, csv_text(rows)))
    page = analyst.get(
        "/calls/ranking?by=caller&since=2026-03-01&until=2026-03-02", headers={"Accept-Language": "en"}
    ).text
    assert "8 calls; 3 different" in page
    assert "3 callers make 80% of calls" in page  # 3 + 3 = 75%, + 1 = 88%
    ranked = re.findall(r"<tr(?: class=\"top\")?><td>(\d)</td>\s*<td>(.*?)</td>\s*<td>(\d+)</td><td>(\d+)%</td>", page)
    assert ranked == [
        ("1", "139****0031", "3", "38"),  # the tie in the order of the numbers
        ("2", "139****0032", "3", "75"),
        ("3", "139****0033", "1", "88"),
    ]
    assert re.search(r'<tr class="keyless">.*?Number withheld</td>\s*<td>1</td><td>12% of all</td>', page, re.S)


def test_my_day_puts_the_caller_threatening_self_harm_first_and_counts_the_urgent(analyst):
    start = datetime(2026, 3, 1, 9)
    rows = []
    for n, (phone, summary) in enumerate(
        [
            ("13900000021", "邻里吵架"),
            ("13900000022", "噪音"),
            ("13900000023", "噪音"),
            ("13900000024", "噪音"),
            ("13900000025", "噪音"),
            ("13900000026", "称不想活了要跳楼"),
        ]
    ):
        rows += [
            (
                f"U{n}{i}",
                f"{start + timedelta(days=n, hours=i):%Y/%m/%d %H:%M}",
                phone,
                f"泰和祥府{n}号楼",
                "求助",
                summary,
            )
            for i in range(3)
        ]
    confirm(analyst, upload(analyst, csv_text(rows)))
    analyst.sign_in_as("officer")
    page = analyst.get("/field").text
    titles = re.findall(r'<li class="card order[^"]*"><a href="/orders/\d+">\s*<strong>(.*?)</strong>', page, re.S)
    assert "紧急" in titles[0] and "139****0026" in titles[0], titles  # the newest, yet first
    # The caller's order and the place's (泰和祥府 holds all the calls) speak of it.
    assert [("紧急" in t) for t in titles[:3]] == [True, True, False] and "2 件紧急" in page


def test_the_preview_summarises_places_and_flags_times_in_the_future_or_decades_back(analyst):
    rows = [
        ("P1", "2026/3/1 9:00", "", "泰和祥府1号楼", "纠纷", ""),
        ("P2", "2026/3/1 9:05", "", "解放南路9号", "纠纷", ""),
        ("P3", "2099/3/1 9:00", "", "泰和祥府1号楼", "纠纷", ""),
        ("P4", "1996/3/1 9:00", "", "泰和祥府1号楼", "纠纷", ""),
    ]
    page = upload(analyst, csv_text(rows)).text
    assert "可导入：3 条匹配到地点，1 条地址未匹配地点，0 条属非警务事项。" in page
    flagged = page.split("请核对以下时间")[1].split("</ul>")[0]
    assert "P3" in flagged and "P4" in flagged and "P1" not in flagged and "P2" not in flagged
    assert "前 4 行：" in page


def test_an_orders_states_read_in_english_in_english(analyst):
    order_id = order_for(analyst)
    page = analyst.get(f"/orders/{order_id}", headers={"Accept-Language": "en"}).text
    assert "Assigned" in page and "(交办)" not in page
    assert "交办" in analyst.get(f"/orders/{order_id}").text  # Chinese keeps its term


def test_an_analyst_chooses_a_category_s_family_and_a_family_s_threshold(analyst):
    from app.tables import AuditEvent

    start = datetime.now() - timedelta(days=5)
    rows = [
        (
            f"F{i}",
            (start + timedelta(days=i)).strftime("%Y-%m-%d %H:%M"),
            f"1390000300{i}",
            "泰和祥府3号楼",
            "电动车被撬",
            "",
        )
        for i in range(2)
    ]
    confirm(analyst, upload(analyst, csv_text(rows)))
    assert run(WorkOrder.count()) == 0  # two calls of "other": below the threshold of 3
    settings = analyst.get("/calls/settings", headers={"Accept-Language": "en"}).text
    assert "电动车被撬" in settings and "Category families" in settings
    saved = analyst.post("/calls/families", data={"category": ["电动车被撬"], "family": ["theft"]})
    assert saved.status_code == 303 and saved.headers["location"].startswith("/calls/settings?families=1")
    assert run(AuditEvent.count().where(AuditEvent.object_type == "category_family")) == 1
    # Thefts at a place: an order from two calls already (the analyst's threshold for the family).
    bad = analyst.post(
        "/calls/settings", data={"rule": "repeat_place", "family": "nope", "threshold": "2", "window_days": "30"}
    )
    assert bad.status_code == 422
    done = analyst.post(
        "/calls/settings", data={"rule": "repeat_place", "family": "theft", "threshold": "2", "window_days": "30"}
    )
    assert done.status_code == 303
    analyst.post("/calls/detect")
    [order] = run(WorkOrder.select())
    assert order["rule"] == "repeat_place" and order["rule_key"].endswith(":theft")
    assert "盗窃2起" in order["title"]
    # Disputes at the same place still need three calls.
    dispute = [("G0", start.strftime("%Y-%m-%d %H:%M"), "13900003100", "泰和祥府3号楼", "纠纷", "")]
    dispute.append(
        ("G1", (start + timedelta(hours=3)).strftime("%Y-%m-%d %H:%M"), "13900003101", "泰和祥府3号楼", "纠纷", "")
    )
    confirm(analyst, upload(analyst, csv_text(dispute)))
    assert run(WorkOrder.count()) == 1
