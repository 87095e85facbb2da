"""The shell every page shares: language, security headers, errors, health, logging, CSRF."""
import json
import logging

from litestar import get
from litestar.testing import TestClient

from app.main import create_app
from app.settings import Settings
from tests.conftest import DATABASE_URL


def test_home_is_chinese_by_default_and_english_on_request(client, demo):
    zh = client.get("/")
    assert '<html lang="zh-CN">' in zh.text and "阡陌" in zh.text and "网格" in zh.text
    assert ">English</a>" in zh.text
    en = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert '<html lang="en">' in en.text and "Qianmo" in en.text and "Grids" in en.text and ">中文</a>" in en.text


def test_the_language_switch_is_remembered(client, demo):
    response = client.get("/locale/en?next=/admin/org", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/admin/org"
    assert "Organisation" in client.get("/admin/org").text
    client.get("/locale/zh_CN")
    assert "组织机构" in client.get("/admin/org", headers={"Accept-Language": "en"}).text


def test_the_switch_never_redirects_off_site(client):
    for target in ("https://evil.example/", "//evil.example", "/\\evil.example"):
        assert client.get(f"/locale/en?next={target}", follow_redirects=False).headers["location"] == "/"


def test_security_headers_on_pages_errors_and_static_files(client):
    for path in ("/", "/no-such-page", "/static/css/app.css", "/sw.js"):
        headers = client.get(path).headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp, path
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "strict-origin-when-cross-origin"
        assert len(headers["x-request-id"]) >= 8


def test_no_inline_script_in_pages(client, demo):
    import re

    for path in ("/", "/admin/org/place", "/admin/org/place/new", "/offline"):
        html = client.get(path).text
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert " onclick=" not in html and " style=" not in html, path


def test_404_page_in_the_users_language(client):
    zh = client.get("/no-such-page")
    assert zh.status_code == 404 and "页面不存在" in zh.text
    en = client.get("/no-such-page", headers={"Accept-Language": "en"})
    assert "Page not found" in en.text


def test_a_crash_shows_a_clear_page_and_no_stack_trace(settings, caplog):
    @get("/boom", include_in_schema=False)
    async def boom() -> str:
        raise RuntimeError("secret internals 13805270001")

    app = create_app(settings)
    app.register(boom)
    with TestClient(app=app, base_url="http://testserver.local") as http, caplog.at_level(logging.ERROR):
        response = http.get("/boom")
    assert response.status_code == 500
    assert "出错了" in response.text
    assert "Traceback" not in response.text and "secret internals" not in response.text


def test_admin_pages_are_closed_outside_demo_mode(db):
    production = Settings(database_url=DATABASE_URL, secret_key="x", demo=False)
    with TestClient(app=create_app(production), base_url="http://testserver.local") as http:
        response = http.get("/admin/org")
        assert response.status_code == 403 and "无权访问" in response.text
        assert http.get("/").status_code == 200


def test_health_checks_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_one_log_line_per_request_without_query_or_personal_data(client, caplog):
    with caplog.at_level(logging.INFO, logger="qianmo.request"):
        client.get("/admin/org/place?q=13805270001", headers={"X-Request-ID": "abcdef123456"})
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "qianmo.request"]
    assert lines[-1]["path"] == "/admin/org/place" and lines[-1]["status"] == 200
    assert lines[-1]["request_id"] == "abcdef123456" and lines[-1]["method"] == "GET"
    assert isinstance(lines[-1]["duration_ms"], float)
    assert not any("13805270001" in r.getMessage() for r in caplog.records if r.name.startswith("qianmo"))


def test_unsafe_requests_without_the_csrf_token_are_refused(client, demo):
    response = client.http.post("/admin/org/agency/new", data={"name": "x", "code": "X1", "kind": "other"})
    assert response.status_code == 403
    assert "x" not in [a for a in client.get("/admin/org/agency").text.split() if a == "x"]


def test_the_service_worker_is_served_from_the_root(client):
    response = client.get("/sw.js")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/javascript")
    assert response.headers["cache-control"] == "no-cache"


def test_production_refuses_to_start_without_a_secret(monkeypatch):
    import pytest

    monkeypatch.delenv("QIANMO_SECRET_KEY", raising=False)
    monkeypatch.delenv("QIANMO_DEMO", raising=False)
    with pytest.raises(SystemExit, match="QIANMO_SECRET_KEY"):
        Settings.from_env()
