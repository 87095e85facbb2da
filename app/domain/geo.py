"""Pure geometry for the map and "near me": distances on the WGS-84 sphere, grid outlines from
their GeoJSON boundaries (or, for a grid without one, a hull around its places), and a flat
projection of both into an SVG's coordinates.

Everything is stored and computed in WGS-84, the coordinates phones give. A district is a few
kilometres across, so an equirectangular projection about its middle is exact to well under a
pixel; no tile server or map library is needed for the outlines and points to make a map."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

EARTH_RADIUS_M = 6_371_008.8
VIEW_WIDTH = 1000  # the SVG's viewBox width; its height follows the area's shape
PADDING = 24
HULL_MARGIN = 0.0006  # degrees (~60 m) around the places of a grid without a boundary
SHADES = 5  # shade classes 0 (nothing) … 4 (the busiest)

Point = tuple[float, float]  # (lon, lat), GeoJSON's order
Ring = list[Point]


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, a)))


def valid_position(lat: float | None, lon: float | None) -> bool:
    return lat is not None and lon is not None and -90 <= lat <= 90 and -180 <= lon <= 180


def nearest(places: list[dict], lat: float, lon: float, limit: int) -> list[dict]:
    """The places with coordinates, nearest first, each with its `distance_m` (whole metres)."""
    located = [
        {**p, "distance_m": round(distance_m(lat, lon, p["lat"], p["lon"]))}
        for p in places
        if valid_position(p.get("lat"), p.get("lon"))
    ]
    return sorted(located, key=lambda p: (p["distance_m"], p["id"]))[:limit]


def polygons(boundary: str | None) -> list[list[Ring]]:
    """A stored boundary (a validated Polygon or MultiPolygon) as polygons of rings."""
    if not boundary:
        return []
    geometry = json.loads(boundary)
    shapes = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    return [[[(float(x), float(y)) for x, y, *_ in ring] for ring in shape] for shape in shapes]


def hull(points: list[Point]) -> list[Ring]:
    """A stand-in outline for a grid with no boundary: the convex hull of its places, widened
    by a margin (a square around one place). Drawn dashed: it is a guess, not the grid."""
    if not points:
        return []
    m = HULL_MARGIN
    spread = {(x + dx, y + dy) for x, y in points for dx in (-m, m) for dy in (-m, m)}
    ordered = sorted(spread)

    def cross(o: Point, a: Point, b: Point) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    def half(seq: list[Point]) -> list[Point]:
        out: list[Point] = []
        for p in seq:
            while len(out) >= 2 and cross(out[-2], out[-1], p) <= 0:
                out.pop()
            out.append(p)
        return out[:-1]

    ring = half(ordered) + half(ordered[::-1])
    return [[*ring, ring[0]]]


@dataclass(frozen=True)
class Projection:
    """Equirectangular about the area's middle latitude, north up, scaled into the viewBox."""

    west: float
    north: float
    k: float  # cos(middle latitude): a degree of longitude is this much of one of latitude
    scale: float  # viewBox units per degree of latitude
    height: int

    @classmethod
    def fit(cls, points: list[Point]) -> Projection:
        if not points:
            return cls(0.0, 0.0, 1.0, 1.0, VIEW_WIDTH // 2)
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        k = math.cos(math.radians((min(ys) + max(ys)) / 2))
        wide = max((max(xs) - min(xs)) * k, 1e-6)
        tall = max(max(ys) - min(ys), 1e-6)
        # As wide as the viewBox, but never taller than 1.25 times its width (a phone scrolls).
        scale = min((VIEW_WIDTH - 2 * PADDING) / wide, 1.25 * VIEW_WIDTH / tall)
        return cls(min(xs), max(ys), k, scale, max(round(tall * scale + 2 * PADDING), 200))

    def xy(self, lon: float, lat: float) -> tuple[float, float]:
        return (
            round((lon - self.west) * self.k * self.scale + PADDING, 1),
            round((self.north - lat) * self.scale + PADDING, 1),
        )

    def lonlat(self, x: float, y: float) -> Point:
        """The inverse of xy: the position at a point of the viewBox."""
        return ((x - PADDING) / (self.k * self.scale) + self.west, self.north - (y - PADDING) / self.scale)

    def path(self, shapes: list[list[Ring]]) -> str:
        """An SVG path (fill-rule evenodd keeps holes open)."""
        parts = []
        for shape in shapes:
            for ring in shape:
                points = [self.xy(x, y) for x, y in ring]
                parts.append("M" + " L".join(f"{x},{y}" for x, y in points) + " Z")
        return " ".join(parts)


def shade(count: int, peak: int) -> int:
    """The shade class of a count: 0 for none, else 1…SHADES-1 by its share of the peak."""
    if count <= 0 or peak <= 0:
        return 0
    return max(1, math.ceil(count / peak * (SHADES - 1)))


def centre(shapes: list[list[Ring]]) -> Point | None:
    """Where a grid's label goes: the middle of its outer rings' points."""
    points = [p for shape in shapes for p in shape[0][:-1]] if shapes else []
    if not points:
        return None
    return (sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points))


