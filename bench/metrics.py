"""Platform-metrics benchmark: the demo district with ~50,000 resident reports and routed
matters over two years (services/demo_matters.generate: steps, returns, transfers on, ratings,
reopens), on SQLite or PostgreSQL.

    python bench/metrics.py --engine sqlite          # or postgres; --matters 10000 for a quick run

Measures (target from issue 18): the metrics API's computation for a year grouped by agency
<= 200 ms; also the page's (with the year earlier and the work orders) and grouped by grid.
Setup (the bulk insert) is not measured; the measured calls go through the app's service."""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from calls import drop_database, setup_database  # noqa: E402


async def measure(label: str, make, runs: int = 20) -> float:
    await make()  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        await make()
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    p99 = sorted(times)[max(0, round(0.99 * len(times)) - 1)]
    print(f"| {label} | {median * 1000:.0f} ms | {p99 * 1000:.0f} ms |")
    return median


async def main(matters: int) -> None:
    from app.domain.access import Principal
    from app.services import demo_matters, matter_facts, platform_metrics
    from app.services.demo import load_demo
    from app.tables import Report, ReportStep

    await load_demo()
    setting = await demo_matters.setting()
    moment = datetime.now(timezone.utc)
    started = time.perf_counter()
    items = list(demo_matters.generate(matters, moment, 730, setting))
    for chunk in range(0, len(items), 5000):
        await demo_matters.insert(items[chunk : chunk + 5000])
    started_facts = time.perf_counter()
    await matter_facts.refresh_all()  # what the migration's backfill does
    print(f"backfill of the stored facts: {time.perf_counter() - started_facts:.0f} s")
    print(
        f"setup: {await Report.count()} matters, {await ReportStep.count()} steps in {time.perf_counter() - started:.0f} s"
    )
    admin = Principal(id=0, name="bench", roles=frozenset({"admin"}))
    supervisor = Principal(id=0, name="bench", roles=frozenset({"supervisor"}), station_ids=frozenset({1}))
    today = moment.date()
    year = platform_metrics.Period(today - timedelta(days=364), today, "Asia/Shanghai")
    month = platform_metrics.Period(today - timedelta(days=29), today, "Asia/Shanghai")
    print("| what | p50 | p99 |\n| --- | ---: | ---: |")
    await measure(
        "API: a year by agency (admin)", lambda: platform_metrics.platform(admin, year, "agency", extras=False)
    )
    await measure(
        "API: a year by agency (station key)",
        lambda: platform_metrics.platform(supervisor, year, "agency", extras=False),
    )
    await measure("API: a year by station", lambda: platform_metrics.platform(admin, year, "station", extras=False))
    await measure("API: a year by grid", lambda: platform_metrics.platform(admin, year, "grid", extras=False))
    await measure("API: 30 days by agency", lambda: platform_metrics.platform(admin, month, "agency", extras=False))
    await measure("page data: a year (+ a year earlier, work orders)", lambda: platform_metrics.platform(admin, year))
    # The page's parts: its charts' series (GROUP BY week/month) and the work orders.
    await measure(
        "  charts: matters per week, satisfaction per month", lambda: platform_metrics.matter_series(admin, year)
    )
    await measure("  charts: calls per week and a year earlier", lambda: platform_metrics.weekly_calls(admin, year))
    await measure("  work orders of the year", lambda: platform_metrics.order_matters(admin, year))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--matters", type=int, default=50_000)
    args = parser.parse_args()
    url, name = setup_database(args.engine, Path(tempfile.mkdtemp(prefix="qianmo-bench-")))
    os.environ["QIANMO_DATABASE_URL"] = url
    os.environ["PICCOLO_CONF"] = "piccolo_conf"
    try:
        from app.cli import migrate

        migrate()
        asyncio.run(main(args.matters))
    finally:
        if name:
            drop_database(name)
