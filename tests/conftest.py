"""A fresh database per test session (SQLite file, or a new PostgreSQL database when
QIANMO_TEST_DATABASE_URL names a server), emptied before each test.

The environment is set before the app is imported: Piccolo binds tables to the engine
that piccolo_conf builds from QIANMO_DATABASE_URL.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import pytest

TEST_SERVER_URL = os.environ.get("QIANMO_TEST_DATABASE_URL", "")
_tmp = Path(tempfile.mkdtemp(prefix="qianmo-test-"))


def _pg_admin(sql: str) -> None:
    """Run one statement (CREATE/DROP DATABASE) on the server named by QIANMO_TEST_DATABASE_URL."""
    import asyncpg

    async def execute() -> None:
        conn = await asyncpg.connect(TEST_SERVER_URL)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(execute())


def _fresh_postgres(server_url: str) -> tuple[str, str]:
    name = f"qianmo_test_{uuid.uuid4().hex[:12]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    return urlunparse(urlparse(server_url)._replace(path=f"/{name}")), name


if TEST_SERVER_URL:
    DATABASE_URL, PG_NAME = _fresh_postgres(TEST_SERVER_URL)
else:
    DATABASE_URL, PG_NAME = f"sqlite:///{_tmp / 'test.sqlite3'}", ""
os.environ["QIANMO_DATABASE_URL"] = DATABASE_URL
# PostgreSQL only (a streaming replica of the test server): not collected on SQLite, not skipped.
collect_ignore = [] if TEST_SERVER_URL else ["integration/test_replicas.py"]
os.environ["PICCOLO_CONF"] = "piccolo_conf"


def run(awaitable):
    """Await a coroutine or a Piccolo query from synchronous test code."""

    async def wait():
        return await awaitable

    return asyncio.run(wait())


def pytest_sessionstart(session) -> None:
    from app.cli import migrate

    migrate()


def pytest_sessionfinish(session, exitstatus) -> None:
    if PG_NAME:
        _pg_admin(f'DROP DATABASE IF EXISTS "{PG_NAME}" WITH (FORCE)')


@pytest.fixture
def db():
    """An empty database for this test (tables kept, rows gone)."""
    from app.tables import ALL_TABLES

    async def wipe() -> None:
        for table in reversed(ALL_TABLES):
            await table.delete(force=True)

    run(wipe())


@pytest.fixture
def settings():
    from app.settings import Settings

    return Settings(
        database_url=DATABASE_URL,
        secret_key="test-secret",
        demo=True,
        upload_dir=_tmp / "uploads",
        db_pool=False,
        jobs_every_seconds=0,
    )


class Browserless:
    """The Litestar test client with the CSRF dance done the way a browser does it."""

    def __init__(self, client) -> None:
        self.http = client

    def csrf(self) -> str:
        if "qianmo_csrf" not in self.http.cookies:
            self.http.get("/offline")
        return self.http.cookies["qianmo_csrf"]

    def sign_in_as(self, role: str) -> int:
        """Sign in as the demo person holding `role` (demo mode's button); returns their id."""
        from app.tables import PersonRole

        row = run(PersonRole.select(PersonRole.person).where(PersonRole.role == role).first())
        response = self.post("/signin/demo", data={"person": str(row["person"]), "next": "/"})
        assert response.status_code == 303, response.text
        return row["person"]

    def get(self, url: str, **kw):
        return self.http.get(url, **kw)

    def post(self, url: str, data=None, files=None, follow_redirects=False, **kw):
        headers = {"x-csrftoken": self.csrf(), **kw.pop("headers", {})}
        return self.http.post(url, data=data, files=files, headers=headers, follow_redirects=follow_redirects, **kw)


@contextmanager
def client_with(settings, **changes) -> Iterator[Browserless]:
    """A browser on an app whose settings differ from the suite's by `changes`."""
    from litestar.testing import TestClient

    from app.main import create_app

    with TestClient(app=create_app(replace(settings, **changes)), base_url="http://testserver.local") as http:
        yield Browserless(http)


@pytest.fixture
def client(db, settings):
    with client_with(settings) as browser:
        yield browser


@pytest.fixture
def demo(db):
    from app.services.demo import load_demo

    run(load_demo())


@pytest.fixture
def admin(client, demo):
    """A client signed in as the demo administrator."""
    client.sign_in_as("admin")
    return client
