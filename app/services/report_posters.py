"""QR posters: one active opaque code per place, grid or office, issued when someone asks to
print a poster that has none (a POST: reading a poster page never writes), retired and reissued
when a poster is defaced or misused (the old code then says "no longer in use"). Admins print
any poster; officers those of their station's units."""

from __future__ import annotations

import segno
from piccolo.columns import Column
from piccolo.columns.combination import Combinable

from app.db import write_transaction
from app.domain import reports as rules
from app.domain.access import Principal
from app.services import audit, scope
from app.services.auth import now
from app.tables import Grid, Office, Place, ReportPoster

KINDS = ("place", "grid", "office")


async def target(principal: Principal, kind: str, unit_id: int) -> dict | None:
    """The unit a poster is for, with what the poster prints; None when unknown or out of scope."""
    if kind == "place":
        row = (
            await Place.select(
                Place.id,
                Place.name,
                Place.address,
                Place.grid,
                Place.grid.name.as_alias("grid_name"),
                Place.grid.office.as_alias("office"),
                Place.grid.office.name.as_alias("office_name"),
                Place.grid.office.address.as_alias("office_address"),
                Place.grid.office.station.as_alias("station"),
            )
            .where((Place.id == unit_id) & Place.active.eq(True))
            .first()
        )
    elif kind == "grid":
        row = (
            await Grid.select(
                Grid.id,
                Grid.name,
                Grid.id.as_alias("grid"),
                Grid.name.as_alias("grid_name"),
                Grid.office,
                Grid.office.name.as_alias("office_name"),
                Grid.office.address.as_alias("office_address"),
                Grid.office.station.as_alias("station"),
            )
            .where((Grid.id == unit_id) & Grid.active.eq(True))
            .first()
        )
    elif kind == "office":
        row = (
            await Office.select(
                Office.id,
                Office.name,
                Office.address,
                Office.id.as_alias("office"),
                Office.name.as_alias("office_name"),
                Office.address.as_alias("office_address"),
                Office.station,
            )
            .where((Office.id == unit_id) & Office.active.eq(True))
            .first()
        )
    else:
        return None
    if row is None or not await _may_print(principal, row):
        return None
    row.setdefault("grid", None)
    row["kind"] = kind
    return row


async def _may_print(principal: Principal, unit: dict) -> bool:
    if principal.has("admin"):
        return True
    if not principal.has("officer"):
        return False
    if unit.get("grid"):
        grids = await scope.grid_ids(principal)
        return grids is scope.ALL or unit["grid"] in grids
    return unit["station"] in await scope.station_ids(principal)


def _target_filter(kind: str, unit_id: int):
    columns: dict[str, Column] = {"place": ReportPoster.place, "grid": ReportPoster.grid, "office": ReportPoster.office}
    column = columns[kind]
    condition: Combinable = (column == unit_id) & ReportPoster.retired_at.is_null()
    if kind != "place":
        condition = condition & ReportPoster.place.is_null()
    if kind == "office":
        condition = condition & ReportPoster.grid.is_null()
    return condition


async def _new_code() -> str:
    for _ in range(10):
        code = rules.new_code()
        if not await ReportPoster.exists().where(ReportPoster.code == code):
            return code
    raise RuntimeError("no free poster code")


async def _issue(unit: dict, actor: audit.Actor) -> dict:
    kind = unit["kind"]
    code = await _new_code()
    values = {
        "station": unit["station"],
        "office": unit.get("office"),
        "grid": unit.get("grid"),
        "place": unit["id"] if kind == "place" else None,
        "created_by": actor.id,
    }
    rows = await ReportPoster.insert(ReportPoster(code=code, **values)).returning(ReportPoster.id)
    await audit.record(actor, "issue", "report_poster", rows[0]["id"], {kind: [None, unit["id"]]})
    poster = await ReportPoster.select().where(ReportPoster.id == rows[0]["id"]).first()
    assert poster is not None  # inserted just above
    return poster


async def _active(kind: str, unit_id: int) -> dict | None:
    return await ReportPoster.select().where(_target_filter(kind, unit_id)).first()


async def show(principal: Principal, kind: str, unit_id: int) -> tuple[dict, dict | None] | None:
    """(unit, its active poster or None when it has no code yet); None when not allowed."""
    unit = await target(principal, kind, unit_id)
    if unit is None:
        return None
    return unit, await _active(kind, unit_id)


async def issue(principal: Principal, kind: str, unit_id: int, actor: audit.Actor) -> tuple[dict, dict] | None:
    """(unit, its active poster), issuing a code when it has none; None when not allowed."""
    unit = await target(principal, kind, unit_id)
    if unit is None:
        return None
    async with write_transaction(ReportPoster._meta.db):
        poster = await _active(kind, unit_id) or await _issue(unit, actor)
    return unit, poster


