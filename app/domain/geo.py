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
