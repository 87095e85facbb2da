"""Open311 GeoReport v2 under /open311/v2: the spec's resources and field names in JSON and XML,
API-key rules for filing, filters and limits for reading, tokens, errors in the spec's shape.
Runs on SQLite and PostgreSQL alike."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from litestar.testing import TestClient

from app.main import create_app
from app.services import api_keys, audit, report_lists
from app.services.auth import now
from app.tables import Place, Report, ReportCategory, ReportReporter, Station
from tests.conftest import run

SERVICE_FIELDS = ["service_code", "service_name", "description", "metadata", "type", "keywords", "group"]
REQUEST_FIELDS = [
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
]
BASE = "/open311/v2"


@pytest.fixture
def api(client, demo):
    run(report_lists.ensure_categories())
    return client.http  # no CSRF token: other systems have none


@pytest.fixture
def key():
    return run(api_keys.create("FixMyStreet", "open311", None, audit.SYSTEM))[1]


def place(name: str) -> dict:
    return run(Place.select().where(Place.name == name).first())


def xml_items(text: str, root: str, item: str) -> list[ET.Element]:
    assert text.startswith('<?xml version="1.0" encoding="utf-8"?>')
    tree = ET.fromstring(text)
    assert tree.tag == root
    assert all(child.tag == item for child in tree)
    return list(tree)


def file(api, key: str, fmt: str = "json", **fields):
    site = place("泰和花园")
    data = {
        "api_key": key,
        "service_code": "noise",
        "description": "夜里装修",
        "lat": str(site["lat"]),
        "long": str(site["lon"]),
        **fields,
    }
    return api.post(f"{BASE}/requests.{fmt}", data=data)


def test_services_in_json_and_xml_with_the_specs_fields(api):
    services = api.get(f"{BASE}/services.json")
    assert services.status_code == 200 and services.headers["content-type"].startswith("application/json")
    rows = services.json()
    assert [list(r) for r in rows] == [SERVICE_FIELDS] * len(rows)
    assert {"noise", "safety", "other"} <= {r["service_code"] for r in rows}
    assert all(r["type"] == "realtime" and r["metadata"] is False for r in rows)
    xml = api.get(f"{BASE}/services.xml")
    assert xml.headers["content-type"].startswith("text/xml")
    items = xml_items(xml.text, "services", "service")
    assert [[c.tag for c in item] for item in items] == [SERVICE_FIELDS] * len(rows)
    assert items[0].find("metadata").text == "false"


def test_a_service_definition_and_unknown_codes(api):
    definition = api.get(f"{BASE}/services/noise.json")
    assert definition.json() == {"service_code": "noise", "attributes": []}
    xml = ET.fromstring(api.get(f"{BASE}/services/noise.xml").text)
    assert xml.tag == "service_definition" and [c.tag for c in xml] == ["service_code", "attributes"]
    for path in ("/services/pothole.json", "/services/noise", "/services/noise.html"):
        missing = api.get(BASE + path)
        assert missing.status_code == 404
        assert list(missing.json()[0]) == ["code", "description"] and missing.json()[0]["code"] == 404
    xml_missing = api.get(f"{BASE}/services/pothole.xml")
    assert xml_items(xml_missing.text, "errors", "error")[0].find("code").text == "404"


def test_filing_needs_an_open311_key(api, key):
    assert file(api, "").status_code == 403
    assert file(api, "qm_not-a-key").status_code == 403
    analyst_station = run(Station.select(Station.id).first())["id"]
    analyst = run(api_keys.create("Analytics", "analyst", analyst_station, audit.SYSTEM))[1]
    refused = file(api, analyst)
    assert refused.status_code == 403 and refused.json()[0]["code"] == 403
    key_id = run(api_keys.authenticate(key)).key_id
    run(api_keys.revoke(key_id, audit.SYSTEM))
    assert file(api, key).status_code == 403
    assert run(Report.count()) == 0


def test_filing_creates_a_report_like_the_public_form(api, key):
    created = file(api, key, phone="13912345678")
    assert created.status_code == 201, created.text
    [row] = created.json()
    assert list(row) == ["service_request_id", "token", "service_notice", "account_id"]
    report = run(Report.select().first())
    assert row["service_request_id"] == str(report["id"])
    assert (report["source"], report["place"], report["status"]) == ("open311", place("泰和花园")["id"], "received")
    reporter = run(ReportReporter.select().first())
    assert reporter["api_key"] is not None and reporter["client_uuid"] is None and reporter["phone"] == "13912345678"
    assert len(reporter["tracking"]) == 8 and reporter["tracking"] not in created.text  # the resident's secret
    token = api.get(f"{BASE}/tokens/{row['token']}.json")
    assert token.json() == [{"service_request_id": row["service_request_id"], "token": row["token"]}]
    assert api.get(f"{BASE}/tokens/nope.json").status_code == 404
    xml = file(api, key, fmt="xml", description="同一处又吵", join="new")
    assert xml.status_code == 201
    [item] = xml_items(xml.text, "service_requests", "request")
    assert [c.tag for c in item] == ["service_request_id", "token", "service_notice", "account_id"]


def test_where_comes_from_the_address_or_a_poster_code(api, key):
    by_name = file(api, key, lat="", long="", address_string="宿迁经开区马赛公馆3栋")
    assert by_name.status_code == 201
    report = run(Report.select().where(Report.id == int(by_name.json()[0]["service_request_id"])).first())
    assert report["place"] == place("马赛公馆")["id"] and report["address"] == "宿迁经开区马赛公馆3栋"
    by_place = file(api, key, lat="", long="", address_id=str(place("古城小区")["id"]))
    assert by_place.status_code == 201
    for bad in (
        {"lat": "", "long": ""},
        {"lat": "0", "long": "0"},
        {"lat": "north", "long": "east"},
        {"lat": "", "long": "", "address_string": "北京市天安门"},
        {"service_code": "pothole"},
        {"description": ""},
        {"description": "x" * 2001},
    ):
        refused = file(api, key, **bad)
        assert refused.status_code == 400, bad
        assert refused.json()[0]["code"] == 400 and refused.json()[0]["description"]
    assert run(Report.count()) == 2


def test_reading_requests_with_the_specs_fields_and_statuses(api, key, client):
    report_id = int(file(api, key).json()[0]["service_request_id"])
    rows = api.get(f"{BASE}/requests.json").json()
    assert [list(r) for r in rows] == [REQUEST_FIELDS]
    [row] = rows
    assert row["status"] == "open" and row["service_code"] == "noise"
    assert row["agency_responsible"] == "黄河派出所 · 泰和一网格"
    assert row["description"] is None  # a resident's words only for a keyed caller
    assert row["requested_datetime"].endswith("Z") and row["lat"] == pytest.approx(place("泰和花园")["lat"])
    assert api.get(f"{BASE}/requests.json", params={"api_key": key}).json()[0]["description"] == "夜里装修"
    client.sign_in_as("officer")
    client.post(f"/reports/{report_id}/steps", data={"action": "done", "text": "已协调停工"})
    [closed] = api.get(f"{BASE}/requests/{report_id}.json").json()
    assert closed["status"] == "closed" and closed["status_notes"] == "已协调停工"
    items = xml_items(api.get(f"{BASE}/requests/{report_id}.xml").text, "service_requests", "request")
    assert [c.tag for c in items[0]] == REQUEST_FIELDS
    assert items[0].find("status").text == "closed"
    assert api.get(f"{BASE}/requests/{report_id}").status_code == 404
    assert api.get(f"{BASE}/requests/999999.json").status_code == 404


def test_filters_and_the_90_day_window(api, key):
    first = file(api, key).json()[0]["service_request_id"]
    file(api, key, service_code="safety", description="路灯坏了")
    assert len(api.get(f"{BASE}/requests.json").json()) == 2
    assert [r["service_code"] for r in api.get(f"{BASE}/requests.json", params={"service_code": "safety"}).json()] == [
        "safety"
    ]
    assert len(api.get(f"{BASE}/requests.json", params={"service_code": "safety,noise"}).json()) == 2
    assert [
        r["service_request_id"] for r in api.get(f"{BASE}/requests.json", params={"service_request_id": first}).json()
    ] == [first]
    assert api.get(f"{BASE}/requests.json", params={"status": "closed"}).json() == []
    assert len(api.get(f"{BASE}/requests.json", params={"status": "open"}).json()) == 2
    assert api.get(f"{BASE}/requests.json", params={"status": "pending"}).status_code == 400
    today = now()
    wide = {"start_date": (today - timedelta(days=91)).isoformat(), "end_date": today.isoformat()}
    assert api.get(f"{BASE}/requests.json", params=wide).status_code == 400
    later = {"start_date": (today + timedelta(days=1)).isoformat()}
    assert api.get(f"{BASE}/requests.json", params=later).json() == []
    assert api.get(f"{BASE}/requests.json", params={"start_date": "yesterday"}).status_code == 400
    # Older than 90 days: not in the default window, still found by its id.
    run(Report.update({Report.created_at: today - timedelta(days=100)}).where(Report.id == int(first)))
    assert len(api.get(f"{BASE}/requests.json").json()) == 1
    assert len(api.get(f"{BASE}/requests.json", params={"service_request_id": first}).json()) == 1


def test_at_most_1000_requests(api):
    category = run(ReportCategory.select(ReportCategory.id).first())["id"]
    station = run(Station.select(Station.id).first())["id"]
    # In batches: PostgreSQL takes at most 32,767 arguments per statement (a report has ~50 columns).
    for batch in range(0, 1005, 335):
        rows = [Report(category=category, station=station, description=f"#{i}") for i in range(batch, batch + 335)]
        run(Report.insert(*rows))
    assert len(api.get(f"{BASE}/requests.json").json()) == 1000


def test_filing_is_rate_limited_per_key(demo, settings, key):
    run(report_lists.ensure_categories())
    app = create_app(dataclasses.replace(settings, open311_per_minute=2))
    with TestClient(app=app, base_url="http://testserver.local") as api:
        answers = [file(api, key, join="new").status_code for _ in range(3)]
    assert answers == [201, 201, 429]


def test_filing_is_rate_limited_per_residents_device_like_the_public_form(demo, settings, key):
    """One key is a whole city app: its residents' devices each get the public form's burst."""
    run(report_lists.ensure_categories())
    app = create_app(dataclasses.replace(settings, report_burst=2, report_per_minute=0.0001))
    with TestClient(app=app, base_url="http://testserver.local") as api:
        one = [file(api, key, join="new", device_id="phone-1").status_code for _ in range(3)]
        other = file(api, key, join="new", account_id="resident-2").status_code
        anonymous = [file(api, key, join="new").status_code for _ in range(3)]
    assert (one, other, anonymous) == ([201, 201, 429], 201, [201, 201, 201])


def test_framework_errors_keep_the_specs_shape(api):
    wrong_method = api.delete(f"{BASE}/services.json")
    assert wrong_method.status_code == 405 and wrong_method.json()[0]["code"] == 405
    unknown = api.get(f"{BASE}/nothing.xml")
    assert unknown.status_code == 404 and xml_items(unknown.text, "errors", "error")


def test_the_api_is_in_the_openapi_document(api):
    spec = api.get("/schema/openapi.json").json()
    paths = {p for p in spec["paths"] if p.startswith(BASE)}
    assert paths == {
        f"{BASE}/services.json",
        f"{BASE}/services.xml",
        f"{BASE}/services/{{service_code}}",
        f"{BASE}/requests.json",
        f"{BASE}/requests.xml",
        f"{BASE}/requests/{{service_request_id}}",
        f"{BASE}/tokens/{{token}}",
    }
    post = spec["paths"][f"{BASE}/requests.json"]["post"]
    assert set(post["responses"]) == {"201", "400", "403", "429"}
    assert "application/x-www-form-urlencoded" in post["requestBody"]["content"]
