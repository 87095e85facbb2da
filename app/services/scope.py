"""Unit scoping: which grids, places and agencies a principal may see. Services filter with
these; a request for anything outside answers 404, as if it did not exist."""

from __future__ import annotations

from app.db import Prepared
from app.domain.access import Principal
from app.request_context import remembered
from app.selects import Columns
from app.tables import Grid, Place, Station

ALL = None  # no restriction


def _ids(values) -> str:
    return ", ".join(str(int(v)) for v in values) or "NULL"


def _stations_sql(principal: Principal) -> str:
    """The stations the principal works in: held directly, or through an office or a grid.
    SQL, not Piccolo: every signed-in page asks, and building the query cost more than running it."""
    return (
        f"SELECT id AS station FROM station WHERE id IN ({_ids(principal.station_ids)}) "
        f"UNION SELECT station FROM office WHERE id IN ({_ids(principal.office_ids)}) "
        f"UNION SELECT o.station FROM grid g JOIN office o ON o.id = g.office WHERE g.id IN ({_ids(principal.grid_ids)})"
    )


async def station_ids(principal: Principal) -> set[int]:
    return set(await remembered(("stations", principal), lambda: _station_ids(principal)))


async def _station_ids(principal: Principal) -> frozenset[int]:
    return frozenset(r["station"] for r in await Station.raw(_stations_sql(principal)))


def grid_scope_sql(principal: Principal) -> str | None:
    """SQL selecting the ids of the grids the principal sees (None: every grid), to use inside
    a query. Officers, analysts and supervisors see their station's grids; grid workers and
    volunteers their own grids; administrators everything; agency staff no grid."""
    if principal.has("admin"):
        return None
    parts = []
    if principal.has("officer", "analyst", "supervisor"):
        parts.append(
            f"SELECT g.id FROM grid g JOIN office o ON o.id = g.office WHERE o.station IN ({_stations_sql(principal)})"
        )
    if principal.has("grid_worker", "volunteer"):
        parts.append(f"SELECT id FROM grid WHERE id IN ({_ids(principal.grid_ids)})")
    return " UNION ".join(parts) or "SELECT id FROM grid WHERE 1 = 0"


async def grid_ids(principal: Principal) -> set[int] | None:
    """The grids the principal sees (ALL for administrators), looked up once a request."""
    sql = grid_scope_sql(principal)
    if sql is None:
        return ALL
    return set(await remembered(("grids", principal), lambda: _grid_ids(sql)))


async def _grid_ids(sql: str) -> frozenset[int]:
    return frozenset(r["id"] for r in await Grid.raw(sql))


def _active_places():
    return (
        Place.select(Place.all_columns(), Place.grid.name.as_alias("grid_name"))
        .where(Place.active.eq(True))
        .order_by(Place.grid.name)
        .order_by(Place.name)
    )


# Every log form offers them: built once (a select with a join); the search box's stay ad hoc.
_PLACES = Prepared(lambda p: _active_places())
_PLACES_IN = Prepared(lambda p: _active_places().where(Place.grid.is_in(p.grids)))


async def places(principal: Principal, q: str = "") -> list[dict]:
    grids = await grid_ids(principal)
    if grids is not ALL and not grids:
        return []
    if not q:
        return await (_PLACES.rows() if grids is ALL else _PLACES_IN.rows(grids=sorted(grids)))
    query = _active_places().where(Place.name.like(f"%{q}%") | Place.aliases.like(f"%{q}%"))
    if grids is not ALL:
        query = query.where(Place.grid.is_in(list(grids)))
    return await query


_PLACE = Columns(  # built and compiled once (app.selects)
    Place, *Place.all_columns(), Place.grid.name.as_alias("grid_name"), Place.grid.office.name.as_alias("office_name")
)


async def place(principal: Principal, place_id: int) -> dict | None:
    """The place, or None when it does not exist or lies outside the principal's grids."""
    row = await _PLACE.select().where(Place.id == place_id).first()
    if row is None:
        return None
    grids = await grid_ids(principal)
    return row if grids is ALL or row["grid"] in grids else None


def agency_ids(principal: Principal) -> set[int] | None:
    return ALL if principal.has("admin", "supervisor") else set(principal.agency_ids)
