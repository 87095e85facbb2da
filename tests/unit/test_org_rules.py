import json

from app.domain import org
from app.domain.csv_import import NOT_TEXT, decode, read_sheet
from app.domain.phone import mask, normalise

PLACE = org.ENTITIES["place"]
GRID = org.ENTITIES["grid"]
SQUARE = {"type": "Polygon", "coordinates": [[[118.30, 33.94], [118.31, 33.94], [118.31, 33.95], [118.30, 33.94]]]}


def test_a_valid_place_is_cleaned():
    values, errors = org.clean(
        PLACE,
        {
            "grid": "3",
            "name": " 世纪紫薇园 ",
            "kind": "estate",
            "lat": "33.94",
            "lon": "118.30",
            "aliases": "紫薇园、紫薇 ;紫薇园",
        },
    )
    assert errors == {}
    assert values["name"] == "世纪紫薇园" and values["grid"] == 3
    assert values["lat"] == 33.94 and values["aliases"] == "紫薇园\n紫薇"


def test_required_fields_and_bad_values_are_reported_per_field():
    _values, errors = org.clean(PLACE, {"grid": "", "name": "", "kind": "castle", "lat": "north", "lon": "500"})
    assert errors == {
        "grid": "Required",
        "name": "Required",
        "kind": "Choose one",
        "lat": "Not a number",
        "lon": "Longitude must be between -180 and 180",
    }


def test_coordinates_come_in_pairs():
    _values, errors = org.clean(PLACE, {"grid": "1", "name": "x", "kind": "park", "lat": "33.9"})
    assert errors == {"lon": "Give both latitude and longitude, or neither"}


def test_codes_are_plain():
    _values, errors = org.clean(GRID, {"office": "1", "name": "g", "code": "泰和 01"})
    assert errors == {"code": "Use letters, digits, - and _ only"}


def test_boundary_accepts_polygon_feature_and_rejects_points():
    ok, error = org.clean_boundary(json.dumps({"type": "Feature", "geometry": SQUARE}))
    assert error is None and json.loads(ok) == SQUARE
    _bad, error = org.clean_boundary(json.dumps({"type": "Point", "coordinates": [118.3, 33.9]}))
    assert error
    _bad, error = org.clean_boundary("{not json")
    assert error == "Not valid JSON"
    open_ring = {"type": "Polygon", "coordinates": [[[118.30, 33.94], [118.31, 33.94], [118.31, 33.95], [118.2, 33.9]]]}
    assert org.clean_boundary(json.dumps(open_ring))[1]


def test_chinese_place_kinds_are_understood():
    assert org.place_kind("小区") == "estate" and org.place_kind("Park") == "park"


def test_changes_lists_only_changed_fields():
    assert org.changes({"name": "a", "code": "X"}, {"name": "b", "code": "X"}) == {"name": ["a", "b"]}


def test_csv_decoding_handles_bom_and_gbk():
    assert decode("名称\n".encode("utf-8-sig"))[0] == "名称\n"
    assert decode("名称,地址\n紫薇园,泰和路\n".encode("gbk"))[0] == "名称,地址\n紫薇园,泰和路\n"
    text, encoding = decode(b"\xff\xfe\x00\xd8\x00")
    assert text is None and encoding.error == NOT_TEXT


def test_sheet_maps_chinese_headers_and_reports_missing_columns():
    sheet = read_sheet("名称,网格编码,纬度\n紫薇园,TH-03,33.9\n\n", PLACE.csv_columns, ("name", "grid"))
    assert sheet.error is None
    assert sheet.rows == [(2, {"name": "紫薇园", "grid": "TH-03", "lat": "33.9"})]
    sheet = read_sheet("address\nx\n", PLACE.csv_columns, ("name", "grid"))
    assert sheet.error == "Missing column: %(columns)s" and sheet.error_args == {"columns": "name, grid_code"}


def test_phone_masking():
    assert mask("138 0527 0001") == "138****0001"
    assert mask("+86 13805270001") == "138****0001"
    assert normalise("0527-84310110") == "052784310110"
    assert mask("110") == "***"


def test_phone_validity_is_one_rule_for_org_and_people():
    from app.domain.phone import is_valid

    assert all(is_valid(p) for p in ("13805270001", "0527-84310110", "+86 138 0527 0001", "(0527)84310110"))
    assert not any(is_valid(p) for p in ("abc", "12", "138-abc-0001", ""))
