"""Browser tests: the real server in a subprocess, Debian's Chromium through Playwright.

The server runs exactly as `qianmo demo` would (migrate, load the demo district, uvicorn)
on a fresh database of its own: a SQLite file in a temporary folder, or, when
QIANMO_TEST_DATABASE_URL names a PostgreSQL server, a new database on it that is dropped
at the end. The browser opens http://localhost:PORT (WebAuthn needs the name localhost).

Playwright's sync API keeps an asyncio loop running while it is started, and an
`asyncio.run` elsewhere in the same thread then fails; so the browser lives for one test
module only (the other test folders use asyncio.run in their fixtures), and the database
set-up here runs its asyncio in a thread of its own.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import pytest

from tests.live import ROOT, free_port, serving

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
# How long Playwright waits for a page, an element or an assertion before failing. CI runs on
# 2 cores shared with other work, where a page with its service worker can take seconds; the
# defaults (5 s for expect, 30 s for actions, 10 s set here before) failed tests that were fine.
# A longer wait costs nothing when things go right: every wait ends as soon as its condition holds.
WAIT = 30_000
# For what takes many requests in a row: precaching the offline pages, replaying an outbox.
LONG_WAIT = 90_000
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
LOAD_DEMO = "import asyncio; from app.services.demo import load_demo; asyncio.run(load_demo())"
# The live server's environment, for a test that must change its database directly (e.g. move
# a shift's start into the past: the server's clock cannot be frozen).
LIVE_ENV: dict[str, str] = {}


def _in_thread(coro_factory: Callable[[], object]) -> None:
    """asyncio.run in a fresh thread: safe even while Playwright's loop is running here."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(coro_factory())  # type: ignore[arg-type]
        except BaseException as exc:  # noqa: BLE001 - re-raised below in the caller's thread
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


def _pg_admin(server_url: str, sql: str) -> None:
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(server_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    _in_thread(run)


def _require_chromium() -> None:
    if Path(CHROMIUM).exists():
        return
    message = f"{CHROMIUM} is missing: scripts/test.sh installs Debian's chromium"
    if IN_CI:
        pytest.fail(message + " (CI=true: browser tests may not be skipped)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo server on a free port and a fresh database; yields http://localhost:PORT."""
    tmp = tmp_path_factory.mktemp("live-server")
    server_url = os.environ.get("QIANMO_TEST_DATABASE_URL", "")
    pg_name = ""
    if server_url:
        pg_name = f"qianmo_browser_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        _pg_admin(server_url, f'CREATE DATABASE "{pg_name}"')
        database_url = urlunparse(urlparse(server_url)._replace(path=f"/{pg_name}"))
    else:
        database_url = f"sqlite:///{tmp / 'browser.sqlite3'}"

    port = free_port()
    base_url = f"http://localhost:{port}"
    env = {
        **os.environ,
        "QIANMO_DEMO": "1",
        # Links (invitations, QR posters) and the passkeys' relying party use this address.
        "QIANMO_PUBLIC_BASE_URL": base_url,
        "QIANMO_DATABASE_URL": database_url,
        "QIANMO_SECRET_KEY": "browser-tests-" + uuid.uuid4().hex,
        "QIANMO_UPLOAD_DIR": str(tmp / "uploads"),
        # The work-order journey reaches 问效 the same day instead of 30 days after handling.
        "QIANMO_REVIEW_DAYS": "0",
        # Phone notifications on (a localhost contact turns them off): the channels page's button.
        "QIANMO_VAPID_CONTACT": "mailto:ops@qianmo.example.cn",
        "QIANMO_VAPID_KEY_FILE": str(tmp / "vapid_private.pem"),
        "PICCOLO_CONF": "piccolo_conf",
        "PYTHONUNBUFFERED": "1",
    }
    try:
        for step in (["-m", "app.cli", "migrate"], ["-c", LOAD_DEMO]):
            done = subprocess.run([sys.executable, *step], cwd=ROOT, env=env, capture_output=True, text=True)
            if done.returncode != 0:
                pytest.fail(f"server set-up `{' '.join(step)}` failed:\n{done.stdout}\n{done.stderr}", pytrace=False)
        with serving(env, port, tmp / "server.log"):
            LIVE_ENV.update(env)
            yield base_url
    finally:
        if pg_name:
            _pg_admin(server_url, f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def playwright_instance():
    _require_chromium()
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=WAIT)
    pw = sync_playwright().start()
    try:
        yield pw
    finally:
        pw.stop()


@pytest.fixture(scope="module")
def browser(playwright_instance):
    browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture
def new_context(browser, live_server):
    """new_context(locale) -> a phone-sized browser context against the live server."""
    contexts = []

    def make(locale: str = "zh-CN", **options):
        context = browser.new_context(
            base_url=live_server,
            viewport=PHONE,
            locale=locale,
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
            **options,
        )
        context.set_default_timeout(WAIT)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def persistent_context(playwright_instance, live_server, tmp_path):
    """A browser with a real (non-incognito) profile: Chromium reports a page installable
    only there; every new_context() is incognito-like."""
    context = playwright_instance.chromium.launch_persistent_context(
        str(tmp_path / "profile"),
        executable_path=CHROMIUM,
        args=CHROMIUM_ARGS,
        base_url=live_server,
        viewport=PHONE,
        locale="zh-CN",
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    context.set_default_timeout(WAIT)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture(scope="session")
def screenshot() -> Callable[..., Path]:
    """screenshot(page, name): what the phone's screen shows now, as a PNG in
    tests/browser/screenshots/ for a person to look at. (Full-page shots draw the fixed top
    and bottom bars in the middle of long pages, which is not what anyone sees.)"""
    SCREENSHOTS.mkdir(exist_ok=True)

    def take(page, name: str, full_page: bool = False) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return take


@pytest.fixture(scope="session", autouse=True)
def _fresh_screenshots() -> None:
    if SCREENSHOTS.exists():
        shutil.rmtree(SCREENSHOTS, ignore_errors=True)
