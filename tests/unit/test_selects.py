"""app.selects.Columns: a select over fixed columns compiles to the SQL Piccolo writes for the
same select, on both databases, with its head compiled once."""

from __future__ import annotations

import pytest

from app.selects import Columns
from app.tables import Report

COLUMNS = (
    *Report.all_columns(),
    Report.grid.name.as_alias("grid_name"),
    Report.grid.office.station.name.as_alias("station_name"),
)
FIXED = Columns(Report, *COLUMNS)

SHAPES = {
    "bare": lambda q: q,
    "filtered": lambda q: q.where(Report.status.is_in(["new", "assigned"])).where(Report.grid == 3),
    "through a joined chain": lambda q: q.where(Report.grid.office.station.name == "黄河派出所"),
    "through a chain not selected": lambda q: q.where(Report.place.grid.name.like("%东%")),
    "ordered by a chain not selected": lambda q: q.order_by(Report.assignee.name).order_by(Report.id),
    "a page": lambda q: q.where(Report.id < 90).order_by(Report.created_at, ascending=False).limit(51).offset(5),
    "first": lambda q: q.where(Report.id == 7).first().query,
}


@pytest.mark.parametrize("engine_type", ["sqlite", "postgres"])
@pytest.mark.parametrize("shape", SHAPES)
def test_the_same_sql_as_piccolos(shape, engine_type):
    def compiled(query):
        return query.querystrings[0].compile_string(engine_type=engine_type)

    ours = compiled(SHAPES[shape](FIXED.select()))
    assert ours == compiled(SHAPES[shape](Report.select(*COLUMNS)))
    assert ours[0].count("LEFT JOIN") >= 3


def test_the_head_is_compiled_once():
    fixed = Columns(Report, *COLUMNS)
    kind = Report._meta.db.engine_type  # the database the tests run on
    str(fixed.select().where(Report.id == 1))
    head = fixed._heads[kind]
    str(fixed.select().where(Report.id == 2))
    assert fixed._heads[kind] is head


@pytest.mark.parametrize(
    "clause",
    [
        lambda q: q.distinct(),
        lambda q: q.group_by(Report.status),
        lambda q: q.columns(Report.description),
    ],
)
def test_what_it_cannot_keep_is_refused(clause):
    with pytest.raises(ValueError, match="fixed columns"):
        str(clause(FIXED.select()))
