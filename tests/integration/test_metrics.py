"""GET /metrics: Prometheus' text for the operator only (a bearer token, or this machine straight
to the app), requests counted by route pattern and never by path, outbox replays, import and
detection durations; with several worker processes a scrape of any of them adds up all."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import urllib.request

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.domain.access import Principal
from app.main import create_app
from app.services import audit, calls, orders
from tests.conftest import DATABASE_URL, TEST_SERVER_URL, client_with, run
from tests.integration.test_fieldwork import REPLAY, contact, field, place_in  # noqa: F401 (fixture)
from tests.live import ROOT, free_port, healthy

TOKEN = "metrics-" + "x" * 32


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """(sample name, sorted labels) → value, read the way Prometheus reads the page."""
    found = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


def scrape(browser) -> str:
    response = browser.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return response.text


def test_only_the_token_opens_the_metrics_and_requests_count_by_route_pattern(db, settings):
    with client_with(settings, metrics_token=TOKEN) as browser:
        assert browser.get("/metrics").status_code == 401
        assert browser.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        before = scrape(browser)
        for _ in range(3):
            assert browser.get("/t/ABCD2345").status_code in (200, 404)
        after = scrape(browser)
    route = {"method": "GET", "route": "/t/{code}"}
    counted = sum(
        v - samples(before).get(k, 0.0)
        for k, v in samples(after).items()
        if k[0] == "qianmo_http_requests_total" and set(route.items()) <= set(k[1])
    )
    assert counted == 3
    assert value(after, "qianmo_http_request_duration_seconds_count", **route) >= 3
    assert "ABCD2345" not in after  # the tracking code (the path) never becomes a label


def test_without_a_token_only_this_machine_straight_to_the_app_may_read_them(db, settings):
    app = create_app(settings)

    async def get(client: tuple[str, int], **headers: str) -> int:
        transport = httpx.ASGITransport(app=app, client=client)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as http:
            return (await http.get("/metrics", headers=headers)).status_code

    assert asyncio.run(get(("127.0.0.1", 40000))) == 200
    assert asyncio.run(get(("::1", 40000))) == 200
    assert asyncio.run(get(("203.0.113.9", 40000))) == 403
    # nginx on the same machine connects from 127.0.0.1 too, and says so in its headers.
    assert asyncio.run(get(("127.0.0.1", 40000), **{"X-Forwarded-For": "203.0.113.9"})) == 403
    assert asyncio.run(get(("127.0.0.1", 40000), **{"X-Real-IP": "203.0.113.9"})) == 403


def test_outbox_replays_imports_and_detection_are_measured(field, settings):
    with client_with(settings, metrics_token=TOKEN) as browser:
        before = scrape(browser)
        browser.sign_in_as("officer")
        data = contact(place_in("TH-01"))
        assert browser.post("/field/contacts/new", data=data, headers=REPLAY).status_code in (200, 201)
        assert browser.post("/field/contacts/new", data=data, headers=REPLAY).status_code in (200, 201)
        analyst = Principal(id=0, name="api", roles=frozenset({"analyst"}), station_ids=frozenset())
        result = run(calls.import_objects([], analyst, audit.SYSTEM, settings.time_zone))
        assert result.created == 0
        run(orders.detect(audit.SYSTEM))
        after = scrape(browser)
    replays = {"route": "/field/{segment}/new"}
    replayed = sum(
        v - samples(before).get(k, 0.0)
        for k, v in samples(after).items()
        if k[0] == "qianmo_outbox_replays_total" and set(replays.items()) <= set(k[1])
    )
    assert replayed == 2
    for name, labels in (
        ("qianmo_call_import_duration_seconds_count", {"source": "api"}),
        ("qianmo_detection_duration_seconds_count", {}),
    ):
        assert value(after, name, **labels) == value(before, name, **labels) + 1, name


def test_several_workers_add_up_in_one_scrape(tmp_path):
    """`qianmo serve --workers 2`: each request counted once, whichever worker answered it and
    whichever answers the scrape."""
    port = free_port()
    env = {
        **os.environ,
        "QIANMO_DATABASE_URL": DATABASE_URL,
        "QIANMO_SECRET_KEY": "metrics-test-" + "y" * 32,
        "QIANMO_JOBS_EVERY_SECONDS": "0",
        "QIANMO_DB_POOL_SIZE": "3",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        "PICCOLO_CONF": "piccolo_conf",
    }
    env.pop("QIANMO_METRICS_TOKEN", None)
    log = (tmp_path / "serve.log").open("wb")
    command = [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--workers", "2"]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while not healthy(f"{base}/healthz"):
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail((tmp_path / "serve.log").read_text(errors="replace"), pytrace=False)
            time.sleep(0.1)
        for _ in range(20):
            with urllib.request.urlopen(f"{base}/offline", timeout=10) as response:
                assert response.status == 200
        # A request is counted just after its answer went out: wait for the last one to land.
        deadline = time.monotonic() + 30
        while True:
            with urllib.request.urlopen(f"{base}/metrics", timeout=10) as response:
                text = response.read().decode()
            offline = sum(
                v
                for (name, labels), v in samples(text).items()
                if name == "qianmo_http_requests_total" and ("route", "/offline") in labels
            )
            if offline >= 20 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert offline == 20
        if TEST_SERVER_URL:  # PostgreSQL: each worker's pool of 3, added up
            assert value(text, "qianmo_db_pool_max_connections") in (3, 6)
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
