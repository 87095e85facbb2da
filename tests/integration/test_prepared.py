"""db.Prepared: a Piccolo select compiled once answers exactly as the same select built each time."""

from __future__ import annotations

import pytest

from app.db import Prepared
from app.tables.org import Grid, Place
from tests.conftest import run


def _places():
    return Place.select(
        Place.id,
        Place.name,
        Place.grid.name.as_alias("grid_name"),
        Place.grid.office.station.name.as_alias("station_name"),
    )


BY_GRID = Prepared(lambda p: _places().where((Place.grid == p.grid) & (Place.name != p.not_named)).order_by(Place.id))
IN_GRIDS = Prepared(lambda p: _places().where(Place.grid.is_in(p.grids) & Place.lat.is_not_null()).order_by(Place.id))


def test_a_prepared_select_answers_as_piccolo_does_for_each_value(demo):
    grids = [g["id"] for g in run(Grid.select(Grid.id).order_by(Grid.id))]
    excluded = run(Place.select(Place.name).where(Place.grid == grids[0]).first())["name"]
    for grid in grids[:3]:
        expected = run(_places().where((Place.grid == grid) & (Place.name != excluded)).order_by(Place.id))
        assert run(BY_GRID.rows(grid=grid, not_named=excluded)) == expected
    assert all(row["name"] != excluded for row in run(BY_GRID.rows(grid=grids[0], not_named=excluded)))
    assert run(BY_GRID.rows(grid=-1, not_named="")) == []
    assert run(BY_GRID.first(grid=grids[1], not_named=""))["station_name"]


def test_a_list_value_is_compiled_once_per_length_and_never_mixed_up(demo):
    grids = [g["id"] for g in run(Grid.select(Grid.id).order_by(Grid.id))]
    for chosen in ([grids[0]], grids[:3], [grids[2], grids[0]], grids[:3]):
        expected = run(_places().where(Place.grid.is_in(chosen) & Place.lat.is_not_null()).order_by(Place.id))
        assert run(IN_GRIDS.rows(grids=chosen)) == expected
        assert {row["grid_name"] for row in expected}  # the demo's places have coordinates
    assert len(IN_GRIDS._compiled) == 3  # lengths 1, 3 and 2: the second list of three reused its text


def test_a_value_the_drivers_do_not_take_is_refused():
    with pytest.raises(TypeError, match="grid"):
        run(BY_GRID.rows(grid=object(), not_named=""))
