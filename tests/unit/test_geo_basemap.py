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
    ],
)
def test_wgs84_to_gcj02_matches_the_reference_points(wgs, gcj):
    lon, lat = geo.wgs84_to_gcj02(*wgs)
    assert lon == pytest.approx(gcj[0], abs=1e-5) and lat == pytest.approx(gcj[1], abs=1e-5)


def test_outside_china_nothing_moves():
    assert geo.wgs84_to_gcj02(2.3522, 48.8566) == (2.3522, 48.8566)  # Paris
    assert geo.wgs84_to_gcj02(139.7671, 35.6812 + 25) == (139.7671, 60.6812)


def test_the_tiles_cover_the_box_at_the_deepest_zoom_within_the_limit():
    box = [(118.28, 33.93), (118.31, 33.95)]
    tiles = geo.tiles(box)
    assert 0 < len(tiles) <= geo.MAX_TILES and len({t.z for t in tiles}) == 1
    assert min(t.west for t in tiles) <= 118.28 and max(t.east for t in tiles) >= 118.31
    assert min(t.south for t in tiles) <= 33.93 and max(t.north for t in tiles) >= 33.95
    deeper = tiles[0].z + 1
    assert len(geo.tiles(box, max_tiles=10_000)) > len(tiles) or deeper > geo.MAX_ZOOM
    assert geo.tile_url("/tiles/{z}/{x}/{y}.png", tiles[0]) == f"/tiles/{tiles[0].z}/{tiles[0].x}/{tiles[0].y}.png"
