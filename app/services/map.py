"""The map of grids and hotspots, and "near me": the grids and places a person sees, with the
counts of one layer (calls, flagged calls by rule, resident reports open or done, field logs,
urgent alerts) over a period, projected into a server-drawn SVG (domain.geo), optionally over
an admin-configured street basemap. Read-only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from app.domain import calls as call_rules
from app.domain import geo
from app.domain import reports as report_rules
from app.domain.access import Principal
from app.i18n import N_
from app.services import alerts, detection, scope
from app.tables import Grid

LAYERS = {
    "calls": N_("110 calls"),
    **call_rules.RULES,  # calls that belong to a work order of that rule (the flags)
    "reports_open": N_("Resident reports still open"),
    "reports_done": N_("Resident reports done"),
    "logs": N_("Field logs"),
    "alerts": N_("Urgent alerts"),
}
NEAR_LIMIT = 10
ALERT_POINTS = 300  # the alerts drawn one by one (the newest); the counts hold them all


@dataclass(frozen=True)
class Basemap:
    """An admin's street basemap (settings.map_tile_url); gcj02: its tiles are drawn in GCJ-02."""

    url: str
    gcj02: bool = False


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive


def _ids(values) -> str:
    return ", ".join(str(int(v)) for v in values) or "NULL"


def _layer_sql(layer: str, principal: Principal) -> str:
    """SELECT grid, place, n for the layer in [{}, {}) (received, created or occurred); one
    grouped query whose only GROUP BY is the outer one (counts() scopes it by grid there)."""
    if layer == "calls" or layer in call_rules.RULES:
        # A call counts for a rule when one of that rule's orders holds it: probed per call of
        # the period through work_order_call's (call, order) index, never materialising every
        # flagged call of all time (the IN list it was cost 234 ms a month; bench/map.py).
        flagged = (
            ""
            if layer == "calls"
            else ' AND EXISTS (SELECT 1 FROM work_order_call woc JOIN work_order wo ON wo.id = woc."order" '
            f"WHERE woc.call = call.id AND wo.rule = '{layer}')"  # a key of RULES, never user input
        )
        return (
            "SELECT grid, place, COUNT(*) AS n FROM call WHERE received_at >= {} AND received_at < {} "
            f"AND grid IS NOT NULL AND {detection.VISIBLE}{flagged} GROUP BY grid, place"
        )
    if layer in ("reports_open", "reports_done"):
        statuses = report_rules.OPEN_STATUSES if layer == "reports_open" else report_rules.FINISHED_STATUSES
        listed = ", ".join(f"'{s}'" for s in statuses)
        return (
            "SELECT grid, place, COUNT(*) AS n FROM report WHERE created_at >= {} AND created_at < {} "
            f"AND grid IS NOT NULL AND status IN ({listed}) GROUP BY grid, place"
        )
    if layer == "alerts":
        return (
            "SELECT grid, place, COUNT(*) AS n FROM grid_alert WHERE created_at >= {} AND created_at < {} "
            f"AND {alerts.visible_sql(principal)} GROUP BY grid, place"
        )
    return (
        "SELECT grid, place, COUNT(*) AS n FROM field_log WHERE occurred_at >= {} AND occurred_at < {} "
        "AND voided_at IS NULL GROUP BY grid, place"
    )


async def _grids(principal: Principal) -> list[dict]:
    in_scope = scope.grid_scope_sql(principal)
    sql = (
        "SELECT g.id AS id, g.name AS name, g.code AS code, g.boundary AS boundary, o.name AS office_name "
        "FROM grid g JOIN office o ON o.id = g.office WHERE g.active = true"
        + (f" AND g.id IN ({in_scope})" if in_scope else "")
        + " ORDER BY g.name"
    )
    return await Grid.raw(sql)


