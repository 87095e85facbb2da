"""WGS-84 → GCJ-02 (for drawing over a Chinese basemap only) and the tiles under the map."""

from __future__ import annotations

import pytest

from app.domain import geo


@pytest.mark.parametrize(
    ("wgs", "gcj"),
    [
        ((123.0, 45.0), (123.00607541, 45.00197815)),  # gcoord's reference point
        ((116.404, 39.915), (116.41024449916938, 39.91640428150164)),  # near Tiananmen
        ((116.42079, 39.90105), (116.42703, 39.90245)),  # Beijing railway station, 5 decimals
        ((121.5272106, 31.1774276), (121.531541859215, 31.17530398364597)),  # Shanghai
        ((113.912316, 22.543847), (113.9171764808363, 22.540796131694766)),  # Shenzhen
    ],
)
def test_wgs84_to_gcj02_matches_the_reference_points(wgs, gcj):
    lon, lat = geo.wgs84_to_gcj02(*wgs)
    assert lon == pytest.approx(gcj[0], abs=1e-5) and lat == pytest.approx(gcj[1], abs=1e-5)


def test_outside_china_nothing_moves():
    assert geo.wgs84_to_gcj02(2.3522, 48.8566) == (2.3522, 48.8566)  # Paris
    assert geo.wgs84_to_gcj02(139.7671, 35.6812 + 25) == (139.7671, 60.6812)


def test_the_tiles_cover_the_box_at_the_deepest_zoom_within_the_limit():
    points = [(118.30, 33.94), (118.33, 33.96)]
    tiles = geo.tiles(points)
    assert 0 < len(tiles) <= geo.MAX_TILES and len({t.z for t in tiles}) == 1
    z = tiles[0].z
    # One zoom deeper would need more tiles than allowed.
    x0, x1 = geo._tile_x(118.30, z + 1), geo._tile_x(118.33, z + 1)
    y0, y1 = geo._tile_y(33.96, z + 1), geo._tile_y(33.94, z + 1)
    assert (x1 - x0 + 1) * (y1 - y0 + 1) > geo.MAX_TILES
    for lon, lat in points:
        assert any(t.west <= lon <= t.east and t.south <= lat <= t.north for t in tiles)
    assert geo.tiles([]) == []
    assert geo.tile_url("/tiles/{z}/{x}/{y}.png", tiles[0]) == f"/tiles/{z}/{tiles[0].x}/{tiles[0].y}.png"
