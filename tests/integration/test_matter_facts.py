"""The platform metrics' facts stored on each report (services/matter_facts) equal what the step
rules (domain.platform_metrics.timeline and matter_from) give from its steps, after each of
accept, return, transfer on, done, rating and reopening, made through the pages as staff and
residents make them. SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import datetime

import pytest

from app.domain import platform_metrics as rules
from app.services import matter_facts, routing
from app.tables import Agency, Report, ReportReporter, ReportStep
from tests.conftest import run
from tests.integration.test_routing import matter_id, report, rule_form


@pytest.fixture
def ready(client, demo):
    return client


def stored(report_id: int) -> tuple:
    row = run(
        Report.select(*[getattr(Report, name) for name in matter_facts.FACTS]).where(Report.id == report_id).first()
    )
    return tuple(row[name] for name in matter_facts.FACTS)


def from_the_steps(report_id: int) -> tuple:
    """The facts as the step rules give them, read afresh in Python (not through the stored columns)."""
    row = run(Report.select().where(Report.id == report_id).first())
    steps = run(
        ReportStep.select(ReportStep.kind, ReportStep.at, ReportStep.agency)
        .where(ReportStep.report == report_id)
        .order_by(ReportStep.at, ReportStep.id)
    )
    ratings = run(
        ReportReporter.select(ReportReporter.rating).where(
            (ReportReporter.report == report_id) & ReportReporter.rating.is_not_null()
        )
    )
    returned_by = [s["agency"] for s in steps if s["kind"] == "returned"]
    row["agency"] = row["answered_by"] or row["responsible_agency"] or (max(returned_by) if returned_by else None)
    terms = run(matter_facts._terms())
    deadline = matter_facts._deadlines(run(routing.calendar()))
    accept, finish = terms.get(row["routing_rule"], terms[None])
    line = rules.timeline([(s["kind"], s["at"]) for s in steps])
    matter = rules.matter_from(
        row,
        line,
        tuple(r["rating"] for r in ratings),
        deadline(row["created_at"], accept),
        deadline(row["created_at"], finish),
    )
    return matter_facts.facts(matter)


def same(report_id: int) -> None:
    got, want = stored(report_id), from_the_steps(report_id)
    for name, a, b in zip(matter_facts.FACTS, got, want):
        if isinstance(b, float):
            assert a == pytest.approx(b), name
        elif isinstance(b, datetime):
            assert a is not None and a == b, name
        else:
            assert a == b, name


def step(client, url: str, **data) -> None:
    response = client.post(url, data=data)
    assert response.status_code == 303, response.text[:2000]


def agency_id(code: str) -> int:
    return run(Agency.select(Agency.id).where(Agency.code == code).first())["id"]


def test_returned_taken_on_done_rated_badly_reopened_and_done_again(ready):
    tracking = report(ready, "environment")  # routed to 城管 at once
    report_id = matter_id()
    same(report_id)
    ready.sign_in_as("agency_staff")
    step(ready, f"/agency/{report_id}/steps", action="return", reason="not_ours", text="属物业管理范围")
    same(report_id)
    ready.post("/signout")
    ready.http.cookies.clear()
    ready.sign_in_as("officer")
    step(ready, f"/reports/{report_id}/steps", action="accept")
    same(report_id)
    step(ready, f"/reports/{report_id}/steps", action="done", text="处理完毕")
    same(report_id)
    ready.post("/signout")
    ready.http.cookies.clear()
    step(ready, f"/t/{tracking}/rate", rating="1")
    same(report_id)
    row = run(
        Report.select(Report.was_routed, Report.was_returned, Report.was_reopened, Report.completed_at)
        .where(Report.id == report_id)
        .first()
    )
    assert (row["was_routed"], row["was_returned"], row["was_reopened"], row["completed_at"]) == (
        True,
        True,
        True,
        None,
    )
    ready.sign_in_as("officer")
    step(ready, f"/reports/{report_id}/steps", action="done", text="再次处理")
    same(report_id)
    assert stored(report_id)[matter_facts.FACTS.index("ratings")] == 1


def test_transferred_on_accepted_and_answered_by_the_second_agency(ready):
    report(ready, "environment")
    report_id = matter_id()
    ready.sign_in_as("agency_staff")
    step(ready, f"/agency/{report_id}/steps", action="transfer", agency=str(agency_id("WY")), text="归物业")
    same(report_id)
    assert stored(report_id)[matter_facts.FACTS.index("last_agency")] == agency_id("WY")
    taken_on = run(Report.select(Report.taken_on_at).where(Report.id == report_id).first())["taken_on_at"]
    assert taken_on is None  # a transfer on is not taking it on
    ready.post("/signout")
    ready.http.cookies.clear()


def test_a_rule_s_new_terms_move_the_stored_deadlines_of_its_matters(ready):
    report(ready, "environment")
    report_id = matter_id()
    before = stored(report_id)[matter_facts.FACTS.index("receipt_finish_due")]
    rule = run(Report.select(Report.routing_rule).where(Report.id == report_id).first())["routing_rule"]
    ready.sign_in_as("admin")
    form = rule_form(category="environment", finish_amount="20")
    step(ready, f"/admin/routing/{rule}", **form)
    same(report_id)
    assert stored(report_id)[matter_facts.FACTS.index("receipt_finish_due")] > before