async def counts(principal: Principal, layer: str, period: Period, tz: str) -> tuple[dict[int, int], dict[int, int]]:
    """(count per grid, count per place) of the layer in the period, within the person's grids."""
    low, high = call_rules.period_bounds(period.start, period.end, tz)
    in_scope = scope.grid_scope_sql(principal)
    sql = _layer_sql(layer if layer in LAYERS else "calls", principal)
    if in_scope:
        sql = sql.replace(" GROUP BY grid, place", f" AND grid IN ({in_scope}) GROUP BY grid, place")
    by_grid: dict[int, int] = {}
    by_place: dict[int, int] = {}
    for r in await Grid.raw(sql, low, high):
        by_grid[r["grid"]] = by_grid.get(r["grid"], 0) + int(r["n"])
        if r["place"] is not None:
            by_place[r["place"]] = by_place.get(r["place"], 0) + int(r["n"])
    return by_grid, by_place


async def alert_points(principal: Principal, period: Period, tz: str) -> list[dict]:
    """The alerts of the period the person may see in their grids, newest first, each where it
    was sent from (the phone's position, else its place's), open (not yet closed) or closed."""
    low, high = call_rules.period_bounds(period.start, period.end, tz)
    in_scope = scope.grid_scope_sql(principal)
    sql = (
        "SELECT a.id AS id, a.created_at AS created_at, a.state AS state, a.urgency AS urgency, "
        "a.lat AS lat, a.lon AS lon, p.lat AS place_lat, p.lon AS place_lon, "
        "COALESCE(p.name, a.place_text) AS place_name, g.name AS grid_name "
        "FROM grid_alert a JOIN grid g ON g.id = a.grid LEFT JOIN place p ON p.id = a.place "
        "WHERE a.created_at >= {} AND a.created_at < {} AND a.id IN (SELECT id FROM grid_alert WHERE "
        + alerts.visible_sql(principal)
        + ")"
        + (f" AND a.grid IN ({in_scope})" if in_scope else "")
        + f" ORDER BY a.created_at DESC, a.id DESC LIMIT {ALERT_POINTS}"
    )
    rows = []
    for r in await Grid.raw(sql, low, high):
        lat, lon = (r["lat"], r["lon"]) if geo.valid_position(r["lat"], r["lon"]) else (r["place_lat"], r["place_lon"])
        rows.append({**r, "lat": lat, "lon": lon, "open": r["state"] != "closed"})
    return rows


def _identity(lon: float, lat: float) -> geo.Point:
    return (lon, lat)


