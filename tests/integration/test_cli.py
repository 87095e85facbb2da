"""The demo loader and the command line's guard rails."""

import pytest

from app.cli import main
from app.services.demo import load_demo
from app.tables import Agency, Grid, Office, Person, PersonRole, Place, Station
from tests.conftest import run


def test_the_demo_district_loads_once(db):
    assert run(load_demo()) is True
    counts = [run(t.count()) for t in (Station, Office, Grid, Place, Agency, Person)]
    assert run(load_demo()) is False
    assert [run(t.count()) for t in (Station, Office, Grid, Place, Agency, Person)] == counts
    station, offices, grids, places, agencies, _people = counts
    assert station == 1 and offices == 2 and grids >= 6 and places >= 30 and agencies == 6
    assert run(Station.select(Station.name).first())["name"] == "黄河派出所"
    kinds = {r["kind"] for r in run(Agency.select(Agency.kind))}
    assert kinds == {"urban_management", "housing", "civil_affairs", "health", "power_supply", "property_management"}
    roles = {r["role"] for r in run(PersonRole.select(PersonRole.role))}
    assert roles == {"volunteer", "grid_worker", "officer", "agency_staff", "analyst", "supervisor", "admin"}


def test_demo_refuses_to_listen_beyond_localhost():
    with pytest.raises(SystemExit, match="localhost"):
        main(["demo", "--host", "0.0.0.0"])


def test_qianmo_cleanup_removes_unconfirmed_uploads(db, tmp_path, monkeypatch, capsys):
    import os
    import time

    monkeypatch.setenv("QIANMO_UPLOAD_DIR", str(tmp_path))
    (tmp_path / "imports").mkdir()
    old, fresh = tmp_path / "imports" / "old.csv", tmp_path / "imports" / "fresh.csv"
    for path in (old, fresh):
        path.write_text("call_id\n")
    written = time.time() - 2 * 3600
    os.utime(old, (written, written))
    main(["cleanup"])
    assert not old.exists() and fresh.exists()
    assert "removed 1 unconfirmed upload(s)" in capsys.readouterr().out
