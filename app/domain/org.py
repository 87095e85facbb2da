"""Pure rules of the organisation area: what each kind of unit holds and what is valid.

The same field specs drive the admin forms, their validation and the CSV import,
so a rule is written once.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from app.domain import phone
from app.i18n import N_, too_long

CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")

PLACE_KINDS = (
    ("estate", N_("Housing estate")),
    ("street", N_("Street")),
    ("park", N_("Park")),
    ("shop", N_("Shop")),
    ("market", N_("Market")),
    ("school", N_("School")),
    ("hospital", N_("Hospital")),
    ("company", N_("Company")),
    ("other", N_("Other")),
)
AGENCY_KINDS = (
    ("urban_management", N_("Urban management")),
    ("housing", N_("Housing and construction")),
    ("civil_affairs", N_("Civil affairs")),
    ("health", N_("Health")),
    ("power_supply", N_("Power supply")),
    ("property_management", N_("Property management")),
    ("other", N_("Other")),
)
# Chinese names people write in spreadsheets, for the CSV import.
PLACE_KIND_ALIASES = {
    "小区": "estate",
    "住宅小区": "estate",
    "街道": "street",
    "道路": "street",
    "公园": "park",
    "商铺": "shop",
    "商店": "shop",
    "店铺": "shop",
    "市场": "market",
    "学校": "school",
    "医院": "hospital",
    "企业": "company",
    "公司": "company",
    "其他": "other",
}


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str = "text"  # text | textarea | select | parent | number | geojson | lines
    required: bool = False
    max_length: int = 100
    choices: tuple[tuple[str, str], ...] = ()
    hint: str = ""


@dataclass(frozen=True)
class Entity:
    key: str
    label: str
    plural: str
    fields: tuple[Field, ...]
    parent: str | None = None  # the entity one level up, whose id is a field of the same name
    search: tuple[str, ...] = ("name", "code")
    has_code: bool = True
    csv_columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    csv_required: tuple[str, ...] = ()  # columns a file must have (others may be absent)

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)


NAME = Field("name", N_("Name"), required=True)
CODE = Field("code", N_("Code"), required=True, max_length=32, hint=N_("Letters, digits, - and _; unique"))
ADDRESS = Field("address", N_("Address"), max_length=200)
PHONE = Field("phone", N_("Phone"), max_length=32)

ENTITIES: dict[str, Entity] = {
    e.key: e
    for e in (
        Entity(
            "station",
            N_("Police station"),
            N_("Police stations"),
            (
                Field("bureau", N_("Bureau"), kind="parent", required=True),
                NAME,
                CODE,
                ADDRESS,
                PHONE,
                Field(
                    "committee_name",
                    N_("People's mediation committee"),
                    max_length=100,
                    hint=N_(
                        "Issues the station's people's mediation agreements; blank: the station's name + committee"
                    ),
                ),
            ),
            parent="bureau",
        ),
        Entity(
            "office",
            N_("Community police office"),
            N_("Community police offices"),
            (Field("station", N_("Police station"), kind="parent", required=True), NAME, CODE, ADDRESS),
            parent="station",
        ),
        Entity(
            "grid",
            N_("Grid"),
            N_("Grids"),
            (
                Field("office", N_("Community police office"), kind="parent", required=True),
                NAME,
                CODE,
                Field(
                    "boundary",
                    N_("Boundary (GeoJSON)"),
                    kind="geojson",
                    max_length=200_000,
                    hint=N_("Optional: a GeoJSON Polygon or MultiPolygon"),
                ),
            ),
            parent="office",
            csv_columns={
                "code": ("code", "编码", "网格编码"),
                "name": ("name", "名称", "网格名称"),
                "office": ("office_code", "office", "警务室编码"),
                "boundary": ("boundary", "边界"),
            },
            csv_required=("code", "name", "office"),
        ),
        Entity(
            "place",
            N_("Place"),
            N_("Places"),
            (
                Field("grid", N_("Grid"), kind="parent", required=True),
                NAME,
                Field("kind", N_("Kind"), kind="select", required=True, choices=PLACE_KINDS),
                ADDRESS,
                Field("lat", N_("Latitude"), kind="number", max_length=20),
                Field("lon", N_("Longitude"), kind="number", max_length=20),
                Field(
                    "aliases",
                    N_("Other names"),
                    kind="lines",
                    max_length=1000,
                    hint=N_("One per line: names residents use for this place"),
                ),
            ),
            parent="grid",
            search=("name", "address", "aliases"),
            has_code=False,
            csv_columns={
                "name": ("name", "名称", "地点名称"),
                "kind": ("kind", "类型", "地点类型"),
                "address": ("address", "地址"),
                "grid": ("grid_code", "grid", "网格编码"),
                "lat": ("lat", "latitude", "纬度"),
                "lon": ("lon", "longitude", "经度"),
                "aliases": ("aliases", "别名"),
            },
            csv_required=("name", "grid"),
        ),
        Entity(
            "agency",
            N_("Agency"),
            N_("Agencies"),
            (
                NAME,
                CODE,
                Field("kind", N_("Kind"), kind="select", required=True, choices=AGENCY_KINDS),
                Field("contact", N_("Contact person"), max_length=100),
                PHONE,
            ),
        ),
    )
}


def clean(entity: Entity, raw: dict[str, str]) -> tuple[dict[str, object], dict[str, str]]:
    """Validate form or CSV input. Returns (values, errors by field); errors are message ids."""
    values: dict[str, object] = {}
    errors: dict[str, str] = {}
    for f in entity.fields:
        text = (raw.get(f.name) or "").strip()
        if not text:
            if f.required:
                errors[f.name] = N_("Required")
            values[f.name] = None if f.kind in {"number", "geojson", "parent"} else ""
            continue
        if len(text) > f.max_length:
            errors[f.name] = too_long(f.max_length)
            continue
        value, error = _clean_value(f, text)
        if error:
            errors[f.name] = error
        else:
            values[f.name] = value
    if "lat" in values or "lon" in values:
        _check_coordinates(values, errors)
    return values, errors


def _clean_value(f: Field, text: str) -> tuple[object, str | None]:
    if f.name == "code":
        return (text, None) if CODE_RE.match(text) else (None, N_("Use letters, digits, - and _ only"))
    if f.name == "phone":
        return (text, None) if phone.is_valid(text) else (None, N_("Not a phone number"))
    if f.kind == "parent":
        return (int(text), None) if text.isdecimal() else (None, N_("Choose one"))
    if f.kind == "select":
        return (text, None) if text in dict(f.choices) else (None, N_("Choose one"))
    if f.kind == "number":
        try:
            return float(text), None
        except ValueError:
            return None, N_("Not a number")
    if f.kind == "geojson":
        return clean_boundary(text)
    if f.kind == "lines":
        return normalise_aliases(text), None
    return text, None


def _check_coordinates(values: dict[str, object], errors: dict[str, str]) -> None:
    lat, lon = values.get("lat"), values.get("lon")
    if isinstance(lat, float) and not -90 <= lat <= 90:
        errors["lat"] = N_("Latitude must be between -90 and 90")
    if isinstance(lon, float) and not -180 <= lon <= 180:
        errors["lon"] = N_("Longitude must be between -180 and 180")
    if "lat" not in errors and "lon" not in errors and (lat is None) != (lon is None):
        errors["lat" if lat is None else "lon"] = N_("Give both latitude and longitude, or neither")


def normalise_aliases(text: str) -> str:
    parts = re.split(r"[\n,;，；、|]+", text)
    seen: list[str] = []
    for part in (p.strip() for p in parts):
        if part and part not in seen:
            seen.append(part)
    return "\n".join(seen)


def clean_boundary(text: str) -> tuple[str | None, str | None]:
    """A GeoJSON Polygon or MultiPolygon (bare, Feature or one-feature collection)."""
    try:
        data = json.loads(text)
    except ValueError:
        return None, N_("Not valid JSON")
    geometry = _geometry(data)
    if geometry is None or not _valid_polygons(geometry):
        return None, N_("Must be a GeoJSON Polygon or MultiPolygon with [longitude, latitude] points")
    return json.dumps(geometry, separators=(",", ":")), None


def _geometry(data: object) -> dict | None:
    if not isinstance(data, dict):
        return None
    if data.get("type") == "Feature":
        return _geometry(data.get("geometry"))
    if data.get("type") == "FeatureCollection":
        features = data.get("features") or []
        return _geometry(features[0]) if len(features) == 1 else None
    return data if data.get("type") in {"Polygon", "MultiPolygon"} else None


def _valid_polygons(geometry: dict) -> bool:
    coords = geometry.get("coordinates")
    polygons = [coords] if geometry["type"] == "Polygon" else coords
    if not isinstance(polygons, list) or not polygons:
        return False
    for polygon in polygons:
        if not isinstance(polygon, list) or not polygon:
            return False
        for ring in polygon:
            if not isinstance(ring, list) or len(ring) < 4 or ring[0] != ring[-1]:
                return False
            if not all(_valid_point(p) for p in ring):
                return False
    return True


def _valid_point(point: object) -> bool:
    return (
        isinstance(point, list)
        and len(point) >= 2
        and all(isinstance(v, (int, float)) for v in point[:2])
        and -180 <= point[0] <= 180
        and -90 <= point[1] <= 90
    )


def place_kind(text: str) -> str:
    """Accept a kind code or its Chinese name, as written in a spreadsheet."""
    text = text.strip()
    return PLACE_KIND_ALIASES.get(text, text.lower())


def changes(before: dict[str, object], after: dict[str, object]) -> dict[str, list[object]]:
    """Changed fields only, as {field: [before, after]} for the audit log."""
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
