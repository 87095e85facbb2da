"""Volunteers end to end through HTTP and the service: registration (limits, honeypot), the
approval queue, shifts and series, sign-up with the waiting list and its promotion, the
last-place race, the check-in window, attendance and no-shows, lazy closing, hours across
midnight, observations on My day, the export, and scoping. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from litestar.testing import AsyncTestClient

from app.domain.access import Principal
from app.main import create_app
from app.services import alerts, auth, jobs, ratelimit, volunteers
from app.tables import (
    AuditEvent,
    Grid,
    Invitation,
    Notification,
    Observation,
    PatrolShift,
    Person,
    PersonRole,
    ShiftSignup,
    VolunteerApplication,
)
from tests.conftest import Browserless, client_with, run


def grid_id(code: str) -> int:
    return run(Grid.select(Grid.id).where(Grid.code == code).first())["id"]


def utcnow() -> datetime:
    return datetime.now(UTC)


def make_volunteer(name: str, grid_code: str = "TH-03") -> int:
    grid = grid_id(grid_code)

    async def create() -> int:
        rows = await Person.insert(Person(name=name, phone=f"1390000{len(name):04d}")).returning(Person.id)
        await PersonRole.insert(PersonRole(person=rows[0]["id"], role="volunteer", grid=grid))
        return rows[0]["id"]

    return run(create())


def make_shift(
    starts_in: timedelta,
    hours: float = 2,
    max_volunteers: int = 4,
    grid_code: str = "TH-03",
    leader: int | None = None,
    **extra,
) -> int:
    start = utcnow() + starts_in
    gid = grid_id(grid_code)
    rows = run(
        PatrolShift.insert(
            PatrolShift(
                grid=gid,
                grids=f",{gid},",
                route="泰和路—紫薇园",
                meeting_point="紫薇园东门",
                starts_at=start,
                ends_at=start + timedelta(hours=hours),
                min_volunteers=1,
                max_volunteers=max_volunteers,
                leader=leader,
                **extra,
            )
        ).returning(PatrolShift.id)
    )
    return rows[0]["id"]


def principal_of(person_id: int) -> Principal:
    async def load() -> Principal:
        from app.domain.access import principal_from_rows

        person = await Person.select().where(Person.id == person_id).first()
        roles = await PersonRole.select().where(PersonRole.person == person_id)
        return principal_from_rows(person, roles)

    return run(load())


def as_person(client: Browserless, person_id: int) -> int:
    """Sign in as anyone (a fresh session cookie), not only as the demo people."""
    client.http.cookies.delete("qianmo_session")
    client.http.cookies.set("qianmo_session", run(auth.start_session(person_id)).token)
    return person_id


def sign_in(client: Browserless, role: str) -> int:
    return as_person(client, demo_person(role))


def signups(shift_id: int) -> list[dict]:
    return run(ShiftSignup.select().where(ShiftSignup.shift == shift_id).order_by(ShiftSignup.id))


def demo_person(role: str) -> int:
    return run(PersonRole.select(PersonRole.person).where(PersonRole.role == role).first())["person"]


@pytest.fixture
def vol(client, demo):
    return client


# --- registration and approval ---------------------------------------------------------------


def registration(**extra) -> dict:
    return {
        "name": "赵志愿",
        "phone": "139 1234 5678",
        "grids": [str(grid_id("TH-03"))],
        "availability": ["evenings", "weekends"],
        "skills": ["first_aid"],
        "consent": "yes",
        "client_uuid": str(uuid.uuid4()),
        **extra,
    }


def test_registration_is_received_checked_and_limited(vol, settings):
    page = vol.get("/volunteer/register")
    assert page.status_code == 200 and "紫薇网格" in page.text
    bad = vol.post("/volunteer/register", data=registration(consent="", phone="abc", availability=[]))
    assert bad.status_code == 422
    assert "赵志愿" in bad.text  # the input is kept
    assert run(VolunteerApplication.count()) == 0
    ok = vol.post("/volunteer/register", data=registration())
    assert ok.status_code == 200 and ("已收到" in ok.text or "received" in ok.text)
    [row] = run(VolunteerApplication.select())
    assert (row["phone"], row["status"], row["availability"]) == ("13912345678", "pending", ",evenings,weekends,")
    # The same phone again waits as one application; a honeypot fill stores nothing.
    vol.post("/volunteer/register", data=registration())
    vol.post("/volunteer/register", data=registration(phone="13800000000", website="http://spam"))
    assert run(VolunteerApplication.count()) == 1
    # Five an hour from one browser; the sixth is refused with a clear message.
    for i in range(3):
        assert vol.post("/volunteer/register", data=registration(phone=f"1370000000{i}")).status_code == 200
    refused = vol.post("/volunteer/register", data=registration(phone="13700000009"))
    assert refused.status_code == 429 and "一小时" in refused.text
    assert run(VolunteerApplication.count()) == 4


def test_the_201st_registration_of_the_day_is_held_and_the_applicant_sees_received(vol, settings):
    """Past the day's cap a flood must not shut the form: the application is stored, held apart
    for the officers, and the applicant sees the usual page."""
    first = vol.post("/volunteer/register", data=registration(name="钱早到", phone="13700000001"))
    assert first.status_code == 200
    for _ in range(settings.volunteer_register_per_day - 1):  # the rest of the day's 200, from elsewhere
        run(ratelimit.allow("volunteer_register:all", settings.volunteer_register_per_day, timedelta(days=1)))
    vol.http.cookies.clear()  # another person's phone
    late = vol.post("/volunteer/register", data=registration(name="孙晚到", phone="13700000201"))
    assert late.status_code == 200 and "已收到" in late.text
    assert run(
        VolunteerApplication.select(VolunteerApplication.name, VolunteerApplication.held).order_by(
            VolunteerApplication.id
        )
    ) == [{"name": "钱早到", "held": False}, {"name": "孙晚到", "held": True}]
    sign_in(vol, "officer")
    queue = vol.get("/volunteers/applications").text
    assert queue.index("钱早到") < queue.index("报名激增期间收到") < queue.index("孙晚到")
    held_id = run(
        VolunteerApplication.select(VolunteerApplication.id).where(VolunteerApplication.held.eq(True)).first()
    )["id"]
    assert "请仔细核实" in vol.get(f"/volunteers/applications/{held_id}").text


def test_past_an_addresses_hour_registrations_are_held_not_refused(settings, demo):
    """A recruitment drive in an estate's hall: everyone on one Wi-Fi, each on their own phone."""
    with client_with(settings, volunteer_register_address_per_hour=2) as hall:
        answers = []
        for i in range(4):
            hall.http.cookies.clear()
            answers.append(hall.post("/volunteer/register", data=registration(phone=f"1370000010{i}")).status_code)
    assert answers == [200] * 4
    held = run(VolunteerApplication.select(VolunteerApplication.held).order_by(VolunteerApplication.id))
    assert [r["held"] for r in held] == [False, False, True, True]


