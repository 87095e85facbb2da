"""People and access: invitations, passkeys, sessions, scoping, audit."""

import json
from datetime import datetime, timedelta, timezone

import pytest

from app.tables import AuditEvent, Invitation, Passkey, Person, PersonRole, Place, UserSession
from tests.conftest import run
from tests.soft_authenticator import SoftAuthenticator


def person_with(role: str) -> int:
    return run(PersonRole.select(PersonRole.person).where(PersonRole.role == role).first())["person"]


def invite(client, person_id: int) -> str:
    """As the administrator: a new invitation link for the person (the path part)."""
    page = client.post(f"/people/{person_id}/invitation")
    assert page.status_code == 200
    link = page.text.split("<code>")[1].split("</code>")[0]
    assert link.startswith("http://localhost:8000/invite/")
    return link.removeprefix("http://localhost:8000")


def register(client, path: str, key: SoftAuthenticator):
    started = client.post(f"{path}/options", json={}).json()
    return client.post(
        f"{path}/verify",
        json={"credential": key.create(started["options"]), "challenge": started["challenge"], "label": "测试手机"},
    )


def passkey_sign_in(client, key: SoftAuthenticator, **kw):
    started = client.post("/signin/options", json={}).json()
    assert json.loads(started["options"]).get("allowCredentials", []) == []  # no user name needed
    return client.post(
        "/signin/verify",
        json={"credential": key.get(started["options"], **kw), "challenge": started["challenge"], "next": "/area"},
    )


@pytest.fixture
def officer_with_passkey(admin):
    """The demo officer, invited by the admin, with a registered software passkey; admin signed out."""
    officer = person_with("officer")
    path = invite(admin, officer)
    admin.post("/signout")
    key = SoftAuthenticator()
    response = register(admin, path, key)
    assert response.status_code == 200 and response.json() == {"redirect": "/me?welcome=1"}
    admin.post("/signout")
    return officer, key, path


def test_invitation_registers_a_passkey_and_then_sign_in_needs_no_user_name(admin, officer_with_passkey):
    officer, key, _path = officer_with_passkey
    client = admin
    assert client.get("/me", follow_redirects=False).status_code == 303
    response = passkey_sign_in(client, key)
    assert response.status_code == 200 and response.json() == {"redirect": "/area"}
    me = client.get("/me").text
    assert "邵韦杰" in me and "测试手机" in me
    stored = run(Passkey.select().where(Passkey.person == officer).first())
    assert stored["sign_count"] == 1 and stored["transports"] == "internal"


def test_an_invitation_works_once(admin, officer_with_passkey):
    _officer, _key, path = officer_with_passkey
    page = admin.get(path)
    assert page.status_code == 410 and "此邀请链接已被使用" in page.text
    refused = admin.post(f"{path}/options", json={})
    assert refused.status_code == 410 and "已被使用" in refused.json()["error"]


def test_an_expired_invitation_says_so(admin):
    path = invite(admin, person_with("grid_worker"))
    run(
        Invitation.update({Invitation.expires_at: datetime.now(timezone.utc) - timedelta(minutes=1)}).where(
            Invitation.used_at.is_null()
        )
    )
    page = admin.get(path)
    assert page.status_code == 410 and "此邀请链接已过期" in page.text
    assert "此邀请链接无效" in admin.get("/invite/not-a-real-token").text


def test_a_new_invitation_cancels_the_previous_one(admin):
    person = person_with("grid_worker")
    first = invite(admin, person)
    invite(admin, person)
    assert "已被使用" in admin.get(first).text


def test_a_revoked_passkey_can_no_longer_sign_in(admin, officer_with_passkey):
    _officer, key, _path = officer_with_passkey
    passkey_sign_in(admin, key)
    passkey_id = run(Passkey.select(Passkey.id).first())["id"]
    assert admin.post(f"/me/passkeys/{passkey_id}/revoke").status_code == 303
    assert "已吊销" in admin.get("/me").text
    admin.post("/signout")
    response = passkey_sign_in(admin, key)
    assert response.status_code == 400 and response.json()["error"] == "此通行密钥未在本系统注册。"


def test_a_passkey_whose_counter_goes_backwards_is_refused_and_audited(admin, officer_with_passkey):
    _officer, key, _path = officer_with_passkey
    assert passkey_sign_in(admin, key, sign_count=5).status_code == 200
    admin.post("/signout")
    response = passkey_sign_in(admin, key, sign_count=3)
    assert response.status_code == 400 and "疑似被复制" in response.json()["error"]
    assert run(AuditEvent.count().where(AuditEvent.action == "passkey_sign_count_regressed")) == 1
    assert admin.get("/me", follow_redirects=False).status_code == 303


