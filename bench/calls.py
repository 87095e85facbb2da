"""Source-governance benchmark: a district of 250,000 residents over 3 years (about 1,000,000
calls with a realistic share of repeat callers and places), on SQLite or PostgreSQL.

    python bench/calls.py --engine sqlite            # or postgres; --calls 200000 for a quick run

Measures (targets from issue 6, on this 2-core machine):
  full detection over all calls           <= 10 s
  incremental detection after 3,000 calls  <= 1 s
  importing 100,000 CSV rows               <= 30 s, peak memory < 300 MB
  a write beside that import waits         <= 1 s (finding 1 of issue 12)
  the metrics query (and dashboard) over all calls <= 200 ms
The bulk data is loaded with the drivers directly (setup, not measured); everything measured
goes through the app's own services."""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import resource
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def setup_database(engine: str, tmp: Path) -> tuple[str, str]:
    if engine == "sqlite":
        return f"sqlite:///{tmp / 'bench.sqlite3'}", ""
    name = f"qianmo_bench_{uuid.uuid4().hex[:8]}"
    import asyncpg

    async def create():
        conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()

    asyncio.run(create())
    return f"postgresql://postgres@127.0.0.1:5432/{name}", name


def drop_database(name: str) -> None:
    import asyncpg

    async def drop():
        conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()

    asyncio.run(drop())


COLUMNS = [
    "call_id",
    "received_at",
    "caller_phone",
    "caller_key",
    "address",
    "address_key",
    "category",
    "summary",
    "disposition",
    "station",
    "place",
    "grid",
    "lat",
    "lon",
    "non_police",
]


async def bulk_load(url: str, rows, table: str = "call", columns: list[str] = COLUMNS) -> None:
    """Setup only: the drivers' fastest path, in batches. `rows`: dicts of column values."""
    batch: list[tuple] = []
    if url.startswith("sqlite"):
        import sqlite3

        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        for values in rows:
            # The text form Piccolo writes ("2026-03-01 01:00:00+00:00"), so comparisons agree.
            batch.append(tuple(_sqlite(values.get(c, False)) for c in columns))
            if len(batch) == 50_000:
                conn.executemany(sql, batch)
                conn.commit()
                batch = []
        conn.executemany(sql, batch)
        conn.commit()
        conn.execute("ANALYZE")
        conn.close()
        return
    import asyncpg

    conn = await asyncpg.connect(url)
    for values in rows:
        batch.append(tuple(values.get(c, False) for c in columns))
        if len(batch) == 50_000:
            await conn.copy_records_to_table(table, records=batch, columns=columns)
            batch = []
    await conn.copy_records_to_table(table, records=batch, columns=columns)
    await conn.execute("ANALYZE")
    await conn.close()


def _sqlite(value):
    return str(value) if isinstance(value, datetime) else value


def timed(label: str, results: list, target: str):
    class Timer:
        def __enter__(self):
            self.start = time.perf_counter()
            return self

        def __exit__(self, *exc):
            seconds = time.perf_counter() - self.start
            results.append((label, seconds, target))
            print(f"  {label}: {seconds:.3f} s (target {target})", flush=True)

    return Timer()


WRITE_WAITS: list[float] = []


async def probe_writes(probing: asyncio.Event) -> None:
    """An officer's save every 50 ms while the import runs: how long each waited for its
    transaction (on SQLite the import's write lock), start to commit."""
    from app.db import write_transaction
    from app.services import audit
    from app.tables import AuditEvent

    while probing.is_set():
        started = time.perf_counter()
        async with write_transaction(AuditEvent._meta.db):
            await audit.record(audit.SYSTEM, "bench_probe", "bench", 1)
        WRITE_WAITS.append(time.perf_counter() - started)
        await asyncio.sleep(0.05)