def test_a_registration_larger_than_a_form_is_refused(vol):
    response = vol.post("/volunteer/register", data=registration(skills_note="x" * 20000))
    assert response.status_code == 413
    assert run(VolunteerApplication.count()) == 0


def test_an_officer_approves_and_the_applicant_gets_an_invitation(vol, settings):
    vol.post("/volunteer/register", data=registration())
    app_id = run(VolunteerApplication.select().first())["id"]
    officer = sign_in(vol, "officer")  # 泰和 office: TH grids
    queue = vol.get("/volunteers/applications")
    assert "赵志愿" in queue.text and "139****5678" in queue.text and "13912345678" not in queue.text
    shown = vol.get(f"/volunteers/applications/{app_id}?reveal=true")
    assert "13912345678" in shown.text
    approved = vol.post(f"/volunteers/applications/{app_id}/approve", data={"grids": [str(grid_id("TH-03"))]})
    assert approved.status_code == 200
    link = re.search(r"<code>([^<]+/invite/[^<]+)</code>", approved.text).group(1)
    assert "<svg" in approved.text  # the QR code
    person = run(Person.select().where(Person.phone == "13912345678").first())
    roles = run(PersonRole.select().where(PersonRole.person == person["id"]))
    assert [(r["role"], r["grid"]) for r in roles] == [("volunteer", grid_id("TH-03"))]
    assert run(Invitation.count().where(Invitation.person == person["id"])) == 1
    assert vol.get(link.replace(settings.public_base_url, "")).status_code == 200
    # Twice is refused; declining now too; both decisions audited once.
    again = vol.post(f"/volunteers/applications/{app_id}/approve", data={"grids": [str(grid_id("TH-03"))]})
    assert again.status_code == 422
    events = run(AuditEvent.select().where(AuditEvent.object_type == "volunteer_application"))
    assert [(e["action"], e["actor_id"]) for e in events if e["action"] != "view_personal_data"] == [
        ("create", None),
        ("approve", officer),
    ]


