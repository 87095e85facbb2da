"""Public forms sent again by the offline outbox (issue #15): a resident's report and a
volunteer's registration made without signal wait on a phone nobody signed in on, and the
service worker replays them (X-Outbox-Replay, a fresh token from /csrf). The server answers
JSON, stores each exactly once (the report by its client UUID, the registration by its phone)
and hands back the tracking code. The phone's side is tests/browser/test_public_outbox.py."""

from __future__ import annotations

import uuid

import pytest

from app.services import report_lists
from app.tables import Grid, Report, ReportPhoto, ReportPoster, ReportReporter, VolunteerApplication
from tests.conftest import run
from tests.integration.test_reports import form, jpeg, place_named, poster_code

REPLAY = {"X-Outbox-Replay": "1", "Accept": "application/json"}


@pytest.fixture
def resident(client, demo):
    run(report_lists.ensure_categories())
    return client


def replay(client, url: str, fields: dict, photo: bytes | None = None):
    """What the worker sends: multipart, the token fetched from /csrf in field and header."""
    answer = client.http.get("/csrf")
    assert answer.status_code == 200 and answer.json()["person"] is None, answer.text
    token = answer.json()["token"]
    files: list = [(k, (None, v)) for k, vs in fields.items() for v in (vs if isinstance(vs, list) else [vs])]
    files.append(("_csrf_token", (None, token)))
    if photo:
        files.append(("photo", ("p.jpg", photo, "image/jpeg")))
    return client.http.post(url, files=files, headers={**REPLAY, "x-csrftoken": token}, follow_redirects=False)


def test_a_signed_out_phone_gets_a_token_and_the_outbox_page(resident):
    token = resident.http.get("/csrf")
    assert token.status_code == 200 and token.json()["person"] is None
    assert token.headers["cache-control"] == "no-store"
    page = resident.get("/outbox")
    assert page.status_code == 200 and 'id="outbox-receipts"' in page.text
    # Kept by the worker for offline use: public, so nothing says no-store.
    assert "no-store" not in page.headers.get("cache-control", "")


def test_a_report_replayed_twice_is_stored_once_with_its_photo_and_code(resident):
    code = poster_code(resident, place_named("泰和花园"))
    fields = form(outbox_public="1")
    first = replay(resident, f"/r/{code}", fields, photo=jpeg())
    assert first.status_code == 200, first.text
    data = first.json()
    assert data["ok"] is True and len(data["code"]) == 8 and data["url"].startswith(f"/t/{data['code']}?new=1&receipt=")
    again = replay(resident, f"/r/{code}", fields, photo=jpeg())  # the answer was lost: sent again
    assert again.status_code == 200 and again.json()["code"] == data["code"]
    assert run(Report.count()) == 1 and run(ReportReporter.count()) == 1 and run(ReportPhoto.count()) == 1
    [reporter] = run(ReportReporter.select())
    assert (reporter["tracking"], reporter["client_uuid"]) == (data["code"], fields["client_uuid"])
    # The receipt link works in this browser (the one the worker sent it from).
    track = resident.get(data["url"])
    assert track.status_code == 200 and data["code"] in track.text


def test_a_replay_beside_an_open_report_is_its_own_report_not_a_question(resident):
    code = poster_code(resident, place_named("泰和花园"))
    assert replay(resident, f"/r/{code}", form()).status_code == 200
    second = replay(resident, f"/r/{code}", form(description="又在装修，很吵"))
    assert second.status_code == 200 and second.json()["ok"] is True
    assert run(Report.count()) == 2


def test_a_refused_replay_names_the_field_and_a_retired_poster_says_so(resident):
    code = poster_code(resident, place_named("泰和花园"))
    refused = replay(resident, f"/r/{code}", form(description=""))
    assert refused.status_code == 422
    body = refused.json()
    assert body["ok"] is False and body["message"] and "description" in body["errors"]
    general = replay(resident, "/report", form(place=""))
    assert general.status_code == 422 and "place" in general.json()["errors"]
    assert run(Report.count()) == 0

    resident.sign_in_as("officer")
    poster = run(ReportPoster.select(ReportPoster.id).where(ReportPoster.code == code).first())["id"]
    assert resident.post(f"/admin/reports/poster-codes/{poster}/retire", data={"confirm": "1"}).status_code == 303
    resident.post("/signout")
    resident.http.cookies.clear()
    gone = replay(resident, f"/r/{code}", form())
    assert gone.status_code == 410 and gone.json()["message"]


def test_a_registration_replayed_twice_is_one_application(resident):
    grid = run(Grid.select(Grid.id).where(Grid.code == "TH-03").first())["id"]
    fields = {
        "client_uuid": str(uuid.uuid4()),
        "outbox_public": "1",
        "name": "赵志愿",
        "phone": "13912345678",
        "grids": [str(grid)],
        "availability": ["evenings"],
        "consent": "yes",
    }
    for _ in range(2):
        sent = replay(resident, "/volunteer/register", fields)
        assert sent.status_code == 200 and sent.json()["ok"] is True and sent.json()["message"], sent.text
    assert run(VolunteerApplication.count()) == 1
    # (Another form: the same client id is the same submission, answered as the first was.)
    other = {**fields, "client_uuid": str(uuid.uuid4()), "consent": "", "phone": "13900000000"}
    refused = replay(resident, "/volunteer/register", other)
    assert refused.status_code == 422 and "consent" in refused.json()["errors"]
