"""The server side of the offline outbox: GET /csrf (a fresh token for replays) and the
/outbox page's shell. The queue itself lives in the phone's IndexedDB and is tested in
tests/browser/test_outbox.py."""

from __future__ import annotations

import re

CSRF = "qianmo_csrf"


def test_csrf_without_a_session_names_nobody(client, demo):
    # A signed-out phone replays only the public forms' entries (issue #15).
    response = client.get("/csrf", follow_redirects=False)
    assert response.status_code == 200
    assert response.json()["person"] is None and response.json()["token"]


def test_csrf_token_validates_a_following_post(client, demo):
    person = client.sign_in_as("officer")
    http = client.http
    # A replay may come long after the page was loaded: the cookie may be gone by then.
    http.cookies.delete(CSRF)
    response = http.get("/csrf")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    data = response.json()
    assert data["person"] == person
    token = data["token"]
    assert re.fullmatch(r"[0-9a-f]{128}", token), token
    assert http.cookies.get(CSRF), "the answer sets the cookie the token belongs to"

    # The token in the form field (as a replayed multipart body carries it) is accepted ...
    accepted = http.post("/signout", data={"_csrf_token": token}, follow_redirects=False)
    assert accepted.status_code == 303, accepted.text
    assert accepted.headers["location"] == "/signin"


def test_csrf_token_in_the_header_and_a_stale_token(client, demo):
    client.sign_in_as("officer")
    http = client.http
    stale = http.get("/csrf").json()["token"]
    # The browser lost its CSRF cookie (restart): the token saved with a queued post is refused ...
    http.cookies.delete(CSRF)
    http.get("/offline")  # any page load sets a new cookie
    refused = http.post(
        "/me/passkeys/999999/label", data={"label": "x"}, headers={"x-csrftoken": stale}, follow_redirects=False
    )
    assert refused.status_code == 403
    # ... and a token fetched now is accepted (404: past CSRF and the guard, no such passkey).
    fresh = http.get("/csrf").json()["token"]
    assert fresh != stale
    passed = http.post(
        "/me/passkeys/999999/label", data={"label": "x"}, headers={"x-csrftoken": fresh}, follow_redirects=False
    )
    assert passed.status_code == 404


def test_the_same_token_while_the_cookie_lasts(client, demo):
    client.sign_in_as("grid_worker")
    first = client.http.get("/csrf").json()["token"]
    second = client.http.get("/csrf").json()["token"]
    assert first == second == client.http.cookies[CSRF]


def test_outbox_page_in_chinese(client, demo):
    person = client.sign_in_as("officer")
    page = client.get("/outbox")
    assert page.status_code == 200
    html = page.text
    assert "<h1>待发送</h1>" in html or "<h1>Waiting to send</h1>" in html  # until the catalogue has it
    assert f'data-person="{person}"' in html
    assert 'id="outbox-list"' in html and 'id="outbox-item"' in html
    assert "data-outbox-badge" in html and 'href="/outbox"' in html
    assert "<script>" not in html and "style=" not in html  # CSP: nothing inline


def test_outbox_page_without_a_session(client, demo):
    # A resident's report queued without signal is listed there, on a phone nobody signed in on.
    response = client.get("/outbox", follow_redirects=False)
    assert response.status_code == 200
    assert 'data-person=""' in response.text and 'id="outbox-list"' in response.text


def test_signed_out_pages_carry_no_person(client, demo):
    html = client.get("/").text
    assert 'data-person=""' in html
    assert 'data-offline-urls=""' in html


# --- a replay as the service worker sends it ---------------------------------------------------


def _replay(http, token: str, fields: dict[str, str]):
    """multipart/form-data like the worker's FormData, with the fresh token in field and header."""
    files = {name: (None, value) for name, value in {**fields, "_csrf_token": token}.items()}
    return http.post(
        "/field/contacts/new",
        files=files,
        follow_redirects=False,
        headers={"X-Outbox-Replay": "1", "x-csrftoken": token, "Accept": "application/json"},
    )


def _contact(client_uuid: str, **extra: str) -> dict[str, str]:
    return {"client_uuid": client_uuid, "subject_kind": "resident", "note": "replayed", **extra}


def test_a_replay_twice_creates_one_record_and_a_refusal_is_json(client, demo):
    import uuid

    from app.tables import FieldLog
    from tests.conftest import run

    client.sign_in_as("officer")
    http = client.http
    place = http.get("/field/contacts/new").text
    match = re.search(r'<option value="(\d+|grid:\d+)"', place)
    assert match, "the contact form lists no place"
    token = http.get("/csrf").json()["token"]
    fields = _contact(str(uuid.uuid4()), place=match.group(1))

    first = _replay(http, token, fields)
    assert first.status_code in (200, 201), first.text
    body = first.json()
    assert body["ok"] is True and body["url"] == f"/field/logs/{body['id']}"
    again = _replay(http, token, fields)
    assert again.status_code in (200, 201) and again.json()["id"] == body["id"]
    assert run(FieldLog.count().where(FieldLog.client_uuid == fields["client_uuid"])) == 1

    refused = _replay(http, token, _contact(str(uuid.uuid4()), place=match.group(1), follow_up_on="2000-01-01"))
    assert refused.status_code == 422
    data = refused.json()
    assert data["ok"] is False and data["message"] and "follow_up_on" in data["errors"]
