"""An application or an officer never reaches someone else's account: the volunteer form with
an existing person's phone, the invitation policy in the service layer, and the
administrator's link of the volunteer role to an existing person (no invitation)."""

from __future__ import annotations

import json
import re
import uuid

import pytest

from app.services import audit, auth
from app.tables import AuditEvent, Grid, Invitation, Passkey, Person, PersonRole, VolunteerApplication
from tests.conftest import Browserless, run
from tests.soft_authenticator import SoftAuthenticator

ADMIN_PHONE = "13805270008"  # the demo administrator's


def person_with(role: str) -> int:
    return run(PersonRole.select(PersonRole.person).where(PersonRole.role == role).first())["person"]


def grid_id(code: str) -> int:
    return run(Grid.select(Grid.id).where(Grid.code == code).first())["id"]


def as_person(client: Browserless, person_id: int) -> None:
    client.http.cookies.delete("qianmo_session")
    client.http.cookies.set("qianmo_session", run(auth.start_session(person_id)).token)


def apply(client: Browserless, phone: str, grid: str = "TH-03", name: str = "冒名者") -> int:
    client.http.cookies.delete("qianmo_session")
    response = client.post(
        "/volunteer/register",
        data={
            "name": name,
            "phone": phone,
            "grids": [str(grid_id(grid))],
            "availability": ["evenings"],
            "consent": "yes",
            "client_uuid": str(uuid.uuid4()),  # the form's own id (a replay is answered by the first)
        },
    )
    assert response.status_code == 200
    return run(VolunteerApplication.select(VolunteerApplication.id).where(VolunteerApplication.name == name).first())[
        "id"
    ]


def roles_of(person_id: int) -> list[tuple]:
    rows = run(PersonRole.select().where(PersonRole.person == person_id).order_by(PersonRole.id))
    return [(r["role"], r["station"], r["office"], r["grid"], r["agency"]) for r in rows]


def invitation_link(page: str) -> str:
    return re.search(r"<code>[^<]*(/invite/[^<]+)</code>", page).group(1)


@pytest.fixture
def vol(client, demo):
    return client


def test_an_application_with_the_admins_phone_never_reaches_the_admin(vol):
    admin = person_with("admin")
    admin_roles = roles_of(admin)
    app_id = apply(vol, "138 0527 0008")  # typed differently: still the admin's number
    as_person(vol, person_with("officer"))
    page = vol.get(f"/volunteers/applications/{app_id}")
    assert "此号码属于已有人员：管理员" in page.text  # said plainly, before any decision
    assert "作为新的独立人员批准" in page.text
    # Approving as if it were anyone (an old page, a crafted post): refused, nothing written.
    refused = vol.post(f"/volunteers/applications/{app_id}/approve", data={"grids": [str(grid_id("TH-03"))]})
    assert refused.status_code == 422 and "此号码属于已有人员：管理员" in refused.text
    assert run(VolunteerApplication.select().where(VolunteerApplication.id == app_id).first())["status"] == "pending"
    assert run(Invitation.count()) == 0 and run(Person.count().where(Person.phone == ADMIN_PHONE)) == 1
    # What the page offers: a new, separate person with an invitation of their own.
    approved = vol.post(
        f"/volunteers/applications/{app_id}/approve", data={"grids": [str(grid_id("TH-03"))], "separate": "1"}
    )
    assert approved.status_code == 200
    assert run(Invitation.count().where(Invitation.person == admin)) == 0
    assert roles_of(admin) == admin_roles
    applicant = run(VolunteerApplication.select().where(VolunteerApplication.id == app_id).first())["person"]
    assert applicant != admin and roles_of(applicant) == [("volunteer", None, None, grid_id("TH-03"), None)]
    event = run(
        AuditEvent.select().where((AuditEvent.action == "approve") & (AuditEvent.object_id == str(app_id))).first()
    )
    changes = event["changes"] if isinstance(event["changes"], dict) else json.loads(event["changes"])
    assert changes["separate_from"] == [None, [admin]]
    # The applicant's link signs them in as themselves, with a volunteer's rights only.
    vol.http.cookies.delete("qianmo_session")
    path = invitation_link(approved.text)
    started = vol.post(f"{path}/options", json={}).json()
    done = vol.post(
        f"{path}/verify",
        json={"credential": SoftAuthenticator().create(started["options"]), "challenge": started["challenge"]},
    )
    assert done.status_code == 200
    me = vol.get("/me").text
    assert "冒名者" in me and "管理员" not in me.split("<main", 1)[1].split("</main>")[0]
    assert vol.get("/admin/api-keys").status_code == 403
    assert run(Passkey.count().where(Passkey.person == admin)) == 0


