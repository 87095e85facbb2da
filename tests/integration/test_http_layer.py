"""What the outer HTTP layer does for every route: response headers (HSTS when the public
address is https; a Content-Type that names its charset once, as Litestar adds one to every
text/* type itself) and the request log line, which names the route, never the path."""
from __future__ import annotations

import json
import logging
from dataclasses import replace

import pytest
from litestar import get
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
    paths = ("/", "/no-such-page", "/offline", "/sw.js", "/static/manifest.webmanifest", "/static/icons/nav.svg",
             "/static/css/app.css", "/static/js/app.js", "/healthz", "/schema/openapi.json",
             "/open311/v2/services.xml", "/open311/v2/services.json", "/open311/v2/requests.xml",
             "/open311/v2/requests/nope.xml", "/api/v1/work-orders")
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
    """A client of an app with a route that fails (made before the test, so that the app's
    logging set-up does not remove pytest's log capture)."""
    @get("/boom/{token:str}", include_in_schema=False)
    async def boom(token: str) -> str:
        raise RuntimeError("broken")

    app = create_app(settings)
    app.register(boom)
    with TestClient(app=app, base_url="http://testserver.local") as http:
        yield http


def test_a_crash_is_logged_with_its_route_not_its_path(crashing, caplog):
    with caplog.at_level(logging.ERROR):
        assert crashing.get("/boom/CRASHSECRET").status_code == 500
    [record] = [r for r in caplog.records if r.name == "qianmo.error"]
    assert record.getMessage() == "unhandled error on GET /boom/{token}"