async def grid_batch(principal: Principal, grid_id: int) -> tuple[dict, list[tuple[dict, dict | None]]] | None:
    """A grid and its active places with their posters (None: no code yet), in name order, for one print run."""
    grid = await target(principal, "grid", grid_id)
    if grid is None:
        return None
    pages = []
    for place in await _place_ids(grid_id):
        pair = await show(principal, "place", place)
        if pair:
            pages.append(pair)
    return grid, pages


async def issue_batch(principal: Principal, grid_id: int, actor: audit.Actor) -> bool:
    """Codes for every active place of the grid that has none; False when not allowed."""
    if await target(principal, "grid", grid_id) is None:
        return False
    for place in await _place_ids(grid_id):
        await issue(principal, "place", place, actor)
    return True


async def _place_ids(grid_id: int) -> list[int]:
    rows = await Place.select(Place.id).where((Place.grid == grid_id) & Place.active.eq(True)).order_by(Place.name)
    return [r["id"] for r in rows]


async def retirable(principal: Principal, poster_id: int) -> tuple[dict, str, dict] | None:
    """The poster in use, its unit's kind and the unit, when this person may retire it."""
    poster = (
        await ReportPoster.select().where((ReportPoster.id == poster_id) & ReportPoster.retired_at.is_null()).first()
    )
    if poster is None:
        return None
    kind, unit_id = (
        ("place", poster["place"])
        if poster["place"]
        else ("grid", poster["grid"])
        if poster["grid"]
        else ("office", poster["office"])
    )
    unit = await target(principal, kind, unit_id)
    return None if unit is None else (poster, kind, unit)


async def retire(principal: Principal, poster_id: int, actor: audit.Actor) -> dict | None:
    """Retire a poster and issue its unit a new code; the new poster, or None when not allowed."""
    found = await retirable(principal, poster_id)
    if found is None:
        return None
    poster, kind, unit = found
    unit_id = poster[kind]
    async with write_transaction(ReportPoster._meta.db):
        await ReportPoster.update({ReportPoster.retired_at: now(), ReportPoster.retired_by: actor.id}).where(
            ReportPoster.id == poster_id
        )
        await audit.record(actor, "retire", "report_poster", poster_id, {"code": [poster["code"], None]})
        fresh = await _issue(unit, actor)
    return {"kind": kind, "unit_id": unit_id, **fresh}


async def by_code(code: str) -> dict | None:
    """The poster with this code, retired or not; None when the code is not ours."""
    normalised = rules.normalise_code(code)
    if normalised is None:
        return None
    return await ReportPoster.select().where(ReportPoster.code == normalised).first()


async def overview(principal: Principal) -> list[dict]:
    """The grids the person may print for, each with its places and their active poster codes."""
    grids = await scope.grid_ids(principal)
    query = (
        Grid.select(Grid.id, Grid.name, Grid.code, Grid.office.name.as_alias("office_name"), Grid.office)
        .where(Grid.active.eq(True))
        .order_by(Grid.office.name)
        .order_by(Grid.code)
    )
    if grids is not scope.ALL:
        query = query.where(Grid.id.is_in(list(grids) or [-1]))
    rows = await query
    if not principal.has("admin", "officer"):
        return []
    posters = await ReportPoster.select(
        ReportPoster.id,
        ReportPoster.code,
        ReportPoster.place,
        ReportPoster.grid,
        ReportPoster.office,
        ReportPoster.created_at,
    ).where(ReportPoster.retired_at.is_null())
    by_place = {p["place"]: p for p in posters if p["place"]}
    by_grid = {p["grid"]: p for p in posters if p["grid"] and not p["place"]}
    places = (
        await Place.select(Place.id, Place.name, Place.grid)
        .where(Place.grid.is_in([r["id"] for r in rows] or [-1]) & Place.active.eq(True))
        .order_by(Place.name)
    )
    for row in rows:
        row["poster"] = by_grid.get(row["id"])
        row["places"] = [{**p, "poster": by_place.get(p["id"])} for p in places if p["grid"] == row["id"]]
    return rows


async def offices(principal: Principal) -> list[dict]:
    rows = (
        await Office.select(Office.id, Office.name, Office.station).where(Office.active.eq(True)).order_by(Office.name)
    )
    if principal.has("admin"):
        return rows
    stations = await scope.station_ids(principal) if principal.has("officer") else set()
    return [r for r in rows if r["station"] in stations]


def qr_svg(url: str, title: str) -> str:
    """The QR code as inline SVG (sized by CSS), error correction M: survives a little dirt."""
    return segno.make(url, error="m").svg_inline(scale=1, border=2, omitsize=True, title=title)