def test_the_officer_sees_the_plain_message_in_english_too(vol):
    app_id = apply(vol, ADMIN_PHONE)
    as_person(vol, person_with("officer"))
    vol.http.cookies.set("qianmo_locale", "en")
    page = vol.get(f"/volunteers/applications/{app_id}").text
    assert "This number belongs to an existing person: 管理员" in page
    assert "Approve as a new, separate person" in page


def test_an_administrator_links_the_role_to_the_existing_person_without_an_invitation(vol):
    volunteer = person_with("volunteer")
    phone = run(Person.select(Person.phone).where(Person.id == volunteer).first())["phone"]
    app_id = apply(vol, phone, grid="TH-01", name="老志愿者")
    # An officer cannot link: the link is the administrator's.
    as_person(vol, person_with("officer"))
    assert (
        vol.post(
            f"/people/{volunteer}/volunteer-link", data={"application": str(app_id), "grids": [str(grid_id("TH-01"))]}
        ).status_code
        == 403
    )
    as_person(vol, person_with("admin"))
    page = vol.get(f"/people/{volunteer}")
    assert "使用此手机号的志愿者申请" in page.text and "老志愿者" in page.text
    # Only the person whose phone the application names, and only the offered grids.
    other = person_with("grid_worker")
    others_roles = roles_of(other)
    wrong = vol.post(
        f"/people/{other}/volunteer-link", data={"application": str(app_id), "grids": [str(grid_id("TH-01"))]}
    )
    assert wrong.status_code == 422
    bad_grid = vol.post(
        f"/people/{volunteer}/volunteer-link", data={"application": str(app_id), "grids": [str(grid_id("GH-01"))]}
    )
    assert bad_grid.status_code == 422 and "请从列表中选择" in bad_grid.text
    assert run(VolunteerApplication.select().where(VolunteerApplication.id == app_id).first())["status"] == "pending"
    before = roles_of(volunteer)
    linked = vol.post(
        f"/people/{volunteer}/volunteer-link", data={"application": str(app_id), "grids": [str(grid_id("TH-01"))]}
    )
    assert linked.status_code == 303 and linked.headers["location"] == f"/people/{volunteer}?done=linked"
    assert roles_of(volunteer) == before + [("volunteer", None, None, grid_id("TH-01"), None)]
    assert roles_of(other) == others_roles
    assert run(Invitation.count()) == 0
    row = run(VolunteerApplication.select().where(VolunteerApplication.id == app_id).first())
    assert (row["status"], row["person"], row["decided_by"]) == ("approved", volunteer, person_with("admin"))
    assert run(AuditEvent.count().where((AuditEvent.action == "link") & (AuditEvent.object_id == str(app_id)))) == 1
    assert "志愿者角色已添加" in vol.get(f"/people/{volunteer}?done=linked").text


# --- the invitation policy, in the service layer ------------------------------------------------


def test_only_an_administrator_invites_a_person_who_has_an_account(demo, settings):
    admin, officer = person_with("admin"), person_with("officer")
    officer_actor = audit.Actor(id=officer, role="officer")
    with pytest.raises(auth.InvitationRefused):
        run(auth.issue_invitation(admin, settings, officer_actor))
    # The actor's role is read from the database, not believed.
    with pytest.raises(auth.InvitationRefused):
        run(auth.issue_invitation(admin, settings, audit.Actor(id=officer, role="admin")))
    for nobody in (audit.SYSTEM, audit.Actor(id=None, role="public")):
        with pytest.raises(auth.InvitationRefused):
            run(auth.issue_invitation(officer, settings, nobody))
    assert run(Invitation.count()) == 0
    assert run(AuditEvent.count().where(AuditEvent.action == "refuse_invitation")) == 4
    # A person with only a passkey (their roles removed) is an account too.
    run(PersonRole.delete().where(PersonRole.person == officer))
    run(Passkey.insert(Passkey(person=officer, credential_id="x", public_key="y")))
    with pytest.raises(auth.InvitationRefused):
        run(auth.issue_invitation(officer, settings, officer_actor))
    # The administrator and the operator's command line may; anyone may invite a new, empty person.
    assert "/invite/" in run(auth.issue_invitation(admin, settings, audit.Actor(id=admin, role="admin")))
    assert "/invite/" in run(auth.issue_invitation(admin, settings, audit.OPERATOR))
    fresh = run(Person.insert(Person(name="新人", phone="13900000001")).returning(Person.id))[0]["id"]
    assert "/invite/" in run(auth.issue_invitation(fresh, settings, officer_actor))
    # A deactivated administrator no longer invites.
    run(Person.update({Person.active: False}).where(Person.id == admin))
    with pytest.raises(auth.InvitationRefused):
        run(auth.issue_invitation(person_with("grid_worker"), settings, audit.Actor(id=admin, role="admin")))
