"""app.tables.foreign_keys: selects through foreign-key chains compile to the SQL Piccolo's own
ForeignKey.__getattribute__ gives, without its dir() call per attribute read."""

from __future__ import annotations

import piccolo.columns.column_types as column_types
import pytest
from piccolo.columns.column_types import ForeignKey

from app.services import fieldwork, reports
from app.tables import FieldLog, Report, ReportStep, WorkOrder, foreign_keys


def _selects() -> list[str]:
    """Selects as the services write them: chains three deep, aliases, filters on a chain."""
    return [
        str(reports._select_report().where(Report.grid.office.station.name == "黄河派出所")),
        str(fieldwork._select().where(FieldLog.place.grid.office.name.like("%所%")).order_by(FieldLog.id)),
        str(
            ReportStep.select(ReportStep.report.grid.office.station.committee_name.as_alias("c")).where(
                ReportStep.actor.name.is_in(["a", "b"])
            )
        ),
        str(WorkOrder.select(WorkOrder.all_columns(), WorkOrder.grid.office.station.id.as_alias("station"))),
    ]


@pytest.fixture
def piccolos_own():
    ForeignKey.__getattribute__ = foreign_keys._walk  # type: ignore[method-assign]
    yield
    ForeignKey.__getattribute__ = foreign_keys._getattribute  # type: ignore[method-assign]


def test_the_shortcut_is_in_place():
    assert ForeignKey.__getattribute__ is foreign_keys._getattribute


def test_selects_compile_to_piccolos_own_sql(piccolos_own):
    theirs = _selects()
    ForeignKey.__getattribute__ = foreign_keys._getattribute  # type: ignore[method-assign]
    assert _selects() == theirs
    assert 'LEFT JOIN "station"' in theirs[0] and "黄河派出所" in theirs[0]


def test_a_chain_keeps_its_joins():
    column = Report.grid.office.station.name
    assert [c._meta.name for c in column._meta.call_chain] == ["grid", "office", "station"]
    assert column._meta.get_full_name(with_alias=False) == '"report$grid$grid$office$office$station"."name"'


def test_building_a_select_calls_dir_no_more(monkeypatch):
    calls = []

    def counting_dir(*args):
        calls.append(args)
        return dir(*args)

    monkeypatch.setattr(column_types, "dir", counting_dir, raising=False)
    str(reports._select_report().where(Report.grid == 3))
    # Only reads of a referenced table's columns still go Piccolo's way (none in a built select).
    assert calls == []