def test_decline_needs_a_reason_and_other_stations_do_not_see_the_queue(vol):
    vol.post("/volunteer/register", data=registration(grids=[str(grid_id("GH-01"))]))
    app_id = run(VolunteerApplication.select().first())["id"]
    sign_in(vol, "officer")  # 邵韦杰 holds the 泰和 office; the demo station holds both offices
    no_reason = vol.post(f"/volunteers/applications/{app_id}/decline", data={"reason": ""})
    assert no_reason.status_code == 422
    declined = vol.post(f"/volunteers/applications/{app_id}/decline", data={"reason": "联系不上"})
    assert declined.status_code == 303
    assert run(VolunteerApplication.select().first())["status"] == "declined"
    # A volunteer is not an officer: no queue.
    as_person(vol, demo_person("volunteer"))
    assert vol.get("/volunteers/applications").status_code == 403


# --- shifts: sign-up, waiting list, promotion ----------------------------------------------------


def test_waiting_list_is_promoted_when_a_place_is_given_back(vol, settings):
    shift = make_shift(timedelta(days=2), max_volunteers=1)
    first, second = make_volunteer("甲"), make_volunteer("乙")
    as_person(vol, first)
    assert vol.post(f"/volunteers/shifts/{shift}/signup").headers["location"].endswith("done=signed_up")
    as_person(vol, second)
    assert vol.post(f"/volunteers/shifts/{shift}/signup").headers["location"].endswith("done=waiting")
    page = vol.get(f"/volunteers/shifts/{shift}")
    assert "候补" in page.text and "1" in page.text
    twice = vol.post(f"/volunteers/shifts/{shift}/signup")
    assert twice.status_code == 422 and "已报名" in twice.text
    as_person(vol, first)
    assert vol.post(f"/volunteers/shifts/{shift}/withdraw").status_code == 303
    rows = signups(shift)
    assert [(r["person"], r["status"]) for r in rows] == [(first, "cancelled"), (second, "confirmed")]
    assert rows[1]["promoted_at"] is not None
    assert run(AuditEvent.count().where(AuditEvent.action == "promote")) == 1


def test_sign_up_window_overlap_and_cancel_limit(vol, settings):
    me = make_volunteer("丙")
    as_person(vol, me)
    too_early = make_shift(timedelta(days=20))
    response = vol.post(f"/volunteers/shifts/{too_early}/signup")
    assert response.status_code == 422 and "报名将于" in response.text
    started = make_shift(timedelta(minutes=-10))
    assert "已经开始" in vol.post(f"/volunteers/shifts/{started}/signup").text
    a = make_shift(timedelta(days=3), hours=3)
    b = make_shift(timedelta(days=3, hours=2), hours=2)  # starts before a ends
    c = make_shift(timedelta(days=3, hours=3), hours=1)  # starts when a ends: fine
    assert vol.post(f"/volunteers/shifts/{a}/signup").status_code == 303
    clash = vol.post(f"/volunteers/shifts/{b}/signup")
    assert clash.status_code == 422 and "时间冲突" in clash.text
    assert vol.post(f"/volunteers/shifts/{c}/signup").status_code == 303
    soon = make_shift(timedelta(hours=5))
    assert vol.post(f"/volunteers/shifts/{soon}/signup").status_code == 303
    late = vol.post(f"/volunteers/shifts/{soon}/withdraw")
    assert late.status_code == 422 and "带队人" in late.text
    cancelled = make_shift(timedelta(days=1), cancelled_at=utcnow(), cancel_reason="下雨")
    assert "已取消" in vol.post(f"/volunteers/shifts/{cancelled}/signup").text
    assert len([r for r in run(ShiftSignup.select()) if r["status"] == "confirmed"]) == 3