async def run(args, url: str) -> list:
    os.environ["QIANMO_DATABASE_URL"] = url
    os.environ["PICCOLO_CONF"] = "piccolo_conf"
    from app.cli import migrate
    from app.db import engine_from_url  # noqa: F401 - piccolo_conf builds the engine
    from app.domain.access import Principal
    from app.services import audit, calls, demo, demo_calls, orders
    from app.tables import Call, Grid, Place, Station

    await asyncio.to_thread(migrate)
    await demo.load_demo()
    engine = Call._meta.db
    if hasattr(engine, "start_connection_pool"):
        await engine.start_connection_pool()
    places = [(p["id"], p["grid"], p["name"]) for p in await Place.select(Place.id, Place.grid, Place.name)]
    station = (await Station.select(Station.id).first())["id"]
    end = demo_calls.now() - timedelta(days=1)
    results: list = []
    print(f"loading {args.calls:,} calls over {args.days} days (setup, not measured)…", flush=True)
    started = time.perf_counter()
    await bulk_load(url, demo_calls.generate(args.calls, end, args.days, places, station, prefix="B"))
    print(f"  loaded in {time.perf_counter() - started:.0f} s", flush=True)
    with timed("repeat flags of every call (once, after the bulk load)", results, "-"):
        await calls.refresh_repeats()

    with timed(f"full detection over {args.calls:,} calls", results, "<= 10 s"):
        full = await orders.detect(audit.SYSTEM)
    print(f"    {full.flags:,} flags, {full.created:,} orders", flush=True)

    analyst = Principal(id=-1, name="bench", roles=frozenset({"analyst"}), station_ids=frozenset({station}))
    daily = list(demo_calls.generate(3000, end + timedelta(days=1), 1, places, station, seed=11, prefix="N"))
    with timed("import 3,000 calls (API path)", results, "-"):
        result = await calls.import_objects(
            [{**v, "received_at": v["received_at"].isoformat(), "station": ""} for v in daily],
            analyst,
            audit.SYSTEM,
            "Asia/Shanghai",
        )
    with timed("incremental detection after 3,000 calls", results, "<= 1 s"):
        await orders.detect(audit.SYSTEM, batch=result.batch_id)

    tmp = Path(tempfile.mkdtemp())
    (tmp / "imports").mkdir()
    with open(tmp / "imports" / "bench.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["call_id", "received_at", "caller_phone", "address", "category", "summary"])
        for v in demo_calls.generate(args.csv_rows, end, 365, places, station, seed=13, prefix="C"):
            writer.writerow(
                [v["call_id"], v["received_at"].isoformat(), v["caller_phone"], v["address"], v["category"], "bench"]
            )
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with timed(f"import {args.csv_rows:,} CSV rows (preview + import)", results, "<= 30 s"):
        await calls.preview_file(tmp, "bench", analyst, "Asia/Shanghai")
        probing = asyncio.Event()
        probing.set()
        probe = asyncio.ensure_future(probe_writes(probing))
        imported = await calls.import_file(tmp, "bench", "bench.csv", analyst, audit.SYSTEM, "Asia/Shanghai")
        probing.clear()
        await probe  # its last write, perhaps waiting all along, ends now: its wait counts
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"    {imported.created:,} created; peak RSS {peak:.0f} MB (was {before / 1024:.0f} MB before)", flush=True)
    results.append(("peak memory (whole process)", peak, "< 300 MB"))
    waits = sorted(WRITE_WAITS)
    print(f"    {len(waits)} writes beside the import, longest {waits[-1]:.3f} s", flush=True)
    results.append(("longest wait of a write beside the 100,000-row import", waits[-1], "<= 1 s"))

    last = end.date()
    for label, coro in (
        (
            "metrics, last 30 days + a year before",
            lambda: calls.metrics(analyst, last - timedelta(days=29), last, "Asia/Shanghai"),
        ),
        ("metrics, a whole year", lambda: calls.metrics(analyst, last - timedelta(days=364), last, "Asia/Shanghai")),
    ):
        await coro()  # warm
        with timed(label, results, "<= 0.2 s"):
            await coro()
    from app.services import dashboard

    await dashboard.overview(analyst, last, "Asia/Shanghai")
    with timed("dashboard page data", results, "<= 0.2 s"):
        await dashboard.overview(analyst, last, "Asia/Shanghai")
    total = await Call.count()
    print(f"  calls in the database: {total:,}; grids {await Grid.count()}", flush=True)
    if hasattr(engine, "close_connection_pool"):
        await engine.close_connection_pool()
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=3 * 365)
    parser.add_argument("--csv-rows", type=int, default=100_000)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="qianmo-bench-"))
    url, pg_name = setup_database(args.engine, tmp)
    try:
        results = asyncio.run(run(args, url))
    finally:
        if pg_name:
            drop_database(pg_name)
    print(f"\n| {args.engine} | seconds (or MB) | target |\n| --- | --- | --- |")
    for label, value, target in results:
        print(f"| {label} | {value:.3f} | {target} |")


if __name__ == "__main__":
    main()
