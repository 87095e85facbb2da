"""The map's geometry and the briefing's clock: pure rules (domain.geo, domain.briefing)."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from app.domain import briefing, geo
from app.domain.routing import Calendar

SQUARE = {
    "type": "Polygon",
    "coordinates": [[[118.30, 33.94], [118.31, 33.94], [118.31, 33.95], [118.30, 33.95], [118.30, 33.94]]],
}


def test_distance_is_the_great_circle_in_metres():
    assert round(geo.distance_m(33.94, 118.30, 33.95, 118.30)) == 1112  # 0.01° of latitude
    assert round(geo.distance_m(33.94, 118.30, 33.94, 118.31)) == 922  # shorter by cos(33.94°)
    assert geo.distance_m(33.94, 118.30, 33.94, 118.30) == 0


def test_nearest_sorts_by_distance_and_skips_places_without_coordinates():
    places = [
        {"id": 1, "lat": 33.95, "lon": 118.30},
        {"id": 2, "lat": 33.941, "lon": 118.30},
        {"id": 3, "lat": None, "lon": None},
        {"id": 4, "lat": 33.96, "lon": 118.30},
    ]
    near = geo.nearest(places, 33.94, 118.30, limit=2)
    assert [p["id"] for p in near] == [2, 1] and near[0]["distance_m"] == 111


def test_a_boundary_projects_north_up_inside_the_viewbox():
    shapes = geo.polygons(json.dumps(SQUARE))
    points = [pt for shape in shapes for ring in shape for pt in ring]
    projection = geo.Projection.fit(points)
    xs, ys = zip(*(projection.xy(*pt) for pt in points))
    assert min(xs) == geo.PADDING and max(xs) == geo.VIEW_WIDTH - geo.PADDING
    assert projection.xy(118.30, 33.95)[1] < projection.xy(118.30, 33.94)[1]  # north is up
    # A degree of longitude is drawn shorter than one of latitude, by cos(latitude).
    assert projection.height - 2 * geo.PADDING > geo.VIEW_WIDTH - 2 * geo.PADDING
    assert projection.path(shapes).startswith("M") and projection.path(shapes).endswith("Z")


def test_a_grid_without_boundary_gets_a_hull_around_its_places():
    [ring] = geo.hull([(118.30, 33.94), (118.302, 33.941), (118.301, 33.9405)])
    assert ring[0] == ring[-1]
    xs = [p[0] for p in ring]
    assert min(xs) == 118.30 - geo.HULL_MARGIN and max(xs) == 118.302 + geo.HULL_MARGIN
    assert len(geo.hull([(118.3, 33.9)])[0]) == 5  # a square around one place
    assert geo.hull([]) == []


def test_shades_split_the_counts_by_their_share_of_the_busiest():
    assert [geo.shade(n, 8) for n in (0, 1, 2, 3, 4, 6, 8)] == [0, 1, 1, 2, 2, 3, 4]
    assert geo.shade(0, 0) == 0 and geo.shade(1, 1) == 4


def test_mondays_briefing_covers_the_weekend_and_a_holiday_is_skipped():
    tz = "Asia/Shanghai"
    zone = ZoneInfo(tz)
    later = datetime(2030, 1, 1, tzinfo=timezone.utc)
    start, end = briefing.covered(date(2026, 11, 30), Calendar(), tz, later)  # a Monday
    assert start == datetime(2026, 11, 27, 8, 30, tzinfo=zone) and end == datetime(2026, 11, 30, 8, 30, tzinfo=zone)
    off = Calendar(days_off=frozenset({date(2026, 11, 27)}))
    assert briefing.covered(date(2026, 11, 30), off, tz, later)[0] == datetime(2026, 11, 26, 8, 30, tzinfo=zone)
    # Read at 07:00 before the briefing: up to now.
    early = datetime(2026, 12, 1, 7, 0, tzinfo=zone)
    assert briefing.covered(date(2026, 12, 1), Calendar(), tz, early) == (
        datetime(2026, 11, 30, 8, 30, tzinfo=zone),
        early,
    )
