"""A district of the seed's size over two years, measured through HTTP (issue 18): the demo
district (its grids, places, agencies and people) under 1,000,000 calls, 200,000 field logs and
50,000 resident reports and routed matters with their steps and ratings, on SQLite or PostgreSQL.

    python bench/district.py --engine sqlite         # or postgres; --scale 0.1 for a quick run
    python bench/district.py --keep                  # and keep the database; it prints its URL
    python bench/district.py --database URL          # measure a kept one again (migrated first)

Measures, per page, the server's time for one request (the app in this process, no network:
what a request costs it, not the phone's wait), 20 requests after a warm-up, p50 and p99.
Targets on this 2-core machine: the metrics API for a year grouped by agency <= 200 ms, the
map's data for a month <= 200 ms and <= 200 KB gzipped, each dashboard page <= 300 ms.
Setup (bulk rows written with the drivers, detection once) is not measured."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gzip
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from calls import bulk_load, drop_database, setup_database  # noqa: E402

LOG_TEXTS = ["note", "subject_kind", "subject_name", "subject_phone", "tags", "topic", "dispute_type"]
LOG_TEXTS += ["mediators", "outcome", "terms", "void_reason"]  # empty in the bench's logs
LOG_COLUMNS = ["client_uuid", "kind", "author", "grid", "place", "occurred_at", "created_at", "updated_at"]
LOG_COLUMNS += [*LOG_TEXTS, "follow_up_done"]  # follow_up_done: bulk_load's default, False


def field_logs(n: int, end, days: int, places: list[tuple], authors: list[int]):
    rng = random.Random(18)
    for _ in range(n):
        place, grid, _name = rng.choice(places)
        at = end - timedelta(seconds=rng.randrange(days * 86400))
        kind = rng.choice(("contact", "contact", "contact", "campaign", "mediation"))
        yield {
            "client_uuid": str(uuid.uuid4()),
            "kind": kind,
            "author": rng.choice(authors),
            "grid": grid,
            "place": place,
            "occurred_at": at,
            "created_at": at,
            "updated_at": at,
            **dict.fromkeys(LOG_TEXTS, ""),
        }


async def setup(url: str, scale: float) -> None:
    from app.services import audit, calls, demo, demo_calls, demo_matters, matter_facts, orders
    from app.tables import Call, PersonRole, Place, Report, Station

    await demo.load_demo()
    engine = Call._meta.db
    if hasattr(engine, "start_connection_pool"):
        await engine.start_connection_pool()
    places = [(p["id"], p["grid"], p["name"]) for p in await Place.select(Place.id, Place.grid, Place.name)]
    station = (await Station.select(Station.id).first())["id"]
    officers = [r["person"] for r in await PersonRole.select(PersonRole.person).where(PersonRole.role == "officer")]
    end = demo_calls.now() - timedelta(hours=1)
    started = time.perf_counter()
    await bulk_load(url, demo_calls.generate(int(1_000_000 * scale), end, 730, places, station, prefix="B"))
    await bulk_load(url, field_logs(int(200_000 * scale), end, 730, places, officers), "field_log", LOG_COLUMNS)
    await calls.refresh_repeats()
    await orders.detect(audit.SYSTEM)
    setting = await demo_matters.setting()
    items = list(demo_matters.generate(int(50_000 * scale), end, 730, setting))
    for chunk in range(0, len(items), 5000):
        await demo_matters.insert(items[chunk : chunk + 5000])
    await matter_facts.refresh_all()
    if not url.startswith("sqlite"):
        # What autovacuum does for a live table: statistics, and the visibility map that lets
        # the period counts read their covering indexes alone (index-only scans).
        await Call.raw("VACUUM ANALYZE")
        await engine.close_connection_pool()  # bound to this event loop; the app starts its own
    print(
        f"setup: {await Call.count():,} calls, {await Report.count():,} matters in {time.perf_counter() - started:.0f} s",
        flush=True,
    )


async def measure(url: str) -> None:
    from app.main import create_app
    from app.services import api_keys, audit
    from app.settings import Settings
    from app.tables import Place, Station

    app = create_app(dataclasses.replace(Settings.from_env(), jobs_every_seconds=0))
    station = (await Station.select(Station.id).first())["id"]
    place = (await Place.select(Place.id).first())["id"]
    _key_id, key = await api_keys.create("bench", "analyst", station, audit.SYSTEM)
    today = date.today()
    year, month = (today - timedelta(days=364)).isoformat(), (today - timedelta(days=29)).isoformat()
    pages = [
        (
            "API: metrics, a year by agency (a station's key)",
            f"/api/v1/metrics/platform?start={year}&end={today}&group=agency",
        ),
        ("API: metrics, a year by grid", f"/api/v1/metrics/platform?start={year}&end={today}&group=grid"),
        ("metrics page, a year by agency", f"/metrics/platform?start={year}&group=agency"),
        ("metrics page (its default period)", "/metrics/platform"),
        ("dashboard", "/dashboard"),
        ("morning briefing", "/briefing"),
        ("calls ranking, places, 90 days", "/calls/ranking"),
        ("calls ranking, callers, a year", f"/calls/ranking?by=caller&since={year}"),
        ("a place's calls", f"/calls/places/{place}"),
        ("map, a month, calls", f"/map?since={month}"),
        ("map, a month, field logs", f"/map?since={month}&layer=logs"),
        ("map, a month, open reports", f"/map?since={month}&layer=reports_open"),
    ]
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            await _sign_in(client, "情指中心研判员")
            print("| what | p50 ms | p99 ms | bytes (gzipped) |\n| --- | ---: | ---: | ---: |")
            for label, path in pages:
                headers = {"Authorization": f"Bearer {key}"} if path.startswith("/api/") else {}
                await _time(client, label, path, headers)


async def _sign_in(client: httpx.AsyncClient, label: str) -> None:
    page = (await client.get("/signin")).text
    person = page[: page.index(label)].rsplit('name="person" value="', 1)[1].split('"', 1)[0]
    await client.post(
        "/signin/demo", data={"person": person, "next": "/"}, headers={"x-csrftoken": client.cookies["qianmo_csrf"]}
    )


async def _time(client: httpx.AsyncClient, label: str, path: str, headers: dict) -> None:
    response = await client.get(path, headers=headers)  # warm-up
    if response.status_code != 200:
        raise SystemExit(f"{path}: {response.status_code} {response.text[:300]}")
    times = []
    for _ in range(20):
        started = time.perf_counter()
        response = await client.get(path, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
    size = len(gzip.compress(response.content))
    p99 = sorted(times)[-1]  # of 20: the slowest
    print(f"| {label} | {statistics.median(times):.0f} | {p99:.0f} | {size / 1024:.1f} KB |", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--scale", type=float, default=1.0, help="a share of the full size, for a quick run")
    parser.add_argument("--keep", action="store_true", help="keep the database (it prints its URL)")
    parser.add_argument("--database", default="", help="a database this script built and kept")
    args = parser.parse_args()
    if args.database:
        url, name = args.database, ""
    else:
        url, name = setup_database(args.engine, Path(tempfile.mkdtemp(prefix="qianmo-district-")))
    os.environ.update(
        QIANMO_DATABASE_URL=url,
        PICCOLO_CONF="piccolo_conf",
        QIANMO_DEMO="1",
        QIANMO_SECRET_KEY="bench-district",
        QIANMO_LOG_LEVEL="WARNING",
    )
    os.environ.setdefault("QIANMO_PUBLIC_BASE_URL", "http://localhost")
    try:
        from app.cli import migrate

        migrate()
        if not args.database:
            asyncio.run(setup(url, args.scale))
        asyncio.run(measure(url))
    finally:
        if args.keep:
            print(f"kept: --database {url}")
        elif name:
            drop_database(name)