def test_renaming_a_passkey_and_another_persons_passkey_is_404(admin, officer_with_passkey):
    _officer, key, _path = officer_with_passkey
    passkey_sign_in(admin, key)
    passkey_id = run(Passkey.select(Passkey.id).first())["id"]
    admin.post(f"/me/passkeys/{passkey_id}/label", data={"label": "值班手机"})
    assert "值班手机" in admin.get("/me").text
    admin.post("/signout")
    admin.sign_in_as("grid_worker")
    assert admin.post(f"/me/passkeys/{passkey_id}/revoke").status_code == 404
    assert run(Passkey.select(Passkey.revoked_at).first())["revoked_at"] is None


def test_deactivating_a_person_throws_them_out_on_the_next_request(client, demo, settings):
    from litestar.testing import TestClient

    from app.main import create_app
    from tests.conftest import Browserless

    officer = client.sign_in_as("officer")
    assert client.get("/area").status_code == 200
    with TestClient(app=create_app(settings), base_url="http://testserver.local") as other:
        admin = Browserless(other)
        admin.sign_in_as("admin")
        assert admin.post(f"/people/{officer}/active", data={"active": "0"}).status_code == 303
    response = client.get("/area", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/signin")
    assert run(UserSession.count().where((UserSession.person == officer) & UserSession.revoked_at.is_null())) == 0


def test_lost_phone_revokes_passkeys_and_sessions_and_gives_a_new_link(admin, officer_with_passkey):
    officer, key, _path = officer_with_passkey
    passkey_sign_in(admin, key)
    admin.post("/signout")
    admin.sign_in_as("admin")
    page = admin.post(f"/people/{officer}/lost-phone")
    assert page.status_code == 200 and "<svg" in page.text and "/invite/" in page.text
    assert run(Passkey.count().where(Passkey.revoked_at.is_null())) == 0
    assert run(UserSession.count().where((UserSession.person == officer) & UserSession.revoked_at.is_null())) == 0


def test_sessions_end_after_idle_time_and_after_the_absolute_limit(client, demo):
    client.sign_in_as("officer")
    assert client.get("/area").status_code == 200
    now = datetime.now(timezone.utc)
    run(
        UserSession.update({UserSession.last_seen_at: now - timedelta(hours=12, minutes=1)}).where(
            UserSession.revoked_at.is_null()
        )
    )
    assert client.get("/area", follow_redirects=False).status_code == 303

    client.sign_in_as("officer")
    run(
        UserSession.update(
            {UserSession.created_at: now - timedelta(days=7, minutes=1), UserSession.last_seen_at: now}
        ).where(UserSession.revoked_at.is_null())
    )
    assert client.get("/area", follow_redirects=False).status_code == 303

    client.sign_in_as("officer")
    run(
        UserSession.update({UserSession.last_seen_at: now - timedelta(hours=11)}).where(
            UserSession.revoked_at.is_null()
        )
    )
    assert client.get("/area").status_code == 200


def test_sign_out_ends_the_session(client, demo):
    client.sign_in_as("officer")
    client.post("/signout")
    assert client.get("/area", follow_redirects=False).status_code == 303
    assert run(UserSession.count().where(UserSession.revoked_at.is_null())) == 0


def test_session_cookie_flags(client, demo, settings):
    response = client.post("/signin/demo", data={"person": str(person_with("officer"))})
    cookie = response.headers["set-cookie"]
    assert "qianmo_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # served over http in tests; https turns it on (test below)


def test_https_turns_on_secure_cookies(demo, settings):
    from dataclasses import replace

    from litestar.testing import TestClient

    from app.main import create_app
    from tests.conftest import Browserless

    https = replace(settings, public_base_url="https://qianmo.example")
    with TestClient(app=create_app(https), base_url="https://testserver.local") as http:
        client = Browserless(http)
        response = client.post("/signin/demo", data={"person": str(person_with("officer"))})
        assert "Secure" in response.headers["set-cookie"]


def test_sign_in_is_rate_limited_per_browser(client, demo):
    statuses = [client.post("/signin/options", json={}).status_code for _ in range(21)]
    assert statuses[:20] == [200] * 20 and statuses[20] == 429
    assert "尝试次数太多" in client.post("/signin/options", json={}).json()["error"]


def test_a_whole_shift_signs_in_from_one_stations_address(client, demo):
    """Behind the station's NAT every phone has the same address: each browser counts alone."""
    statuses = []
    for _ in range(30):
        client.http.cookies.clear()  # the next officer's phone
        statuses.append(client.post("/signin/options", json={}).status_code)
    assert statuses == [200] * 30


# --- unit scoping ----------------------------------------------------------------


def place_in_grid(code: str) -> int:
    from app.tables import Grid

    grid = run(Grid.select(Grid.id).where(Grid.code == code).first())["id"]
    return run(Place.select(Place.id).where(Place.grid == grid).first())["id"]


def test_a_grid_worker_sees_only_their_grids(client, demo):
    client.sign_in_as("grid_worker")  # 王艳荣, grid TH-04
    area = client.get("/area").text
    assert "泰和祥府" in area and "马赛公馆" not in area and "世纪紫薇园" not in area
    assert "小区 · 泰和路120号" in area  # the place's kind and address under its name
    assert client.get(f"/area/places/{place_in_grid('TH-04')}").status_code == 200
    assert client.get(f"/area/places/{place_in_grid('GH-03')}").status_code == 404


def test_an_officer_sees_their_stations_grids(client, demo):
    client.sign_in_as("officer")
    assert client.get(f"/area/places/{place_in_grid('GH-03')}").status_code == 200
    # A second station: its places are invisible (404) to the officer, visible to the admin.
    from app.tables import Bureau, Grid, Office, Station

    bureau = run(Bureau.select(Bureau.id).first())["id"]
    station = run(Station.insert(Station(bureau=bureau, name="运河派出所", code="YH")).returning(Station.id))[0]["id"]
    office = run(Office.insert(Office(station=station, name="运河警务室", code="YH-1")).returning(Office.id))[0]["id"]
    grid = run(Grid.insert(Grid(office=office, name="运河网格", code="YH-G1")).returning(Grid.id))[0]["id"]
    place = run(Place.insert(Place(grid=grid, name="运河小区", kind="estate")).returning(Place.id))[0]["id"]
    assert client.get(f"/area/places/{place}").status_code == 404
    assert "运河小区" not in client.get("/area").text
    client.sign_in_as("admin")
    assert client.get(f"/area/places/{place}").status_code == 200


def test_agency_staff_have_no_grids_and_no_people_pages(client, demo):
    client.sign_in_as("agency_staff")
    assert client.get("/area").status_code == 403
    assert client.get("/people").status_code == 403


# --- people pages and audit --------------------------------------------------------


def test_admin_creates_a_person_with_roles_and_gets_an_invitation(admin):
    from app.tables import Grid

    grid = run(Grid.select(Grid.id).where(Grid.code == "TH-01").first())["id"]
    response = admin.post(
        "/people/new",
        data={
            "name": "赵网格",
            "phone": "13900001111",
            "role_0": "grid_worker",
            "unit_0": f"grid:{grid}",
            "role_1": "volunteer",
            "unit_1": f"grid:{grid}",
            "qual_0": "social_worker",
            "qual_date_0": "2024-03-01",
        },
    )
    assert response.status_code == 200 and "邀请链接" in response.text and "<svg" in response.text
    person = run(Person.select().where(Person.name == "赵网格").first())
    roles = {r["role"] for r in run(PersonRole.select().where(PersonRole.person == person["id"]))}
    assert roles == {"grid_worker", "volunteer"}
    assert "139****1111" in response.text and "13900001111" not in response.text


def test_bad_person_input_is_answered_and_kept(admin):
    response = admin.post(
        "/people/new",
        data={
            "name": "",
            "phone": "abc",
            "role_0": "grid_worker",
            "unit_0": "",
            "qual_0": "social_worker",
            "qual_date_0": "2024-13-45",
        },
    )
    assert response.status_code == 422
    assert "请选择该角色所属的单位" in response.text and "不是有效的电话号码" in response.text
    assert "不是有效的日期" in response.text and 'value="abc"' in response.text
    assert run(Person.count().where(Person.phone == "abc")) == 0
    from app.tables import Agency

    agency = run(Agency.select(Agency.id).first())["id"]
    response = admin.post("/people/new", data={"name": "钱", "role_0": "grid_worker", "unit_0": f"agency:{agency}"})
    assert "该角色不能属于这类单位" in response.text


def test_people_list_masks_phones_and_filters_by_role(admin):
    page = admin.get("/people?role=officer").text
    assert "邵韦杰" in page and "胡飞" in page and "王艳荣" not in page
    assert "138****0001" in page and "13805270001" not in page


def test_revealing_a_phone_is_audited(admin):
    officer = person_with("officer")
    assert "13805270001" not in admin.get(f"/people/{officer}").text
    assert run(AuditEvent.count().where(AuditEvent.action == "view_personal_data")) == 0
    assert "13805270001" in admin.get(f"/people/{officer}?reveal=true").text
    event = run(AuditEvent.select().where(AuditEvent.action == "view_personal_data").first())
    assert event["object_id"] == str(officer) and event["actor_id"] == person_with("admin")


def test_supervisor_sees_qualification_counts(admin):
    officer = person_with("officer")
    form = {
        "name": "邵韦杰",
        "phone": "13805270001",
        "role_0": "officer",
        "unit_0": "office:"
        + str(run(PersonRole.select(PersonRole.office).where(PersonRole.person == officer).first())["office"]),
        "qual_0": "social_worker",
        "qual_date_0": "2024-05-20",
    }
    assert admin.post(f"/people/{officer}/edit", data=form).status_code == 303
    admin.post("/signout")
    admin.sign_in_as("supervisor")
    page = admin.get("/people/qualifications").text
    assert "社会工作者职业资格（社工师）" in page
    assert "<strong>1</strong><span>社会工作者职业资格（社工师）</span>" in page and "共 2 名民警" in page
    assert admin.get("/people/new").status_code == 403


def test_audit_log_filters_and_exports(admin):
    admin.post("/admin/org/agency/new", data={"name": "审计测试部门", "code": "AUD", "kind": "other"})
    page = admin.get("/admin/audit?object_type=agency&action=create").text
    assert "agency" in page and "审计测试部门" in page
    assert "<td>load_demo</td>" not in page and "<td>create</td>" in page
    bad = admin.get("/admin/audit?since=yesterday")
    assert bad.status_code == 200 and "不是有效的日期" in bad.text
    export = admin.get("/admin/audit/export.csv?object_type=agency")
    assert export.headers["content-type"].startswith("text/csv")
    assert "审计测试部门" in export.text and export.text.startswith("\ufeffid,at,")
    assert run(AuditEvent.count().where(AuditEvent.action == "export")) == 1


def test_first_admin_link_from_the_command_line(db, capsys, monkeypatch):
    from app.cli import main

    monkeypatch.setenv("QIANMO_PUBLIC_BASE_URL", "https://qianmo.example")
    main(["admin-link"])
    out = capsys.readouterr().out
    assert "https://qianmo.example/invite/" in out
    admin = run(PersonRole.select(PersonRole.person).where(PersonRole.role == "admin").first())
    assert admin is not None
    main(["admin-link"])
    assert run(PersonRole.count().where(PersonRole.role == "admin")) == 1  # no second admin invented
    assert run(Invitation.count().where(Invitation.used_at.is_null())) == 1  # the older link is void


def test_a_second_passkey_can_be_added_and_both_sign_in(admin, officer_with_passkey):
    officer, phone, _path = officer_with_passkey
    passkey_sign_in(admin, phone)
    tablet = SoftAuthenticator()
    started = admin.post("/me/passkeys/options", json={}).json()
    excluded = [c["id"] for c in json.loads(started["options"])["excludeCredentials"]]
    assert excluded == [run(Passkey.select(Passkey.credential_id).first())["credential_id"]]
    added = admin.post(
        "/me/passkeys/verify",
        json={"credential": tablet.create(started["options"]), "challenge": started["challenge"], "label": "平板"},
    )
    assert added.json() == {"redirect": "/me"}
    assert "平板" in admin.get("/me").text
    admin.post("/signout")
    assert passkey_sign_in(admin, tablet).status_code == 200
    assert run(Passkey.count().where(Passkey.person == officer)) == 2


def test_a_challenge_answers_only_once(admin, officer_with_passkey):
    _officer, key, _path = officer_with_passkey
    started = admin.post("/signin/options", json={}).json()
    credential = key.get(started["options"])
    assert (
        admin.post("/signin/verify", json={"credential": credential, "challenge": started["challenge"]}).status_code
        == 200
    )
    replay = admin.post("/signin/verify", json={"credential": credential, "challenge": started["challenge"]})
    assert replay.status_code == 400 and "超时" in replay.json()["error"]


@pytest.mark.parametrize(
    "role, lands",
    [
        ("officer", "/field"),
        ("grid_worker", "/field"),
        ("supervisor", "/field"),
        ("volunteer", "/volunteers/my"),
        ("agency_staff", "/agency"),
        ("analyst", "/"),
        ("admin", "/"),
    ],
)
def test_a_sign_in_without_a_page_asked_for_lands_where_the_role_works(client, demo, role, lands):
    person = run(PersonRole.select(PersonRole.person).where(PersonRole.role == role).first())["person"]
    signed_in = client.post("/signin/demo", data={"person": str(person), "next": "/"})
    assert signed_in.status_code == 303 and signed_in.headers["location"] == lands
    asked = client.post("/signin/demo", data={"person": str(person), "next": "/area"})
    assert asked.headers["location"] == "/area"  # a page asked for wins
