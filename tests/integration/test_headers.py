"""Response headers every answer carries: HSTS when the public address is https, and a
Content-Type that names its charset once (Litestar adds one to every text/* type itself)."""
from __future__ import annotations

from dataclasses import replace

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
