"""Every redirect whose target comes from input stays on this site: the sign-in page's next
(passkey and demo sign-in) and the language switch. The rule itself: tests/unit/test_redirects.py."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from app.tables import PersonRole
from tests.conftest import run
from tests.soft_authenticator import SoftAuthenticator

ESCAPES = [
    "/\t/evil.example",
    "/\n/evil.example",
    "//evil.example",
    "/\\evil.example",
    "https://evil.example/",
    "javascript:alert(1)",
    "/\u3000/evil.example",
]


@pytest.mark.parametrize("target", ESCAPES)
def test_the_signin_page_never_hands_the_script_another_site(client, demo, target):
    page = client.get(f"/signin?next={quote(target)}")
    assert page.status_code == 200
    assert page.text.count('data-next="/"') == 1
    assert 'name="next" value="/"' in page.text  # the demo buttons too
    assert "evil.example" not in page.text.split("<main", 1)[1]


def test_a_passkey_sign_in_with_a_tab_in_next_lands_on_the_officers_day(admin):
    person = run(PersonRole.select(PersonRole.person).where(PersonRole.role == "officer").first())["person"]
    link = admin.post(f"/people/{person}/invitation").text.split("<code>")[1].split("</code>")[0]
    path = link.removeprefix("http://localhost:8000")
    admin.post("/signout")
    key = SoftAuthenticator()
    started = admin.post(f"{path}/options", json={}).json()
    admin.post(f"{path}/verify", json={"credential": key.create(started["options"]), "challenge": started["challenge"]})
    admin.post("/signout")
    # A target that leaves the site is dropped: the officer lands where they work, My day.
    for target, expected in (
        ("/%09/evil.example".replace("%09", "\t"), "/field"),
        ("//evil.example", "/field"),
        ("/area", "/area"),
    ):
        started = admin.post("/signin/options", json={}).json()
        answer = admin.post(
            "/signin/verify",
            json={"credential": key.get(started["options"]), "challenge": started["challenge"], "next": target},
        )
        assert answer.status_code == 200 and answer.json() == {"redirect": expected}, target


@pytest.mark.parametrize("target", ESCAPES)
def test_demo_sign_in_and_the_language_switch_redirect_only_on_this_site(client, demo, target):
    person = run(PersonRole.select(PersonRole.person).where(PersonRole.role == "officer").first())["person"]
    signed_in = client.post("/signin/demo", data={"person": str(person), "next": target})
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/field"
    switched = client.get(f"/locale/en?next={quote(target)}", follow_redirects=False)
    assert switched.status_code == 303 and switched.headers["location"] == "/"
