"""Administering the organisation through the pages, as an administrator would."""

import json
import re

from app.services.org import TABLES
from app.tables import AuditEvent, Bureau, Place, Station
from tests.conftest import run


def station_form(bureau_id, **overrides):
    return {
        "bureau": str(bureau_id),
        "name": "运河派出所",
        "code": "YH",
        "address": "运河路1号",
        "phone": "0527-84310111",
        **overrides,
    }


def test_create_list_edit_and_deactivate_a_station(admin):
    bureau_id = run(Bureau.select(Bureau.id).first())["id"]
    response = admin.post("/admin/org/station/new", data=station_form(bureau_id), follow_redirects=True)
    assert response.status_code == 200
    assert "运河派出所" in response.text and "已保存" in response.text
    station = run(Station.select().where(Station.code == "YH").first())
    assert station["address"] == "运河路1号" and station["active"]

    response = admin.post(
        f"/admin/org/station/{station['id']}", data=station_form(bureau_id, name="运河路派出所"), follow_redirects=True
    )
    assert "运河路派出所" in response.text
    assert run(Station.select(Station.name).where(Station.id == station["id"]).first())["name"] == "运河路派出所"

    admin.post(f"/admin/org/station/{station['id']}/active", data={"active": "0"})
    listing = admin.get("/admin/org/station").text
    assert "运河路派出所" not in listing and "黄河派出所" in listing
    assert "运河路派出所" in admin.get("/admin/org/station?inactive=true").text
    assert run(Station.count().where(Station.id == station["id"])) == 1  # never hard-deleted

    actions = [
        r["action"]
        for r in run(
            AuditEvent.select(AuditEvent.action)
            .where((AuditEvent.object_type == "station") & (AuditEvent.object_id == str(station["id"])))
            .order_by(AuditEvent.id)
        )
    ]
    assert actions == ["create", "update", "deactivate"]
    update = run(AuditEvent.select().where(AuditEvent.action == "update").first())
    assert json.loads(update["changes"]) == {"name": ["运河派出所", "运河路派出所"]}
    assert update["request_id"] and update["actor_id"] is not None and "admin" in update["actor_role"]


def test_bad_input_is_answered_field_by_field_and_kept(admin):
    response = admin.post(
        "/admin/org/place/new", data={"grid": "", "name": "新地点", "kind": "estate", "lat": "北纬33", "lon": "118.3"}
    )
    assert response.status_code == 422
    assert "请更正标出的字段" in response.text
    assert 'value="新地点"' in response.text and 'value="北纬33"' in response.text
    assert re.search(r'id="e-lat"[^>]*>不是数字<', response.text)
    assert re.search(r'id="e-grid"[^>]*>必填<', response.text)
    assert run(Place.count().where(Place.name == "新地点")) == 0


def test_codes_stay_unique(admin):
    bureau_id = run(Bureau.select(Bureau.id).first())["id"]
    response = admin.post("/admin/org/station/new", data=station_form(bureau_id, code="HH"))
    assert response.status_code == 422 and "该编码已被使用" in response.text
    assert run(Station.count()) == 1


def test_every_entity_can_be_created_from_its_form(admin):
    ids = {
        key: run(TABLES[key].select(TABLES[key].id).first())["id"] for key in ("bureau", "station", "office", "grid")
    }
    forms = {
        "office": {"station": ids["station"], "name": "新警务室", "code": "NEW-O"},
        "grid": {
            "office": ids["office"],
            "name": "新网格",
            "code": "NEW-G",
            "boundary": '{"type":"Polygon","coordinates":[[[118.3,33.9],[118.31,33.9],[118.31,33.91],[118.3,33.9]]]}',
        },
        "place": {
            "grid": ids["grid"],
            "name": "新小区",
            "kind": "estate",
            "lat": "33.95",
            "lon": "118.30",
            "aliases": "新区\n新小区北门",
        },
        "agency": {
            "name": "新物业",
            "code": "NEW-A",
            "kind": "property_management",
            "contact": "王经理",
            "phone": "13900000000",
        },
    }
    for key, form in forms.items():
        response = admin.post(f"/admin/org/{key}/new", data={k: str(v) for k, v in form.items()})
        assert response.status_code == 303, (key, response.text)
        assert run(TABLES[key].count().where(TABLES[key].name == form["name"])) == 1
        assert form["name"] in admin.get(f"/admin/org/{key}?q={form['name']}").text


def test_search_narrows_and_htmx_gets_only_the_results(admin):
    full = admin.get("/admin/org/place?q=紫薇")
    assert "世纪紫薇园" in full.text and "虞姬公园" not in full.text and '<nav class="bottomnav"' in full.text
    assert "HX-Request" in full.headers["vary"].replace(" ", "").split(",")  # beside Accept-Encoding
    partial = admin.get("/admin/org/place?q=紫薇", headers={"HX-Request": "true", "HX-Target": "results"})
    assert "世纪紫薇园" in partial.text and "<html" not in partial.text
    assert "虞姬园" in admin.get("/admin/org/place?q=虞姬园").text  # aliases are searched


def test_unknown_things_answer_404(admin):
    assert admin.get("/admin/org/castle").status_code == 404
    assert admin.get("/admin/org/place/999999").status_code == 404
    assert admin.post("/admin/org/place/999999/active", data={"active": "0"}).status_code == 404
    assert admin.get("/admin/org/agency/import").status_code == 404
