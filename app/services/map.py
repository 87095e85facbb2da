"""The map of grids and hotspots, and "near me": the grids and places a person sees, with the
counts of one layer (calls, flagged calls by rule, resident reports open or done, field logs)
over a period, projected into a server-drawn SVG (domain.geo). Read-only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from app.domain import calls as call_rules
from app.domain import geo
from app.domain import reports as report_rules
from app.domain.access import Principal
from app.i18n import N_
from app.services import detection, scope
from app.tables import Grid

LAYERS = {
    "calls": N_("110 calls"),
    **call_rules.RULES,  # calls that belong to a work order of that rule (the flags)
    "reports_open": N_("Resident reports still open"),
    "reports_done": N_("Resident reports done"),
    "logs": N_("Field logs"),
}
NEAR_LIMIT = 10


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive


def _ids(values) -> str:
    return ", ".join(str(int(v)) for v in values) or "NULL"


def _layer_sql(layer: str) -> str:
    """SELECT grid, place, n for the layer in [{}, {}) (received, created or occurred)."""
    if layer == "calls" or layer in call_rules.RULES:
        flagged = (
            ""
            if layer == "calls"
            else ' AND id IN (SELECT woc.call FROM work_order_call woc JOIN work_order wo ON wo.id = woc."order" '
            f"WHERE wo.rule = '{layer}')"  # a key of RULES, never user input
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
    sql = _layer_sql(layer if layer in LAYERS else "calls")
    if in_scope:
        sql = sql.replace(" GROUP BY", f" AND grid IN ({in_scope}) GROUP BY")
    by_grid: dict[int, int] = {}
    by_place: dict[int, int] = {}
    for r in await Grid.raw(sql, low, high):
        by_grid[r["grid"]] = by_grid.get(r["grid"], 0) + int(r["n"])
        if r["place"] is not None:
            by_place[r["place"]] = by_place.get(r["place"], 0) + int(r["n"])
    return by_grid, by_place


async def hotspots(principal: Principal, layer: str, period: Period, tz: str) -> dict:
    """Everything the map page draws: grid outlines shaded by count, places sized by count,
    the legend's classes and the table of counts (the map's text alternative)."""
    grids = await _grids(principal)
    places = [p for p in await scope.places(principal) if geo.valid_position(p["lat"], p["lon"])]
    by_grid, by_place = await counts(principal, layer, period, tz)
    shapes: dict[int, list] = {}
    guessed: set[int] = set()
    for g in grids:
        shapes[g["id"]] = geo.polygons(g["boundary"])
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
    return {
        "grids": drawn,
        "places": sorted(dots, key=lambda d: d["count"]),  # the busiest drawn last, on top
        "width": geo.VIEW_WIDTH,
        "height": projection.height,
        "peak": peak,
        "legend": _legend(peak),
        "total": sum(by_grid.values()),
        "top_places": sorted((d for d in dots if d["count"]), key=lambda d: -d["count"])[:10],
    }


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
