"""The shell every page shares: language, security headers, errors, health, logging, CSRF."""

import json
import logging

from litestar import get
from litestar.testing import TestClient

from app.main import create_app
from app.settings import Settings
from tests.conftest import DATABASE_URL, Browserless, run


def test_home_is_chinese_by_default_and_english_on_request(client, demo):
    zh = client.get("/")
    assert '<html lang="zh-CN">' in zh.text and "阡陌" in zh.text and "用通行密钥登录" not in zh.text
    assert ">English</a>" in zh.text and ">登录</a>" in zh.text
    en = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert (
        '<html lang="en">' in en.text and "Qianmo" in en.text and ">Sign in</a>" in en.text and ">中文</a>" in en.text
    )


def test_the_language_cookie_is_read_among_others_and_a_broken_header_is_harmless(client, demo):
    en = client.get("/", headers={"Cookie": 'a=1; qianmo_locale="en"; b=2'})
    assert '<html lang="en">' in en.text
    broken = client.get("/", headers={"Cookie": '=;;; qianmo_locale; x="unclosed'})
    assert broken.status_code == 200 and '<html lang="zh-CN">' in broken.text


def test_the_language_switch_is_remembered(admin):
    response = admin.get("/locale/en?next=/admin/org", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/admin/org"
    assert "Organisation" in admin.get("/admin/org").text
    admin.get("/locale/zh_CN")
    assert "组织机构" in admin.get("/admin/org", headers={"Accept-Language": "en"}).text


def test_a_signed_in_persons_language_follows_them_to_another_device(admin, settings):
    from app.tables import Person, PersonRole

    person = run(PersonRole.select(PersonRole.person).where(PersonRole.role == "admin").first())["person"]
    admin.get("/locale/en")  # a plain link sets this browser's cookie only: a GET writes nothing
    assert run(Person.select(Person.locale).where(Person.id == person).first())["locale"] == ""
    assert 'action="/locale/zh_CN"' in admin.get("/").text  # signed in, the header's switch posts
    admin.post("/locale/en", data={"next": "/"})
    assert run(Person.select(Person.locale).where(Person.id == person).first())["locale"] == "en"
    with TestClient(app=create_app(settings), base_url="http://testserver.local") as other_phone:
        phone = Browserless(other_phone)
        response = phone.post("/signin/demo", data={"person": str(person), "next": "/"})
        assert response.status_code == 303


def test_the_switch_never_redirects_off_site(client):
    for target in ("https://evil.example/", "//evil.example", "/\\evil.example"):
        assert client.get(f"/locale/en?next={target}", follow_redirects=False).headers["location"] == "/"


def test_security_headers_on_pages_errors_and_static_files(client):
    for path in ("/", "/no-such-page", "/static/no-such-file.css", "/static/icons/nav.svg", "/sw.js"):
        headers = client.get(path).headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp, path
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "strict-origin-when-cross-origin"
        assert len(headers["x-request-id"]) >= 8
    # A stylesheet, a script or a PNG is no document: of the document policies only nosniff.
    for path in ("/static/css/app.css", "/static/js/app.js", "/static/icons/icon-64.png"):
        headers = client.get(path).headers
        assert headers["x-content-type-options"] == "nosniff" and "content-security-policy" not in headers, path


def test_no_inline_script_in_pages(client, demo):
    import re

    client.sign_in_as("admin")
    for path in ("/", "/admin/org/place", "/admin/org/place/new", "/offline", "/signin", "/me", "/people/new"):
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


def test_admin_pages_send_strangers_to_sign_in_and_refuse_other_roles(client, demo):
    response = client.get("/admin/org/place?q=x", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/signin?next=/admin/org/place%3Fq%3Dx"
    client.sign_in_as("officer")
    response = client.get("/admin/org")
    assert response.status_code == 403 and "无权访问" in response.text


def test_production_offers_no_demo_sign_in(db, demo):
    from app.tables import Person

    production = Settings(database_url=DATABASE_URL, secret_key="x", demo=False, db_pool=False)
    with TestClient(app=create_app(production), base_url="http://testserver.local") as http:
        page = http.get("/signin")
        assert "用通行密钥登录" in page.text and "/signin/demo" not in page.text
        phone = Browserless(http)
        person = run(Person.select(Person.id).first())["id"]
        assert phone.post("/signin/demo", data={"person": str(person)}).status_code == 404


def test_health_checks_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_one_log_line_per_request_without_query_or_personal_data(client, caplog):
    with caplog.at_level(logging.INFO, logger="qianmo.request"):
        client.get("/?q=13805270001", headers={"X-Request-ID": "abcdef123456"})
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "qianmo.request"]
    assert lines[-1]["path"] == "/" and lines[-1]["status"] == 200
    assert lines[-1]["request_id"] == "abcdef123456" and lines[-1]["method"] == "GET"
    assert isinstance(lines[-1]["duration_ms"], float)
    assert not any("13805270001" in r.getMessage() for r in caplog.records if r.name.startswith("qianmo"))


def test_unsafe_requests_without_the_csrf_token_are_refused(admin):
    from app.tables import Agency

    response = admin.http.post("/admin/org/agency/new", data={"name": "x", "code": "X1", "kind": "other"})
    assert response.status_code == 403
    assert run(Agency.count().where(Agency.code == "X1")) == 0


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