async def hotspots(principal: Principal, layer: str, period: Period, tz: str, basemap: Basemap | None = None) -> dict:
    """Everything the map page draws: grid outlines shaded by count, places sized by count,
    the legend's classes and the table of counts (the map's text alternative); for the alerts
    layer each alert as a point; with a basemap, the tiles under it all."""
    # Positions stay WGS-84; over a GCJ-02 basemap they are shifted for drawing only.
    datum = geo.wgs84_to_gcj02 if basemap and basemap.gcj02 else _identity
    grids = await _grids(principal)
    places = [
        {**p, "lon": pos[0], "lat": pos[1]}
        for p in await scope.places(principal)
        if geo.valid_position(p["lat"], p["lon"])
        for pos in [datum(p["lon"], p["lat"])]
    ]
    by_grid, by_place = await counts(principal, layer, period, tz)
    pins = await alert_points(principal, period, tz) if layer == "alerts" else []
    shapes: dict[int, list] = {}
    guessed: set[int] = set()
    for g in grids:
        shapes[g["id"]] = [[[datum(*pt) for pt in ring] for ring in shape] for shape in geo.polygons(g["boundary"])]
        if not shapes[g["id"]]:
            shapes[g["id"]] = [geo.hull([(p["lon"], p["lat"]) for p in places if p["grid"] == g["id"]])]
            guessed.add(g["id"])
            if not shapes[g["id"]][0]:
                shapes[g["id"]] = []
    points = [pt for s in shapes.values() for shape in s for ring in shape for pt in ring]
    points += [(p["lon"], p["lat"]) for p in places]
    projection = geo.Projection.fit(points)
    peak = max(by_grid.values(), default=0)
    place_peak = max(by_place.values(), default=0)
    drawn = []
    for g in grids:
        middle = geo.centre(shapes[g["id"]])
        label = projection.xy(*middle) if middle else None
        count = by_grid.get(g["id"], 0)
        drawn.append(
            {
                **{k: g[k] for k in ("id", "name", "code", "office_name")},
                "count": count,
                "shade": geo.shade(count, peak),
                "path": projection.path(shapes[g["id"]]),
                "guessed": g["id"] in guessed,
                "label": label,
            }
        )
    dots = []
    for p in places:
        count = by_place.get(p["id"], 0)
        x, y = projection.xy(p["lon"], p["lat"])
        radius = 9 + (16 * (count / place_peak) ** 0.5 if place_peak else 0)
        dots.append({"id": p["id"], "name": p["name"], "grid": p["grid"], "count": count, "x": x, "y": y, "r": radius})
    for pin in pins:
        pin["xy"] = (
            projection.xy(*datum(pin["lon"], pin["lat"])) if geo.valid_position(pin["lat"], pin["lon"]) else None
        )
    return {
        "grids": drawn,
        "places": sorted(dots, key=lambda d: d["count"]),  # the busiest drawn last, on top
        "alerts": pins,
        "alerts_open": sum(1 for p in pins if p["open"]),
        "width": geo.VIEW_WIDTH,
        "height": projection.height,
        "peak": peak,
        "legend": _legend(peak),
        "total": sum(by_grid.values()),
        "top_places": sorted((d for d in dots if d["count"]), key=lambda d: -d["count"])[:10],
        "tiles": _tiles(projection, basemap) if basemap and basemap.url else [],
    }


def _tiles(projection: geo.Projection, basemap: Basemap) -> list[dict]:
    """The basemap's tiles covering the whole viewBox, each placed by its corners."""
    corners = [projection.lonlat(0, 0), projection.lonlat(geo.VIEW_WIDTH, projection.height)]
    placed = []
    for t in geo.tiles(corners):
        x0, y0 = projection.xy(t.west, t.north)
        x1, y1 = projection.xy(t.east, t.south)
        placed.append(
            {"href": geo.tile_url(basemap.url, t), "x": x0, "y": y0, "w": round(x1 - x0, 1), "h": round(y1 - y0, 1)}
        )
    return placed


def _legend(peak: int) -> list[tuple[int, int, int]]:
    """(shade class, lowest count, highest count) of each class the peak gives."""
    classes: dict[int, list[int]] = {}
    for n in range(1, peak + 1):
        classes.setdefault(geo.shade(n, peak), []).append(n)
    return [(0, 0, 0)] + [(k, v[0], v[-1]) for k, v in sorted(classes.items())]


async def grid(principal: Principal, grid_id: int, period: Period, tz: str) -> dict | None:
    """A grid's page: its office, places, and the count of every layer in the period."""
    row = next((g for g in await _grids(principal) if g["id"] == grid_id), None)
    if row is None:
        return None
    places = [p for p in await scope.places(principal) if p["grid"] == grid_id]
    layers = {}
    for layer in LAYERS:
        by_grid, by_place = await counts(principal, layer, period, tz)
        layers[layer] = (by_grid.get(grid_id, 0), by_place)
    return {
        "grid": {k: row[k] for k in ("id", "name", "code", "office_name")},
        "has_boundary": bool(row["boundary"]),
        "layers": {k: v[0] for k, v in layers.items()},
        "places": [{**p, "counts": {k: v[1].get(p["id"], 0) for k, v in layers.items()}} for p in places],
    }


async def near(principal: Principal, lat: float, lon: float, limit: int = NEAR_LIMIT) -> list[dict]:
    """The places of the person's grids nearest to a position (WGS-84, as the phone gives it)."""
    return geo.nearest(await scope.places(principal), lat, lon, limit)
