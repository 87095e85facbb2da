"""The map of grids and hotspots (server-drawn SVG, no tile server), a grid's page, and
"near me" (the places nearest the phone's position)."""

from __future__ import annotations

from datetime import date, timedelta

from litestar import Controller, Request, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from app.domain import alerts as alert_rules
from app.domain import geo
from app.domain.org import PLACE_KINDS
from app.i18n import N_
from app.routes.guards import Me, requires
from app.services import map as hotspots
from app.services.fieldwork import today

READERS = ("officer", "grid_worker", "supervisor", "analyst", "admin")
DEFAULT_DAYS = 30
QUICK_DAYS = (7, 30, 90, 365)
MAX_DAYS = 800


def period_of(request: Request, since: str, until: str) -> tuple[hotspots.Period, dict[str, str]]:
    """The chosen period (inclusive dates), or the last 30 days with the reason when it is bad."""
    last = today(request.app.state.settings.time_zone)
    default = hotspots.Period(last - timedelta(days=DEFAULT_DAYS - 1), last)
    if not since and not until:
        return default, {}
    try:
        period = hotspots.Period(date.fromisoformat(since), date.fromisoformat(until))
    except ValueError:
        return default, {"period": N_("Not a date")}
    if period.end < period.start:
        return default, {"period": N_("The end comes before the start")}
    if (period.end - period.start).days >= MAX_DAYS:
        return default, {"period": N_("Choose a period of at most two years")}
    return period, {}


class MapController(Controller):
    path = "/map"
    guards = [requires(*READERS)]

    @get("/", name="map")
    async def index(
        self,
        request: Request,
        me: Me,
        layer: FromQuery[str] = "calls",
        since: FromQuery[str] = "",
        until: FromQuery[str] = "",
    ) -> Template:
        period, errors = period_of(request, since, until)
        layer = layer if layer in hotspots.LAYERS else "calls"
        settings = request.app.state.settings
        basemap = hotspots.Basemap(settings.map_tile_url, settings.map_tiles_gcj02) if settings.map_tile_url else None
        data = await hotspots.hotspots(me, layer, period, settings.time_zone, basemap)
        last = today(settings.time_zone)
        return Template(
            "map/index.html",
            context={
                "m": data,
                "layer": layer,
                "layers": hotspots.LAYERS,
                "alert_states": alert_rules.STATES,
                "period": period,
                "errors": errors,
                "quick": [(n, (last - timedelta(days=n - 1)).isoformat(), last.isoformat()) for n in QUICK_DAYS],
                "query": f"since={period.start.isoformat()}&until={period.end.isoformat()}",
            },
        )

    @get("/grids/{grid_id:int}", name="map_grid")
    async def grid(
        self, request: Request, me: Me, grid_id: FromPath[int], since: FromQuery[str] = "", until: FromQuery[str] = ""
    ) -> Template:
        period, errors = period_of(request, since, until)
        data = await hotspots.grid(me, grid_id, period, request.app.state.settings.time_zone)
        if data is None:
            raise NotFoundException()
        return Template(
            "map/grid.html",
            context={"g": data, "layers": hotspots.LAYERS, "period": period, "errors": errors},
        )

    @get("/near", name="map_near")
    async def near(self, me: Me, lat: FromQuery[str] = "", lng: FromQuery[str] = "") -> Template:
        """Without a position: the page whose script asks the phone for one and comes back with it."""
        position, error = _position(lat, lng)
        places = await hotspots.near(me, *position) if position else []
        return Template(
            "map/near.html",
            context={"places": places, "position": position, "error": error, "kinds": dict(PLACE_KINDS)},
        )


def _position(lat: str, lng: str) -> tuple[tuple[float, float] | None, str]:
    if not lat and not lng:
        return None, ""
    try:
        position = (float(lat), float(lng))
    except ValueError:
        return None, N_("The position could not be read. Try again.")
    if not geo.valid_position(*position):
        return None, N_("The position could not be read. Try again.")
    return position, ""