def test_the_last_place_goes_to_exactly_one_of_two_simultaneous_requests(demo, db, settings):
    """Concurrent HTTP requests: one place left, five volunteers at once -> one place, four waiting."""
    shift = make_shift(timedelta(days=1), max_volunteers=2)
    taken = make_volunteer("已报名")
    run(ShiftSignup.insert(ShiftSignup(shift=shift, person=taken, status="confirmed")))
    people = [make_volunteer(f"抢{i}") for i in range(5)]
    tokens = [run(auth.start_session(p)).token for p in people]

    async def scenario() -> list[int]:
        async with AsyncTestClient(app=create_app(settings), base_url="http://testserver.local") as http:
            await http.get("/offline")
            csrf = http.cookies["qianmo_csrf"]
            http.cookies.clear()  # each request carries its own person's cookies

            async def sign_up(token: str) -> int:
                r = await http.post(
                    f"/volunteers/shifts/{shift}/signup",
                    follow_redirects=False,
                    headers={"x-csrftoken": csrf, "cookie": f"qianmo_csrf={csrf}; qianmo_session={token}"},
                )
                return r.status_code

            return await asyncio.gather(*(sign_up(t) for t in tokens))

    assert run(scenario()) == [303] * 5
    rows = [r for r in signups(shift) if r["person"] in people]
    assert sorted(r["status"] for r in rows) == ["confirmed", "waiting", "waiting", "waiting", "waiting"]


def test_the_last_place_race_in_concurrent_transactions(demo, db, settings):
    """The service called at the same moment from one event loop (on PostgreSQL each call has
    its own connection and transaction): exactly max places."""
    shift = make_shift(timedelta(days=1), max_volunteers=3)
    people = [principal_of(make_volunteer(f"并发{i}")) for i in range(8)]

    async def scenario():
        return await asyncio.gather(*(volunteers.sign_up(p, shift, settings) for p in people))

    outcomes = run(scenario())
    assert all(o.ok for o in outcomes)
    assert sorted(o.status for o in outcomes).count("confirmed") == 3
    assert run(ShiftSignup.count().where((ShiftSignup.shift == shift) & (ShiftSignup.status == "confirmed"))) == 3


# --- on the spot ---------------------------------------------------------------------------------


def test_check_in_window_check_out_and_hours(vol, settings, monkeypatch):
    me = make_volunteer("丁")
    shift = make_shift(timedelta(minutes=40), hours=2)
    run(ShiftSignup.insert(ShiftSignup(shift=shift, person=me, status="confirmed")))
    as_person(vol, me)
    early = vol.post(f"/volunteers/shifts/{shift}/check-in", data={})
    assert early.status_code == 422 and "太早" in early.text
    start = run(PatrolShift.select().where(PatrolShift.id == shift).first())["starts_at"]
    monkeypatch.setattr(volunteers.common, "now", lambda: start + timedelta(minutes=31))
    late = vol.post(f"/volunteers/shifts/{shift}/check-in", data={})
    assert late.status_code == 422 and "太晚" in late.text
    monkeypatch.setattr(volunteers.common, "now", lambda: start - timedelta(minutes=30))  # the edge is inside
    ok = vol.post(f"/volunteers/shifts/{shift}/check-in", data={"lat": "33.9405", "lon": "118.3010", "accuracy": "12"})
    assert ok.status_code == 303
    again = vol.post(f"/volunteers/shifts/{shift}/check-in", data={})
    assert again.status_code == 422 and "已于" in again.text
    monkeypatch.setattr(volunteers.common, "now", lambda: start + timedelta(hours=2, seconds=5))
    assert vol.post(f"/volunteers/shifts/{shift}/check-out").status_code == 303
    [row] = signups(shift)
    assert row["check_in_lat"] == pytest.approx(33.9405, abs=1e-4)  # a float4 on PostgreSQL
    assert row["minutes"] == 151  # 2 h 30 min 5 s -> 151 started minutes
    hours = vol.get("/volunteers/hours")
    assert "2 小时 31 分钟" in hours.text
    events = [e["action"] for e in run(AuditEvent.select().where(AuditEvent.object_type == "patrol_shift"))]
    assert events == ["check_in", "check_out"]


def test_after_checking_out_the_shift_shows_as_done_not_open_for_check_in(vol, monkeypatch):
    me = make_volunteer("丁二")
    shift = make_shift(timedelta(minutes=20), hours=1)
    run(ShiftSignup.insert(ShiftSignup(shift=shift, person=me, status="confirmed")))
    as_person(vol, me)
    start = run(PatrolShift.select().where(PatrolShift.id == shift).first())["starts_at"]
    monkeypatch.setattr(volunteers.common, "now", lambda: start - timedelta(minutes=10))
    assert "现在可以签到" in vol.get("/volunteers/my").text
    assert vol.post(f"/volunteers/shifts/{shift}/check-in", data={}).status_code == 303
    monkeypatch.setattr(volunteers.common, "now", lambda: start + timedelta(minutes=5))  # left early, window open
    assert vol.post(f"/volunteers/shifts/{shift}/check-out").status_code == 303
    card = vol.get("/volunteers/my", headers={"Accept-Language": "en"}).text.split(f"/volunteers/shifts/{shift}")[1]
    card = card.split("</li>")[0]
    assert "Done: " in card and "0 h 15 min" in card and "Check-in is open" not in card and "On patrol" not in card


