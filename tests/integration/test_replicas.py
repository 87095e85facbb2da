"""Two app processes on the PostgreSQL primary and its streaming replica (scripts/pg_replica.sh).

Collected only on PostgreSQL (tests/conftest.py). The replica's replay is paused to show which
node a page reads from: what the primary holds and the replica has not replayed yet is seen by
the person who wrote it (their reads stick to the primary) and not by someone else's list page,
until the replica replays it. Stopping the replica leaves the pages answering from the primary.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from urllib.parse import urlparse, urlunparse

import asyncpg
import httpx
import pytest

from app.cli import main
from app.replicas import PRIMARY_COOKIE
from app.services import alerts
from app.tables import Grid, PersonRole
from tests.conftest import DATABASE_URL, TEST_SERVER_URL, run
from tests.live import free_port, serving

DEADLINE = 120.0  # seconds: replay on a busy machine; only a broken replica takes this long
REPLICA_SERVER_URL = os.environ.get("QIANMO_TEST_REPLICA_URL") or urlunparse(
    urlparse(TEST_SERVER_URL)._replace(netloc=f"{urlparse(TEST_SERVER_URL).hostname}:5433")
)
# The test database (tests/conftest.py makes it on the primary) exists on the replica too.
REPLICA_URL = urlunparse(urlparse(REPLICA_SERVER_URL)._replace(path=urlparse(DATABASE_URL).path))


async def on_replica(sql: str) -> object:
    conn = await asyncpg.connect(REPLICA_URL, timeout=5)
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


def replica_cluster(action: str) -> None:
    """Debian's pg_ctlcluster on the cluster scripts/pg_replica.sh made."""
    clusters = subprocess.run(["pg_lsclusters", "-h"], check=True, capture_output=True, text=True).stdout
    version = next(line.split()[0] for line in clusters.splitlines() if line.split()[1:2] == ["replica"])
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "replica", action], check=True)


@pytest.fixture(scope="module")
def servers(tmp_path_factory) -> Iterator[list[str]]:
    try:
        assert run(on_replica("SELECT pg_is_in_recovery()")) is True
    except (OSError, asyncpg.PostgresError, AssertionError) as exc:
        pytest.fail(f"no streaming replica at {REPLICA_URL} ({exc!r}): run scripts/pg_replica.sh", pytrace=False)
    tmp = tmp_path_factory.mktemp("replicas")
    env = {
        **os.environ,
        "QIANMO_DEMO": "1",
        "QIANMO_SECRET_KEY": "replicas-" + uuid.uuid4().hex,  # the same for both, as for workers
        "QIANMO_UPLOAD_DIR": str(tmp / "uploads"),
        "QIANMO_JOBS_EVERY_SECONDS": "0",
        "QIANMO_DATABASE_REPLICA_URLS": REPLICA_URL,
        # A paused replay must not count as lag here: the test decides what the replica holds.
        "QIANMO_REPLICA_MAX_LAG_SECONDS": "86400",
        "QIANMO_REPLICA_STICKY_SECONDS": "600",
    }
    first = free_port()
    second = next(p for p in iter(free_port, None) if p != first)
    with serving(env, first, tmp / "first.log"), serving(env, second, tmp / "second.log"):
        yield [f"http://127.0.0.1:{first}", f"http://127.0.0.1:{second}"]


async def signed_in(base_url: str, person: int, sticky: bool) -> httpx.AsyncClient:
    """A browser signed in at `base_url`; without `sticky`, past the window its sign-in opened."""
    http = httpx.AsyncClient(base_url=base_url, timeout=DEADLINE)
    await http.get("/offline")
    response = await http.post(
        "/signin/demo", data={"person": str(person), "next": "/"}, headers={"x-csrftoken": http.cookies["qianmo_csrf"]}
    )
    assert response.status_code == 303
    assert PRIMARY_COOKIE in http.cookies  # every write stamps it
    if not sticky:
        http.cookies.delete(PRIMARY_COOKIE)  # as the browser does once its Max-Age passes
    return http


async def page_until(http: httpx.AsyncClient, path: str, text: str) -> str:
    """The page once it shows `text` (a page served by a replica shows it once replayed)."""
    deadline = time.monotonic() + DEADLINE
    while True:
        response = await http.get(path)
        if response.status_code == 200 and text in response.text:
            return response.text
        assert time.monotonic() < deadline, f"{path} never showed {text!r}: {response.status_code}"
        await asyncio.sleep(0.2)


