"""Unit scoping: which grids, places and agencies a principal may see. Services filter with
these; a request for anything outside answers 404, as if it did not exist."""
from __future__ import annotations

from app.domain.access import Principal
from app.tables import Grid, Office, Place

ALL = None  # no restriction


async def station_ids(principal: Principal) -> set[int]:
    """Stations the principal works in: held directly, or through an office or a grid."""
    stations = set(principal.station_ids)
    if principal.office_ids:
        rows = await Office.select(Office.station).where(Office.id.is_in(list(principal.office_ids)))
        stations.update(r["station"] for r in rows)
    if principal.grid_ids:
        rows = await Grid.select(Grid.office.station.as_alias("station")).where(Grid.id.is_in(list(principal.grid_ids)))
        stations.update(r["station"] for r in rows)
    return stations


async def grid_ids(principal: Principal) -> set[int] | None:
    """Officers, analysts and supervisors see their station's grids; grid workers and volunteers
    their own grids; administrators everything; agency staff no grid."""
    if principal.has("admin"):
        return ALL
    visible: set[int] = set()
    if principal.has("officer", "analyst", "supervisor"):
        stations = await station_ids(principal)
        if stations:
            rows = await Grid.select(Grid.id).where(Grid.office.station.is_in(list(stations)))
            visible.update(r["id"] for r in rows)
    if principal.has("grid_worker", "volunteer"):
        visible.update(principal.grid_ids)
    return visible


async def places(principal: Principal, q: str = "") -> list[dict]:
    grids = await grid_ids(principal)
    query = Place.select(Place.all_columns(), Place.grid.name.as_alias("grid_name")).where(
        Place.active == True).order_by(Place.grid.name).order_by(Place.name)  # noqa: E712
    if grids is not ALL:
        if not grids:
            return []
        query = query.where(Place.grid.is_in(list(grids)))
    if q:
        query = query.where(Place.name.like(f"%{q}%") | Place.aliases.like(f"%{q}%"))
    return await query


async def place(principal: Principal, place_id: int) -> dict | None:
    """The place, or None when it does not exist or lies outside the principal's grids."""
    row = await Place.select(Place.all_columns(), Place.grid.name.as_alias("grid_name"),
                             Place.grid.office.name.as_alias("office_name")).where(Place.id == place_id).first()
    if row is None:
        return None
    grids = await grid_ids(principal)
    return row if grids is ALL or row["grid"] in grids else None


def agency_ids(principal: Principal) -> set[int] | None:
    return ALL if principal.has("admin", "supervisor") else set(principal.agency_ids)
