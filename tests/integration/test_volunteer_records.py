"""Volunteers' records (#15) and the notices that follow them (#14): check-out not before the
start, the leader's corrected minutes (audited, with a reason), attendance confirmed → the
volunteer is told, the certificate (actual times, confirmed shifts only, a number per issue,
checked in public at /v/<code>), a replayed registration answered by the first one, and the
overdue notices told once (also by two processes at once). Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

from app.routes.forms import REPLAY_HEADER
from app.services import jobs, orders, volunteers
from app.tables import (
    AuditEvent,
    Notification,
    PatrolShift,
    ShiftSignup,
    VolunteerApplication,
    VolunteerCertificate,
    WorkOrder,
)
from tests.conftest import client_with, run
from tests.integration.test_volunteers import (
    as_person,
    demo_person,
    make_shift,
    make_volunteer,
    registration,
    sign_in,
    signups,
    vol,  # noqa: F401 - the fixture
)
from tests.live import ROOT

EN = {"Accept-Language": "en"}
SHANGHAI = ZoneInfo("Asia/Shanghai")


def kinds(person: int) -> list[str]:
    return [r["kind"] for r in run(Notification.select(Notification.kind).where(Notification.person == person))]


def start_of(shift: int):
    return run(PatrolShift.select().where(PatrolShift.id == shift).first())["starts_at"]


def test_check_out_is_refused_before_the_start_and_asked_to_confirm(vol, monkeypatch):
    me = make_volunteer("早退")
    shift = make_shift(timedelta(hours=2), hours=1)
    run(ShiftSignup.insert(ShiftSignup(shift=shift, person=me, status="confirmed")))
    as_person(vol, me)
    start = start_of(shift)
    monkeypatch.setattr(volunteers.common, "now", lambda: start - timedelta(minutes=20))
    assert vol.post(f"/volunteers/shifts/{shift}/check-in", data={}).status_code == 303
    page = vol.get(f"/volunteers/shifts/{shift}", headers=EN).text
    assert "Check-out opens at" in page and f"/volunteers/shifts/{shift}/check-out" not in page
    early = vol.post(f"/volunteers/shifts/{shift}/check-out", headers=EN)
    assert early.status_code == 422 and "The shift has not started yet" in early.text
    assert signups(shift)[0]["check_out_at"] is None
    monkeypatch.setattr(volunteers.common, "now", lambda: start + timedelta(minutes=40))
    page = vol.get(f"/volunteers/shifts/{shift}", headers=EN).text
    assert re.search(r'action="/volunteers/shifts/\d+/check-out" data-confirm="Check out now\?', page)
    assert vol.post(f"/volunteers/shifts/{shift}/check-out").status_code == 303
    assert signups(shift)[0]["minutes"] == 60  # from check-in 20 minutes before the start


def test_my_shifts_shows_a_done_shift_with_its_actual_times(vol, monkeypatch):
    me = make_volunteer("丁四")
    shift = make_shift(timedelta(minutes=20), hours=1)
    run(ShiftSignup.insert(ShiftSignup(shift=shift, person=me, status="confirmed")))
    as_person(vol, me)
    start = start_of(shift)
    monkeypatch.setattr(volunteers.common, "now", lambda: start - timedelta(minutes=3))
    vol.post(f"/volunteers/shifts/{shift}/check-in", data={})
    monkeypatch.setattr(volunteers.common, "now", lambda: start + timedelta(minutes=47))
    vol.post(f"/volunteers/shifts/{shift}/check-out")
    card = vol.get("/volunteers/my", headers=EN).text.split(f"/volunteers/shifts/{shift}")[1].split("</li>")[0]
    local = start.astimezone(SHANGHAI)
    span = f"{local - timedelta(minutes=3):%H:%M}–{local + timedelta(minutes=47):%H:%M}"
    assert f"Done: {span} · 0 h 50 min" in card
    assert "Check-in is open" not in card and "On patrol" not in card


def test_the_leader_corrects_minutes_with_a_reason_and_the_volunteer_is_told(vol, monkeypatch):
    officer = demo_person("officer")
    me = make_volunteer("癸")
    shift = make_shift(timedelta(hours=-3), hours=2, leader=officer)
    run(ShiftSignup.insert(ShiftSignup(shift=shift, person=me, status="confirmed")))
    [signup] = signups(shift)
    # Another volunteer (not the leader) may not correct anyone's minutes.
    as_person(vol, make_volunteer("旁人"))
    refused = vol.post(
        f"/volunteers/shifts/{shift}/minutes", data={"signup": signup["id"], "minutes": "500", "reason": "x"}
    )
    assert refused.status_code == 422 and signups(shift)[0]["minutes"] == 0
    sign_in(vol, "officer")
    page = vol.get(f"/volunteers/shifts/{shift}", headers=EN).text
    assert "Correct the minutes" in page
    no_reason = vol.post(
        f"/volunteers/shifts/{shift}/minutes", data={"signup": signup["id"], "minutes": "95"}, headers=EN
    )
    assert no_reason.status_code == 422 and "Give a reason" in no_reason.text
    assert signups(shift)[0]["minutes"] == 0
    ok = vol.post(
        f"/volunteers/shifts/{shift}/minutes",
        data={"signup": signup["id"], "minutes": "95", "reason": "手机没电，19:35 离开"},
    )
    assert ok.status_code == 303
    row = signups(shift)[0]
    assert (row["minutes"], row["minutes_reason"], row["attendance"]) == (95, "手机没电，19:35 离开", "present")
    [event] = run(AuditEvent.select().where(AuditEvent.action == "correct_minutes"))
    changes = event["changes"] if isinstance(event["changes"], dict) else json.loads(event["changes"])
    assert changes["minutes"] == [0, 95] and changes["reason"] == [None, "手机没电，19:35 离开"]
    assert kinds(me) == ["attendance_confirmed"]
    # Marking "present" again keeps the corrected minutes and tells nobody twice.
    vol.post(f"/volunteers/shifts/{shift}/attendance", data={"signup": signup["id"], "attendance": "present"})
    assert signups(shift)[0]["minutes"] == 95 and kinds(me) == ["attendance_confirmed"]
    as_person(vol, me)
    mine = vol.get(f"/volunteers/shifts/{shift}", headers=EN).text
    assert "The leader corrected your time to 1 h 35 min: 手机没电，19:35 离开" in mine


def test_attendance_confirmed_tells_the_volunteer_in_the_same_write(vol):
    officer = demo_person("officer")
    me = make_volunteer("子")
    shift = make_shift(timedelta(hours=-3), hours=1, leader=officer)
    run(ShiftSignup.insert(ShiftSignup(shift=shift, person=me, status="confirmed")))
    [signup] = signups(shift)
    sign_in(vol, "officer")
    vol.post(f"/volunteers/shifts/{shift}/attendance", data={"signup": signup["id"], "attendance": "no_show"})
    assert kinds(me) == []  # a no-show is not a confirmation
    vol.post(f"/volunteers/shifts/{shift}/attendance", data={"signup": signup["id"], "attendance": "present"})
    [note] = run(Notification.select().where(Notification.person == me))
    assert (note["kind"], note["url"]) == ("attendance_confirmed", f"/volunteers/shifts/{shift}")
    as_person(vol, me)
    listed = vol.get("/notifications", headers=EN).text
    assert "The leader confirmed your attendance on a patrol" in listed


def _served(me: int, leader: int, ago: timedelta, minutes_in: int, confirm: bool, monkeypatch, vol) -> int:
    shift = make_shift(-ago, hours=2, leader=leader)
    run(ShiftSignup.insert(ShiftSignup(shift=shift, person=me, status="confirmed")))
    start = start_of(shift)
    as_person(vol, me)
    monkeypatch.setattr(volunteers.common, "now", lambda: start + timedelta(minutes=2))
    vol.post(f"/volunteers/shifts/{shift}/check-in", data={})
    monkeypatch.setattr(volunteers.common, "now", lambda: start + timedelta(minutes=2 + minutes_in))
    vol.post(f"/volunteers/shifts/{shift}/check-out")
    if confirm:
        sign_in(vol, "officer")
        signup = signups(shift)[0]["id"]
        vol.post(f"/volunteers/shifts/{shift}/attendance", data={"signup": signup, "attendance": "present"})
    monkeypatch.undo()
    return shift


def test_the_certificate_counts_confirmed_shifts_with_their_actual_times_and_a_number_per_issue(vol, monkeypatch):
    officer = demo_person("officer")
    me = make_volunteer("赵志愿")
    confirmed = _served(me, officer, timedelta(days=2), 97, True, monkeypatch, vol)
    _served(me, officer, timedelta(days=1), 30, False, monkeypatch, vol)  # not confirmed yet
    as_person(vol, me)
    hours = vol.get("/volunteers/hours", headers=EN).text
    assert "Shifts waiting for the leader to confirm them: 1." in hours and "Not confirmed yet" in hours
    first = vol.post("/volunteers/hours/certificate", data={})
    assert first.status_code == 303
    code = first.headers["location"].rsplit("/", 1)[1]
    page = vol.get(first.headers["location"]).text
    start = start_of(confirmed).astimezone(SHANGHAI)
    actual = f"{start + timedelta(minutes=2):%H:%M}–{start + timedelta(minutes=99):%H:%M}"
    assert actual in page and "1 小时 37 分钟" in page  # the real times, not the planned 2 hours
    assert '<strong class="cert-hours">1 小时 37 分钟</strong>' in page and "<strong>1</strong> 次" in page
    assert code in page and f"/v/{code}" in page
    again = vol.post("/volunteers/hours/certificate", data={})
    assert again.headers["location"] != first.headers["location"]  # each issue its own number
    rows = run(VolunteerCertificate.select().order_by(VolunteerCertificate.id))
    assert [(r["person"], r["minutes"], r["served"]) for r in rows] == [(me, 97, 1), (me, 97, 1)]
    assert len({r["code"] for r in rows}) == 2
    assert [e["action"] for e in run(AuditEvent.select().where(AuditEvent.object_type == "volunteer_certificate"))] == [
        "issue",
        "issue",
    ]
    # Only the holder and their officers open it; another volunteer gets 404, and may not issue one.
    as_person(vol, make_volunteer("钱旁观"))
    assert vol.get(f"/volunteers/certificates/{code}").status_code == 404
    assert vol.post("/volunteers/hours/certificate", data={"person": str(me)}).status_code == 404
    assert run(VolunteerCertificate.count()) == 2


def test_the_public_check_page_shows_the_masked_name_hours_and_date_only(vol, monkeypatch):
    officer = demo_person("officer")
    me = make_volunteer("赵志愿")
    _served(me, officer, timedelta(days=2), 97, True, monkeypatch, vol)
    as_person(vol, me)
    code = vol.post("/volunteers/hours/certificate", data={}).headers["location"].rsplit("/", 1)[1]
    issued = run(VolunteerCertificate.select().first())["issued_at"].astimezone(SHANGHAI)
    vol.http.cookies.delete("qianmo_session")  # anyone, signed out
    page = vol.get(f"/v/{code.lower()}", headers=EN)
    assert page.status_code == 200
    assert "赵*愿" in page.text and "赵志愿" not in page.text and "1 h 37 min" in page.text
    assert f"{issued.day} {issued:%B} {issued.year}" in page.text
    assert "紫薇园东门" not in page.text and "1390000" not in page.text and "黄河派出所" not in page.text
    unknown = vol.get("/v/ZZZZZZZZZZ", headers=EN)
    assert unknown.status_code == 404 and "No certificate has the number ZZZZZZZZZZ" in unknown.text
    assert vol.get("/v/not-a-code").status_code == 404


def test_the_public_check_page_is_rate_limited(vol, settings):
    with client_with(settings, track_per_minute=2, track_address_per_minute=3) as phone:
        phone.get("/volunteer/register")  # any page: the browser gets its key
        assert [phone.get("/v/ZZZZZZZZZZ").status_code for _ in range(3)] == [404, 404, 429]  # this browser's
        limited = phone.get("/v/ZZZZZZZZZZ", headers=EN)
        assert limited.status_code == 429 and "Too many look-ups" in limited.text
        phone.http.cookies.clear()  # a neighbour's phone on the same address
        assert [phone.get("/v/ZZZZZZZZZZ").status_code for _ in range(2)] == [404, 429]


def test_a_registration_replayed_after_an_officer_decided_returns_the_first(vol):
    form = registration(client_uuid=str(uuid.uuid4()))
    assert vol.post("/volunteer/register", data=form).status_code == 200
    [first] = run(VolunteerApplication.select())
    assert first["client_uuid"] == form["client_uuid"]
    decided = VolunteerApplication.update({VolunteerApplication.status: "declined"})  # an officer decided
    run(decided.where(VolunteerApplication.id == first["id"]))
    replay = vol.post("/volunteer/register", data=form, headers={REPLAY_HEADER: "1", **EN})
    assert replay.status_code in (200, 201)
    plain = vol.post("/volunteer/register", data=form)
    assert plain.status_code == 200
    assert run(VolunteerApplication.count()) == 1
    assert [e["action"] for e in run(AuditEvent.select().where(AuditEvent.object_type == "volunteer_application"))] == [
        "create"
    ]
    # Without a client id (an old page) nothing is stored and the form says why.
    stale = vol.post("/volunteer/register", data={**registration(phone="13700000077"), "client_uuid": ""}, headers=EN)
    assert stale.status_code == 422 and "This form is out of date" in stale.text
    assert run(VolunteerApplication.count()) == 1


def test_the_register_page_carries_a_client_id(vol):
    page = vol.get("/volunteer/register").text
    value = re.search(r'name="client_uuid" value="([^"]*)"', page).group(1)
    assert uuid.UUID(value)


# --- overdue work orders -------------------------------------------------------------------------


def _order(assignee: int, due_in: timedelta) -> int:
    from app.services.auth import now

    rows = run(
        WorkOrder.insert(
            WorkOrder(
                rule="manual",
                rule_key="manual:x",
                title="泰和花园 一地多起",
                state="assigned",
                assignee=assignee,
                due_at=now() + due_in,
            )
        ).returning(WorkOrder.id)
    )
    return rows[0]["id"]


def test_an_overdue_work_order_tells_its_assignee_once_per_missed_due_time(vol):
    officer = demo_person("officer")
    late = _order(officer, timedelta(hours=-1))
    _order(officer, timedelta(hours=1))  # not due yet
    run(WorkOrder.update({WorkOrder.state: "closed"}).where(WorkOrder.id == _order(officer, timedelta(hours=-1))))
    run(jobs.run_due())
    run(jobs.run_due())  # the next round tells nobody again
    notes = run(Notification.select().where(Notification.kind == "work_order_overdue"))
    assert [(n["person"], n["url"]) for n in notes] == [(officer, f"/orders/{late}")]
    # A new step with its own due time, missed too: told again, once.
    from app.services.auth import now

    run(WorkOrder.update({WorkOrder.due_at: now() - timedelta(minutes=5)}).where(WorkOrder.id == late))
    run(orders.tell_overdue())
    run(orders.tell_overdue())
    assert run(Notification.count().where(Notification.kind == "work_order_overdue")) == 2
    assert run(AuditEvent.count().where(AuditEvent.action == "overdue_notice")) == 2


TELL = (
    "import asyncio; from app.services import orders, routing; "
    "print(asyncio.run(orders.tell_overdue()) + asyncio.run(routing.tell_overdue()))"
)


def test_two_processes_tell_an_overdue_assignee_once(vol):
    officer = demo_person("officer")
    _order(officer, timedelta(hours=-1))
    env = {**os.environ, "PICCOLO_CONF": "piccolo_conf"}
    runs = [
        subprocess.Popen([sys.executable, "-c", TELL], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    told = sorted(int(p.communicate(timeout=120)[0].strip().splitlines()[-1]) for p in runs)
    assert told == [0, 1]
    assert run(Notification.count().where(Notification.kind == "work_order_overdue")) == 1


def test_an_overdue_report_tells_whoever_handles_it_once_per_missed_deadline(vol):
    from app.services import notifications, routing
    from app.tables import Report
    from tests.integration.test_routing import matter_id, report

    report(vol, "environment")  # a rule sends it to 城管 at once
    report_id = matter_id()
    row = run(Report.select().where(Report.id == report_id).first())
    staff = run(notifications.agency_staff(row["responsible_agency"]))
    assert staff
    assert run(routing.tell_overdue(row["accept_due"] - timedelta(minutes=1))) == 0  # not yet
    late = row["accept_due"] + timedelta(hours=1)
    assert [run(routing.tell_overdue(late)), run(routing.tell_overdue(late))] == [1, 0]
    notes = run(Notification.select().where(Notification.kind == "report_overdue"))
    assert sorted(n["person"] for n in notes) == staff and {n["url"] for n in notes} == {f"/agency/{report_id}"}
    # Accepted by one of them: the deadline to finish, missed too, is news for them alone.
    accepted = {Report.agency_state: "accepted", Report.assignee: staff[0]}
    run(Report.update(accepted).where(Report.id == report_id))
    assert run(routing.tell_overdue(row["finish_due"] + timedelta(hours=1))) == 1
    assert run(Notification.count().where(Notification.kind == "report_overdue")) == len(staff) + 1
    last = run(Notification.select().order_by(Notification.id, ascending=False).first())
    assert (last["kind"], last["person"]) == ("report_overdue", staff[0])


def test_a_new_volunteer_lands_on_their_shifts_after_creating_a_passkey(vol):
    from tests.integration.test_access import invite, register
    from tests.soft_authenticator import SoftAuthenticator

    volunteer = make_volunteer("新人")
    sign_in(vol, "admin")
    path = invite(vol, volunteer)
    vol.post("/signout")
    answer = register(vol, path, SoftAuthenticator())
    assert answer.status_code == 200 and answer.json() == {"redirect": "/volunteers/my"}
