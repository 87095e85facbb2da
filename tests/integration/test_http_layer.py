"""What the outer HTTP layer does for every route: response headers (HSTS when the public
address is https; a Content-Type that names its charset once, as Litestar adds one to every
text/* type itself) and the request log line, which names the route, never the path."""

from __future__ import annotations

import json
import logging
from dataclasses import replace

import pytest
from litestar import get
from litestar.params import FromPath
from litestar.testing import TestClient

from app.main import create_app
from app.services import report_lists
from tests.conftest import run

HSTS = "max-age=31536000; includeSubDomains"


def test_hsts_when_the_public_address_is_https_and_not_over_http(db, settings):
    https = replace(settings, public_base_url="https://qianmo.example.gov.cn")
    with TestClient(app=create_app(https), base_url="https://qianmo.example.gov.cn") as http:
        for path in ("/", "/no-such-page", "/static/css/app.css", "/sw.js", "/open311/v2/services.json"):
            assert http.get(path).headers.get("strict-transport-security") == HSTS, path
    with TestClient(app=create_app(settings), base_url="http://testserver.local") as http:
        assert "strict-transport-security" not in http.get("/").headers


def test_every_content_type_names_its_charset_once(client, demo):
    run(report_lists.ensure_categories())
    paths = (
        "/",
        "/no-such-page",
        "/offline",
        "/sw.js",
        "/static/manifest.webmanifest",
        "/static/icons/nav.svg",
        "/static/css/app.css",
        "/static/js/app.js",
        "/healthz",
        "/schema/openapi.json",
        "/open311/v2/services.xml",
        "/open311/v2/services.json",
        "/open311/v2/requests.xml",
        "/open311/v2/requests/nope.xml",
        "/api/v1/work-orders",
    )
    types = {path: client.get(path).headers["content-type"] for path in paths}
    assert {path: t for path, t in types.items() if t.count("charset") > 1} == {}
    assert types["/open311/v2/services.xml"] == "text/xml; charset=utf-8"
    assert types["/open311/v2/requests/nope.xml"] == "text/xml; charset=utf-8"  # an error in the spec's shape


def test_the_request_log_names_the_route_never_the_secret_in_the_path(client, demo, caplog):
    client.sign_in_as("analyst")
    requests = [  # (method, path, the pattern logged); the upper-case parts stand for secrets
        ("GET", "/invite/INVITESECRET0123456789", "/invite/{token}"),
        ("POST", "/invite/INVITESECRET0123456789/options", "/invite/{token}/options"),
        ("GET", "/t/TRACKSECRET", "/t/{code}"),
        ("POST", "/calls/import/IMPORTSECRET42", "/calls/import/{token}"),
        ("GET", "/field/logs/987654321", "/field/logs/{log_id}"),
        ("GET", "/static/NOFILESECRET.css", "/static/{file_path}"),
        ("GET", "/NOROUTESECRET/x", "(no route)"),
    ]
    with caplog.at_level(logging.INFO, logger="qianmo"):
        caplog.clear()
        for method, path, _pattern in requests:
            client.post(path, data={}) if method == "POST" else client.get(path)
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("qianmo")]
    logged = [json.loads(m)["path"] for m in ours if m.startswith("{")]
    assert logged == [pattern for _method, _path, pattern in requests]
    for secret in ("INVITESECRET", "TRACKSECRET", "IMPORTSECRET", "987654321", "NOFILESECRET", "NOROUTESECRET"):
        assert not any(secret in m for m in ours), secret


@pytest.fixture
def crashing(settings):
    """A client of an app with routes that fail (made before the test, so that the app's
    logging set-up does not remove pytest's log capture)."""

    @get("/boom/{token:str}", include_in_schema=False)
    async def boom(token: FromPath[str]) -> str:
        raise RuntimeError("broken")

    @get("/our-decode-bug", include_in_schema=False)
    async def decode_bug() -> str:
        return b"\xff".decode()

    app = create_app(settings)
    app.register(boom)
    app.register(decode_bug)
    with TestClient(app=app, base_url="http://testserver.local") as http:
        yield http


def test_a_crash_is_logged_with_its_route_not_its_path(crashing, caplog):
    with caplog.at_level(logging.ERROR):
        assert crashing.get("/boom/CRASHSECRET").status_code == 500
    [record] = [r for r in caplog.records if r.name == "qianmo.error"]
    assert record.getMessage() == "unhandled error on GET /boom/{token}"


# --- bodies that cannot be read: a 400 on every route, never a 500 -----------------------------

NOT_UTF8 = b'--XX\r\nContent-Disposition: form-data; name="note"\r\n\r\n\xff\xfe\xfa\r\n--XX--\r\n'
NO_SUCH_CHARSET = (
    b'--XX\r\nContent-Disposition: form-data; name="note"\r\n'
    b"Content-Type: text/plain; charset=x-nope\r\n\r\nabc\r\n--XX--\r\n"
)
MULTIPART = {"content-type": "multipart/form-data; boundary=XX"}
DEEP = "[" * 5000 + "]" * 5000


def test_a_form_that_is_not_utf8_is_a_400_page_in_the_users_language(admin):
    from app.tables import AuditEvent, Report

    before = run(AuditEvent.count())
    # Without the token header the CSRF check reads the form, before any route; with it, the
    # route (or its multipart parameter) does.
    token = {"x-csrftoken": admin.csrf()}
    cases = [(path, {}) for path in ("/report", "/admin/org/place/import", "/people/new", "/signout")]
    cases += [(path, token) for path in ("/report", "/admin/org/place/import")]
    for path, headers in cases:
        for body in (NOT_UTF8, NO_SUCH_CHARSET):
            response = admin.http.post(path, content=body, headers={**MULTIPART, **headers})
            assert response.status_code == 400, (path, body, headers)
            assert "请求有误" in response.text and "Traceback" not in response.text
    english = admin.http.post("/report", content=NOT_UTF8, headers={**MULTIPART, "Accept-Language": "en"})
    assert english.status_code == 400 and "Something in the request was not right" in english.text
    assert run(Report.count()) == 0 and run(AuditEvent.count()) == before


def test_deeply_nested_json_is_a_400(admin):
    from app.services import api_keys, audit

    key = run(api_keys.create("nested", "analyst", None, audit.SYSTEM))[1]
    api = admin.http.post(
        "/api/v1/calls", content=DEEP, headers={"content-type": "application/json", "authorization": f"Bearer {key}"}
    )
    assert api.status_code == 400 and "nested too deeply" in api.json()["detail"]
    for path in ("/signin/verify", "/invite/some-token/verify", "/me/passkeys/verify"):
        response = admin.post(path, content=DEEP, headers={"content-type": "application/json"})
        assert response.status_code == 400 and "请求有误" in response.text, path


def test_the_same_errors_raised_by_our_own_code_are_still_a_500(crashing, caplog):
    with caplog.at_level(logging.ERROR):
        assert crashing.get("/our-decode-bug").status_code == 500
    assert [r.getMessage() for r in caplog.records if r.name == "qianmo.error"] == [
        "unhandled error on GET /our-decode-bug"
    ]