def people() -> tuple[int, int, int]:
    grid = run(Grid.select(Grid.id).where(Grid.code == "TH-04").first())["id"]
    officer = run(alerts.chain_for(grid)).at(0)[0]
    worker = run(PersonRole.select(PersonRole.person).where(PersonRole.role == "grid_worker").first())["person"]
    return grid, officer, worker


async def post_alert(http: httpx.AsyncClient, grid: int, text: str) -> None:
    response = await http.post(
        "/alerts/new",
        data={"client_uuid": str(uuid.uuid4()), "text": text, "urgency": "urgent", "grid": str(grid)},
        headers={"x-csrftoken": http.cookies["qianmo_csrf"]},
    )
    assert response.status_code == 303, response.text


def test_a_write_on_one_process_is_read_back_through_the_other(demo, servers):
    grid, officer, worker = people()
    text = "替身测试：两个邻居要打起来了"

    async def scenario() -> None:
        writer = await signed_in(servers[0], worker, sticky=True)
        reader = await signed_in(servers[1], officer, sticky=False)
        await page_until(reader, "/alerts", "</main>")  # its session replayed: signed in there too
        await on_replica("SELECT pg_wal_replay_pause()")
        try:
            await post_alert(writer, grid, text)
            # The writer, at the other process, sees it at once: their reads stick to the primary.
            writer.base_url = httpx.URL(servers[1])
            assert text in (await writer.get("/alerts")).text
            # The officer's list is served from the replica, which has not replayed it yet.
            assert text not in (await reader.get("/alerts")).text
        finally:
            await on_replica("SELECT pg_wal_replay_resume()")
        await page_until(reader, "/alerts", text)
        await writer.aclose()
        await reader.aclose()

    asyncio.run(scenario())


def test_with_the_replica_stopped_the_pages_answer_from_the_primary(demo, servers):
    grid, officer, worker = people()
    text = "替身测试：副本停了"

    async def scenario() -> None:
        writer = await signed_in(servers[0], worker, sticky=True)
        await post_alert(writer, grid, text)
        readers = [await signed_in(base, officer, sticky=False) for base in servers]
        for reader in readers:
            await page_until(reader, "/alerts", text)
        replica_cluster("stop")
        try:
            for reader in readers:
                response = await reader.get("/alerts")
                assert response.status_code == 200 and text in response.text
        finally:
            replica_cluster("start")
        for http in [writer, *readers]:
            await http.aclose()

    asyncio.run(scenario())


def test_the_operator_sees_the_replica_in_sync_and_one_that_is_down(db, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("QIANMO_DATABASE_URL", DATABASE_URL)
    monkeypatch.setenv("QIANMO_SECRET_KEY", "check-" + uuid.uuid4().hex * 2)
    monkeypatch.setenv("QIANMO_UPLOAD_DIR", str(tmp_path / "uploads"))
    down = urlunparse(urlparse(REPLICA_URL)._replace(netloc="127.0.0.1:1"))
    monkeypatch.setenv("QIANMO_DATABASE_REPLICA_URLS", f"{REPLICA_URL},{down}")
    main(["check"])
    out = capsys.readouterr().out
    where = urlparse(REPLICA_URL)
    assert f"OK       replica: {where.hostname}:{where.port}{where.path} in sync" in out
    assert f"WARN     replica: 127.0.0.1:1{where.path} does not answer" in out
    assert out.rstrip().endswith("ready to open")  # a replica down never blocks: the primary serves


def test_metrics_show_the_replica_lag_the_open_streams_and_pending_escalations(demo, servers):
    def scrape() -> str:
        return httpx.get(f"{servers[0]}/metrics", timeout=DEADLINE).text

    deadline = time.monotonic() + DEADLINE
    while 'qianmo_db_replica_in_service{replica="replica_1"} 1.0' not in (text := scrape()):
        assert time.monotonic() < deadline, text
        time.sleep(0.2)
    assert 'qianmo_db_replica_lag_seconds{replica="replica_1"}' in text
    assert "qianmo_sse_connections 0.0" in text
    assert "qianmo_pending_escalations " in text