# --- a street basemap (optional) -------------------------------------------------------------
# Chinese basemaps are drawn in GCJ-02, the datum the national rules require of published maps:
# WGS-84 shifted by a few hundred metres by a fixed formula. Positions stay WGS-84 in storage;
# they are shifted only to be drawn over such tiles (the published forward formula; the
# Krasovsky ellipsoid's constants are part of it).
_GCJ_A = 6_378_245.0
_GCJ_EE = 0.006_693_421_622_965_943


def in_china(lat: float, lon: float) -> bool:
    """The rectangle the formula is applied in (outside it GCJ-02 equals WGS-84)."""
    return 72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271


def _shift_lat(x: float, y: float) -> float:
    s = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    s += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    s += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    s += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return s


def _shift_lon(x: float, y: float) -> float:
    s = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    s += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    s += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    s += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return s


def wgs84_to_gcj02(lon: float, lat: float) -> Point:
    """(lon, lat) in WGS-84 → the same spot in GCJ-02 (unchanged outside China)."""
    if not in_china(lat, lon):
        return (lon, lat)
    d_lat = _shift_lat(lon - 105.0, lat - 35.0)
    d_lon = _shift_lon(lon - 105.0, lat - 35.0)
    rad = math.radians(lat)
    magic = 1 - _GCJ_EE * math.sin(rad) ** 2
    root = math.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_GCJ_A * (1 - _GCJ_EE)) / (magic * root) * math.pi)
    d_lon = (d_lon * 180.0) / (_GCJ_A / root * math.cos(rad) * math.pi)
    return (lon + d_lon, lat + d_lat)


MAX_TILES = 12  # tiles under one map: enough for a street-level view, few requests on 4G
MAX_ZOOM = 18


@dataclass(frozen=True)
class Tile:
    z: int
    x: int
    y: int
    west: float
    north: float
    east: float
    south: float


def _tile_x(lon: float, z: int) -> int:
    return int((lon + 180.0) / 360.0 * 2**z)


def _tile_y(lat: float, z: int) -> int:
    rad = math.radians(max(min(lat, 85.05), -85.05))
    return int((1.0 - math.asinh(math.tan(rad)) / math.pi) / 2.0 * 2**z)


def _tile_lon(x: int, z: int) -> float:
    return x / 2**z * 360.0 - 180.0


def _tile_lat(y: int, z: int) -> float:
    return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / 2**z))))


def tiles(points: list[Point], max_tiles: int = MAX_TILES) -> list[Tile]:
    """The web-mercator (XYZ) tiles covering the points' box at the deepest zoom that needs at
    most max_tiles of them. Over a district's few km the tiles' mercator and the map's
    equirectangular projection agree to well under a pixel, so each tile is placed by its corners."""
    if not points:
        return []
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    for z in range(MAX_ZOOM, -1, -1):
        x0, x1 = _tile_x(min(xs), z), _tile_x(max(xs), z)
        y0, y1 = _tile_y(max(ys), z), _tile_y(min(ys), z)
        if (x1 - x0 + 1) * (y1 - y0 + 1) <= max_tiles:
            return [
                Tile(z, x, y, _tile_lon(x, z), _tile_lat(y, z), _tile_lon(x + 1, z), _tile_lat(y + 1, z))
                for y in range(y0, y1 + 1)
                for x in range(x0, x1 + 1)
            ]
    return []


def tile_url(template: str, tile: Tile) -> str:
    return template.replace("{z}", str(tile.z)).replace("{x}", str(tile.x)).replace("{y}", str(tile.y))