def test_a_cancel_limit_that_has_passed_is_said_to_have_passed(vol, settings):
    me = make_volunteer("丁三")
    shift = make_shift(timedelta(hours=settings.cancel_hours - 2))  # the limit passed two hours ago
    as_person(vol, me)
    page = vol.get(f"/volunteers/shifts/{shift}", headers={"Accept-Language": "en"}).text
    assert "the limit" in page and "has passed" in page and "You can cancel until" not in page
    assert vol.post(f"/volunteers/shifts/{shift}/signup").status_code in (200, 303)
    page = vol.get(f"/volunteers/shifts/{shift}", headers={"Accept-Language": "en"}).text
    assert "It is too late to cancel here" in page and "Please tell the shift leader" in page
    assert "Possible until" not in page and "Cancel my sign-up" not in page


def test_hours_across_midnight_and_the_certificate(vol, settings, monkeypatch):
    me = make_volunteer("戊")
    # A night patrol 22:00-02:00 Shanghai time, in the past.
    from zoneinfo import ZoneInfo

    day = (datetime.now(ZoneInfo("Asia/Shanghai")) - timedelta(days=3)).date()
    create = {
        "day": day.isoformat(),
        "start": "22:00",
        "end": "02:00",
        "grids": [str(grid_id("TH-03"))],
        "route": "夜巡",
        "meeting_point": "紫薇园东门",
        "min_volunteers": "1",
        "max_volunteers": "3",
    }
    sign_in(vol, "officer")
    refused = vol.post("/volunteers/shifts/new", data=create)
    assert refused.status_code == 422 and "过去" in refused.text  # a shift cannot be created in the past
    future = (datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=2)).date()
    assert vol.post("/volunteers/shifts/new", data={**create, "day": future.isoformat()}).status_code == 303
    shift = run(PatrolShift.select().first())
    assert shift["ends_at"] - shift["starts_at"] == timedelta(hours=4)
    assert shift["starts_at"].astimezone(ZoneInfo("Asia/Shanghai")).hour == 22
    run(ShiftSignup.insert(ShiftSignup(shift=shift["id"], person=me, status="confirmed")))
    start = shift["starts_at"]
    as_person(vol, me)
    monkeypatch.setattr(volunteers.common, "now", lambda: start - timedelta(minutes=5))
    vol.post(f"/volunteers/shifts/{shift['id']}/check-in", data={})
    monkeypatch.setattr(volunteers.common, "now", lambda: start + timedelta(hours=4, minutes=10))
    vol.post(f"/volunteers/shifts/{shift['id']}/check-out")
    assert signups(shift["id"])[0]["minutes"] == 4 * 60 + 15
    sign_in(vol, "officer")  # the officer of the grid confirms: the certificate counts confirmed shifts
    signup = signups(shift["id"])[0]["id"]
    vol.post(f"/volunteers/shifts/{shift['id']}/attendance", data={"signup": signup, "attendance": "present"})
    as_person(vol, me)
    monkeypatch.setattr(volunteers.common, "now", lambda: start + timedelta(days=1))
    issued = vol.post(
        "/volunteers/hours/certificate",
        data={"since": future.isoformat(), "until": (future + timedelta(days=1)).isoformat()},
    )
    page = vol.get(issued.headers["location"])
    assert "志愿服务时长证明" in page.text and "4 小时 15 分钟" in page.text and "黄河派出所" in page.text
    assert "戊" in page.text
    # The certificate is the person's own: another volunteer's id answers 404.
    other = make_volunteer("己")
    assert vol.post("/volunteers/hours/certificate", data={"person": str(other)}).status_code == 404


def test_leader_marks_no_show_and_a_forgotten_check_out_is_closed_and_flagged(vol, settings, monkeypatch):
    officer = demo_person("officer")
    present, absent, forgetful = make_volunteer("庚"), make_volunteer("辛"), make_volunteer("壬")
    shift = make_shift(timedelta(hours=-3), hours=1, leader=officer)  # ended 2 h ago
    for p in (present, absent, forgetful):
        run(ShiftSignup.insert(ShiftSignup(shift=shift, person=p, status="confirmed")))
    start = run(PatrolShift.select().where(PatrolShift.id == shift).first())["starts_at"]
    run(
        ShiftSignup.update({ShiftSignup.check_in_at: start - timedelta(minutes=2)}).where(
            ShiftSignup.person == forgetful
        )
    )
    sign_in(vol, "officer")
    assert vol.get(f"/volunteers/shifts/{shift}").status_code == 200
    assert not signups(shift)[2]["auto_closed"]  # reading writes nothing
    run(jobs.run_due())  # what each app process does every minute
    page = vol.get(f"/volunteers/shifts/{shift}")
    rows = {r["person"]: r for r in signups(shift)}
    assert rows[forgetful]["auto_closed"] and rows[forgetful]["minutes"] == 62
    assert rows[forgetful]["check_out_at"] == rows[forgetful]["check_out_at"].replace()  # set
    assert "未签退" in page.text
    ids = {p: r["id"] for p, r in rows.items()}
    assert (
        vol.post(
            f"/volunteers/shifts/{shift}/attendance", data={"signup": ids[absent], "attendance": "no_show"}
        ).status_code
        == 303
    )
    assert (
        vol.post(
            f"/volunteers/shifts/{shift}/attendance", data={"signup": ids[present], "attendance": "present"}
        ).status_code
        == 303
    )
    rows = {r["person"]: r for r in signups(shift)}
    assert (rows[absent]["attendance"], rows[absent]["minutes"]) == ("no_show", 0)
    assert (rows[present]["attendance"], rows[present]["minutes"]) == ("present", 60)
    hub = vol.get("/volunteers")
    assert "壬" in hub.text  # still flagged until the leader confirms
    vol.post(f"/volunteers/shifts/{shift}/attendance", data={"signup": ids[forgetful], "attendance": "present"})
    assert "壬" not in vol.get("/volunteers").text
    # A volunteer may not mark anyone.
    as_person(vol, present)
    refused = vol.post(f"/volunteers/shifts/{shift}/attendance", data={"signup": ids[absent], "attendance": "present"})
    assert refused.status_code == 422
    assert signups(shift)[1]["attendance"] == "no_show"
    # Totals per grid and month, and the CSV export with a BOM and masked phones.
    sign_in(vol, "officer")
    totals = vol.get("/volunteers/hours")
    assert "紫薇网格" in totals.text and "2 小时 2 分钟" in totals.text
    export = vol.get("/volunteers/hours/export.csv")
    assert export.content.startswith("\ufeff".encode())
    lines = list(csv.reader(io.StringIO(export.text.lstrip("\ufeff"))))
    assert lines[0][:2] == ["month", "grid"] and len(lines) == 4
    assert all("*" in line[5] for line in lines[1:])


# --- observations ----------------------------------------------------------------------------------


def kinds_of(person: int) -> list[str]:
    return [n["kind"] for n in run(Notification.select(Notification.kind).where(Notification.person == person))]


def test_an_urgent_observation_reaches_my_day_and_notifies_the_grids_officer(vol, settings):
    me = make_volunteer("癸")
    shift = make_shift(timedelta(minutes=5))
    run(ShiftSignup.insert(ShiftSignup(shift=shift, person=me, status="confirmed")))
    as_person(vol, me)
    before = vol.post(f"/volunteers/shifts/{shift}/observations", data={"client_uuid": str(uuid.uuid4()), "note": "x"})
    assert before.status_code == 422  # not checked in yet
    vol.post(f"/volunteers/shifts/{shift}/check-in", data={})
    note = {"client_uuid": str(uuid.uuid4()), "note": "两人在紫薇园东门争吵，快要动手", "urgent": "1"}
    assert vol.post(f"/volunteers/shifts/{shift}/observations", data=note).status_code == 303
    assert vol.post(f"/volunteers/shifts/{shift}/observations", data=note).status_code == 303  # a resend
    [row] = run(Observation.select())
    [officer] = run(alerts.chain_for(grid_id("TH-03"))).at(0)
    assert row["urgent"] and kinds_of(officer) == ["observation"]  # once, though sent twice
    sign_in(vol, "officer")
    day = vol.get("/field")
    assert "快要动手" in day.text and "urgent-box" in day.text
    vol.post(f"/volunteers/observations/{row['id']}/acknowledge")
    assert "快要动手" not in vol.get("/field").text
    assert kinds_of(me) == ["observation_acknowledged"]
    # The grid worker of another grid's My day does not show it.
    sign_in(vol, "grid_worker")
    assert "快要动手" not in vol.get("/field").text


# --- scoping -----------------------------------------------------------------------------------------


def test_a_volunteer_sees_only_their_grids_shifts_and_their_own_record(vol, settings):
    mine = make_shift(timedelta(days=1), grid_code="TH-03")
    other = make_shift(timedelta(days=1, hours=3), grid_code="GH-01")
    me, neighbour = make_volunteer("子", "TH-03"), make_volunteer("丑", "GH-01")
    as_person(vol, me)
    listing = vol.get("/volunteers/shifts").text
    assert f"/volunteers/shifts/{mine}" in listing and f"/volunteers/shifts/{other}" not in listing
    assert vol.get(f"/volunteers/shifts/{other}").status_code == 404
    assert vol.post(f"/volunteers/shifts/{other}/signup").status_code == 404
    assert run(ShiftSignup.count()) == 0
    assert vol.get(f"/volunteers/hours?person={neighbour}").status_code == 404
    assert vol.get("/volunteers/hours").status_code == 200
    assert vol.get("/volunteers/hours/export.csv").status_code == 403
    assert vol.get("/volunteers/people").status_code == 403
    # The roster (names of others) is for the leader and officers only.
    run(ShiftSignup.insert(ShiftSignup(shift=mine, person=make_volunteer("寅"), status="confirmed")))
    page = vol.get(f"/volunteers/shifts/{mine}").text
    assert "寅" not in page and "1/4" in page


def test_a_series_is_created_and_edited_after_sign_ups(vol, settings):
    from zoneinfo import ZoneInfo

    sign_in(vol, "officer")
    day = (datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=1)).date()
    data = {
        "day": day.isoformat(),
        "start": "19:00",
        "end": "21:00",
        "grids": [str(grid_id("TH-03"))],
        "route": "紫薇园一圈",
        "meeting_point": "东门",
        "min_volunteers": "1",
        "max_volunteers": "2",
        "weeks": "3",
    }
    assert vol.post("/volunteers/shifts/new", data=data).status_code == 303
    shifts = run(PatrolShift.select().order_by(PatrolShift.starts_at))
    assert len(shifts) == 3 and len({s["series"] for s in shifts}) == 1
    assert [s["starts_at"] - shifts[0]["starts_at"] for s in shifts] == [
        timedelta(0),
        timedelta(weeks=1),
        timedelta(weeks=2),
    ]
    volunteer = make_volunteer("卯")
    for s in shifts:
        run(
            ShiftSignup.insert(
                ShiftSignup(
                    shift=s["id"], person=volunteer, status="confirmed", created_at=utcnow() - timedelta(minutes=1)
                )
            )
        )
    edit = {**data, "start": "19:30", "end": "21:30", "meeting_point": "西门", "with_series": "1"}
    edit.pop("weeks")
    too_small = vol.post(f"/volunteers/shifts/{shifts[0]['id']}/edit", data={**edit, "max_volunteers": "0"})
    assert too_small.status_code == 422
    assert vol.post(f"/volunteers/shifts/{shifts[0]['id']}/edit", data=edit).status_code == 303
    after = run(PatrolShift.select().order_by(PatrolShift.starts_at))
    tz = ZoneInfo("Asia/Shanghai")
    assert [(s["starts_at"].astimezone(tz).strftime("%H:%M"), s["meeting_point"]) for s in after] == [
        ("19:30", "西门")
    ] * 3
    assert all(s["changed_at"] for s in after)
    as_person(vol, volunteer)
    my = vol.get("/volunteers/my").text
    assert my.count("已变更") == 3
    sign_in(vol, "officer")
    cancel = vol.post(f"/volunteers/shifts/{shifts[1]['id']}/cancel", data={"reason": "台风", "with_series": "1"})
    assert cancel.status_code == 303
    assert [bool(s["cancelled_at"]) for s in run(PatrolShift.select().order_by(PatrolShift.starts_at))] == [
        False,
        True,
        True,
    ]
    as_person(vol, volunteer)
    assert vol.get("/volunteers/my").text.count("台风") == 2


def test_a_new_leader_or_size_alone_does_not_tell_volunteers_to_check_again(vol, settings):
    from zoneinfo import ZoneInfo

    sign_in(vol, "officer")
    day = (datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=1)).date()
    data = {
        "day": day.isoformat(),
        "start": "19:00",
        "end": "21:00",
        "grids": [str(grid_id("TH-03"))],
        "route": "紫薇园一圈",
        "meeting_point": "东门",
        "min_volunteers": "1",
        "max_volunteers": "2",
    }
    assert vol.post("/volunteers/shifts/new", data=data).status_code == 303
    shift = run(PatrolShift.select().first())
    volunteer = make_volunteer("辰")
    run(
        ShiftSignup.insert(
            ShiftSignup(
                shift=shift["id"], person=volunteer, status="confirmed", created_at=utcnow() - timedelta(minutes=1)
            )
        )
    )
    assert vol.post(f"/volunteers/shifts/{shift['id']}/edit", data={**data, "max_volunteers": "4"}).status_code == 303
    assert run(PatrolShift.select().first())["max_volunteers"] == 4
    as_person(vol, volunteer)
    assert "已变更" not in vol.get("/volunteers/my").text  # same time, same place: nothing to re-check
    sign_in(vol, "officer")
    new_leader = {**data, "max_volunteers": "4", "leader": str(demo_person("officer"))}
    assert vol.post(f"/volunteers/shifts/{shift['id']}/edit", data=new_leader).status_code == 303
    assert run(PatrolShift.select().first())["leader"] == demo_person("officer")
    as_person(vol, volunteer)
    assert "已变更" not in vol.get("/volunteers/my").text  # a new leader alone: nothing to re-check
    assert not run(Notification.exists().where(Notification.kind == "shift_changed"))
    sign_in(vol, "officer")
    assert (
        vol.post(
            f"/volunteers/shifts/{shift['id']}/edit", data={**data, "max_volunteers": "4", "meeting_point": "西门"}
        ).status_code
        == 303
    )
    as_person(vol, volunteer)
    assert "已变更" in vol.get("/volunteers/my").text


def test_an_observation_photo_is_re_encoded_and_shown_only_to_those_who_may_see_it(vol, settings):
    import io

    from PIL import Image

    me, stranger = make_volunteer("辰"), make_volunteer("巳", "GH-01")
    shift = make_shift(timedelta(minutes=5))
    run(ShiftSignup.insert(ShiftSignup(shift=shift, person=me, status="confirmed")))
    as_person(vol, me)
    vol.post(f"/volunteers/shifts/{shift}/check-in", data={})
    out = io.BytesIO()
    Image.new("RGB", (2400, 1800), (10, 200, 30)).save(out, "JPEG")
    sent = vol.post(
        f"/volunteers/shifts/{shift}/observations",
        data={"client_uuid": str(uuid.uuid4()), "note": "路灯坏了"},
        files={"photo": ("p.jpg", out.getvalue(), "image/jpeg")},
    )
    assert sent.status_code == 303
    [row] = run(Observation.select())
    assert row["photo"] and not row["urgent"]
    photo = vol.get(f"/volunteers/photos/{row['photo']}")
    assert photo.status_code == 200 and Image.open(io.BytesIO(photo.content)).size == (1600, 1200)
    sign_in(vol, "officer")
    assert vol.get(f"/volunteers/photos/{row['photo']}").status_code == 200
    assert "路灯坏了" in vol.get(f"/volunteers/observations/{row['id']}").text
    as_person(vol, stranger)
    assert vol.get(f"/volunteers/photos/{row['photo']}").status_code == 404
    assert vol.get(f"/volunteers/observations/{row['id']}").status_code == 404
    assert vol.get(f"/field/photos/{row['photo']}").status_code in (403, 404)  # not a field log's photo


def test_the_shift_list_shows_a_volunteer_the_shifts_of_their_grids_and_no_others(vol):
    """Read from the database by the person's grids (a city has thousands a month), not all."""
    sign_in(vol, "volunteer")  # 李明, a volunteer of TH-03
    own = make_shift(timedelta(days=2))
    shared = make_shift(timedelta(days=3), grid_code="GH-01")
    both = f",{grid_id('GH-01')},{grid_id('TH-03')},"
    run(PatrolShift.update({PatrolShift.grids: both}).where(PatrolShift.id == shared))
    other = make_shift(timedelta(days=4), grid_code="GH-01")
    page = vol.get("/volunteers/shifts").text
    assert f'/volunteers/shifts/{own}"' in page and f'/volunteers/shifts/{shared}"' in page
    assert f'/volunteers/shifts/{other}"' not in page
