#!/usr/bin/env python3
"""City-size benchmark (issue 16), PostgreSQL: the daily pages of an officer, a grid worker, an
agency person and a volunteer on a city's data, with one app process.

    python bench/city.py                       # the full city: build once (kept), then measure
    python bench/city.py --scale 0.01          # a small copy, to try the script
    python bench/city.py --rebuild             # build the data set again
    python bench/city.py --demo                # the same pages on the demo district alone

The data set (built reproducibly in the database `qianmo_city` on the test server, kept between
runs; setup, not measured): the demo district plus nine stations like it (10 stations, 10,000
people), 3 years of 1M 110 calls each, 5M field logs, 300,000 resident reports and routed
matters, 50,000 volunteer shifts with their sign-ups. Rows are written by INSERT … SELECT on the
server; every page measured goes through HTTP as a browser would send it.

Prints, per page: p50/p99 at concurrency 1 (≈ server time, on loopback) and p99 at concurrency
50 (what a busy minute feels like), and the app process's CPU time per request. Then the
process's resident memory. Targets: ≤ 100 ms p99 server time for every daily page; one process ≤
250 MB resident after the run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import free_port, latencies, signed_in  # noqa: E402

SERVER = os.environ.get("QIANMO_BENCH_SERVER_URL", "postgresql://postgres@127.0.0.1:5432/test")
NAME = "qianmo_city"  # the full city; a --scale below 1 builds qianmo_city_try beside it, --demo qianmo_city_demo
DEMO = "import asyncio; from app.services.demo import load_demo; asyncio.run(load_demo())"
# What `qianmo demo` loads besides the district: its calls, matters and alerts (for --demo).
HISTORY = (
    "import asyncio; from app.services import demo_calls, demo_matters, demo_alerts\n"
    "for part in (demo_calls, demo_matters, demo_alerts): asyncio.run(part.load())"
)
FULL = {"calls": 3_000_000, "logs": 5_000_000, "reports": 300_000, "shifts": 50_000, "people": 10_000}

# The nine stations added to the demo's: each like it (two offices, four grids each, four places a grid).
ORG_SQL = """
INSERT INTO station (bureau, name, code, phone)
  SELECT 1, '城区' || s || '派出所', 'CITY' || s, '0527-8000' || s FROM generate_series(2, 10) s;
INSERT INTO office (station, name, code)
  SELECT st.id, st.name || '第' || o || '警务室', st.code || '-O' || o
  FROM station st, generate_series(1, 2) o WHERE st.code LIKE 'CITY%';
INSERT INTO grid (office, name, code)
  SELECT f.id, f.name || '网格' || g, f.code || '-G' || g FROM office f, generate_series(1, 4) g WHERE f.code LIKE 'CITY%';
INSERT INTO place (grid, name, kind, address, lat, lon)
  SELECT gr.id, gr.name || '小区' || p, 'estate', gr.name || p || '号', 33.9 + random() * 0.1, 118.2 + random() * 0.1
  FROM grid gr, generate_series(1, 4) p WHERE gr.code LIKE 'CITY%';
CREATE TABLE city_place AS
  SELECT row_number() OVER (ORDER BY p.id) AS i, p.id AS place, p.grid, g.office, f.station
  FROM place p JOIN grid g ON g.id = p.grid JOIN office f ON f.id = g.office;
CREATE TABLE city_grid AS
  SELECT row_number() OVER (ORDER BY g.id) AS i, g.id AS grid, g.office, f.station
  FROM grid g JOIN office f ON f.id = g.office;
"""

# A thousand people per station: 100 officers, 200 grid workers, 680 volunteers, 10 supervisors
# and 10 analysts (the demo's own eight people stay as they are).
PEOPLE_SQL = """
INSERT INTO person (name, phone) SELECT '城' || n, '139' || lpad(n::text, 8, '0') FROM generate_series(1, {people}) n;
INSERT INTO person_role (person, role, station, office, grid)
  SELECT p.id, r.role,
    CASE WHEN r.role IN ('supervisor', 'analyst') THEN g.station END,
    CASE WHEN r.role = 'officer' THEN g.office END,
    CASE WHEN r.role IN ('grid_worker', 'volunteer') THEN g.grid END
  FROM person p
  CROSS JOIN LATERAL (SELECT substr(p.name, 2)::int AS n) k
  CROSS JOIN LATERAL (SELECT CASE WHEN k.n % 1000 < 100 THEN 'officer' WHEN k.n % 1000 < 300 THEN 'grid_worker'
    WHEN k.n % 1000 < 980 THEN 'volunteer' WHEN k.n % 1000 < 990 THEN 'supervisor' ELSE 'analyst' END AS role) r
  JOIN city_grid g ON g.i = 1 + k.n % (SELECT count(*) FROM city_grid)
  WHERE p.name LIKE '城%';
-- Who writes a place's logs and leads and walks its patrols: the k-th officer of its office, the
-- k-th volunteer of its grid (joined by number: a lookup per row would take hours at 5M rows).
CREATE TABLE city_officer AS
  SELECT office, person, row_number() OVER (PARTITION BY office ORDER BY person) - 1 AS k,
         count(*) OVER (PARTITION BY office) AS n
  FROM person_role WHERE role = 'officer' AND office IS NOT NULL;
CREATE TABLE city_volunteer AS
  SELECT grid, person, row_number() OVER (PARTITION BY grid ORDER BY person) - 1 AS k,
         count(*) OVER (PARTITION BY grid) AS n
  FROM person_role WHERE role = 'volunteer' AND grid IS NOT NULL;
CREATE INDEX ON city_officer (office, k);
CREATE INDEX ON city_volunteer (grid, k);
"""

CALLS_SQL = """
INSERT INTO call (call_id, received_at, caller_phone, caller_key, address, address_key, category, summary,
                  station, place, grid, is_repeat)
  SELECT 'CITY' || x.s, now() - x.age, '138' || lpad(x.caller::text, 8, '0'), md5(x.caller::text),
         p.place || '号', 'a' || p.place, (ARRAY['纠纷', '盗窃', '噪音', '交通事故', '求助'])[1 + x.s % 5],
         '报警人称有纠纷', p.station, p.place, p.grid, x.s % 10 = 0
  FROM (SELECT s, random() * interval '1095 days' AS age, floor(random() * 200000)::int AS caller,
               1 + floor(random() * (SELECT count(*) FROM city_place))::int AS r
        FROM generate_series({start}, {end}) s) x
  JOIN city_place p ON p.i = x.r;
"""

LOGS_SQL = """
INSERT INTO field_log (client_uuid, kind, author, grid, place, occurred_at, note, subject_kind, subject_name,
                       topic, leaflets, reached, created_at, updated_at)
  SELECT 'city-' || x.s, CASE WHEN x.s % 5 = 0 THEN 'campaign_drop' ELSE 'contact' END, a.person, p.grid, p.place,
         now() - x.age, '走访了解社区情况，未发现异常。', CASE WHEN x.s % 5 = 0 THEN '' ELSE 'resident' END,
         CASE WHEN x.s % 5 = 0 THEN '' ELSE '居民' || x.s % 1000 END, CASE WHEN x.s % 5 = 0 THEN 'fraud' ELSE '' END,
         CASE WHEN x.s % 5 = 0 THEN 50 END, CASE WHEN x.s % 5 = 0 THEN 30 END, now() - x.age, now() - x.age
  FROM (SELECT s, random() * interval '1095 days' AS age,
               1 + floor(random() * (SELECT count(*) FROM city_place))::int AS r FROM generate_series({start}, {end}) s) x
  JOIN city_place p ON p.i = x.r
  JOIN (SELECT DISTINCT office, n FROM city_officer) c ON c.office = p.office
  JOIN city_officer a ON a.office = p.office AND a.k = x.s % c.n;
"""

REPORTS_SQL = """
INSERT INTO report (category, status, source, station, office, grid, place, address, description, created_at,
                    updated_at, responsible_agency, agency_state, routed_at, accept_due, finish_due, done_at,
                    closed_at)
  SELECT (SELECT id FROM report_category ORDER BY id OFFSET x.s % 5 LIMIT 1),
         CASE WHEN x.age >= interval '3 days' THEN 'done' WHEN x.s % 3 = 0 THEN 'transferred' ELSE 'received' END,
         'web', p.station, p.office, p.grid, p.place, p.place || '号', '楼道灯坏了，晚上很黑', now() - x.age,
         now() - x.age,
         CASE WHEN x.s % 3 = 0 THEN (SELECT id FROM agency ORDER BY id OFFSET x.s % 6 LIMIT 1) END,
         -- A third went to an agency: the last three days' still open there (new or accepted), the
         -- older answered; each with its deadlines, as routing sets them.
         CASE WHEN x.s % 3 <> 0 THEN '' WHEN x.age >= interval '3 days' THEN 'answered'
              WHEN x.s % 2 = 0 THEN 'new' ELSE 'accepted' END,
         CASE WHEN x.s % 3 = 0 THEN now() - x.age END,
         CASE WHEN x.s % 3 = 0 THEN now() - x.age + interval '1 day' END,
         CASE WHEN x.s % 3 = 0 THEN now() - x.age + interval '5 days' END,
         CASE WHEN x.age >= interval '3 days' THEN now() - x.age + interval '2 days' END,
         CASE WHEN x.age >= interval '3 days' THEN now() - x.age + interval '2 days' END
  FROM (SELECT s, random() * interval '1095 days' AS age,
               1 + floor(random() * (SELECT count(*) FROM city_place))::int AS r FROM generate_series(1, {reports}) s) x
  JOIN city_place p ON p.i = x.r;
INSERT INTO report_reporter (report, tracking, description, locale, created_at)
  SELECT id, 'Z' || translate(lpad(to_hex(id), 7, '0'), '0123456789abcdef', 'ABCDEFGHJKLMNPQR'), description, 'zh-CN', created_at FROM report
  WHERE NOT EXISTS (SELECT 1 FROM report_reporter rr WHERE rr.report = report.id);
"""

SHIFTS_SQL = """
INSERT INTO patrol_shift (series, grid, grids, route, meeting_point, starts_at, ends_at, min_volunteers,
                          max_volunteers, leader, created_by, created_at)
  SELECT '', g.grid, g.grid::text, '小区—主干道', '小区东门', t.starts, t.starts + interval '2 hours', 2, 6,
         o.person, o.person, t.starts - interval '7 days'
  FROM (SELECT s, date_trunc('hour', now() - interval '1000 days' + random() * interval '1030 days') AS starts,
               1 + floor(random() * (SELECT count(*) FROM city_grid))::int AS r FROM generate_series(1, {shifts}) s) t
  JOIN city_grid g ON g.i = t.r
  JOIN city_officer o ON o.office = g.office AND o.k = 0;
INSERT INTO shift_signup (shift, person, status, created_at, check_in_at, check_out_at, attendance, minutes)
  SELECT sh.id, v.person, 'confirmed', sh.created_at,
         CASE WHEN sh.ends_at < now() THEN sh.starts_at END, CASE WHEN sh.ends_at < now() THEN sh.ends_at END,
         CASE WHEN sh.ends_at < now() THEN 'present' ELSE '' END, CASE WHEN sh.ends_at < now() THEN 120 ELSE 0 END
  FROM patrol_shift sh
  CROSS JOIN generate_series(0, 2) j
  JOIN (SELECT DISTINCT grid, n FROM city_volunteer) c ON c.grid = sh.grid
  JOIN city_volunteer v ON v.grid = sh.grid AND v.k = (sh.id + j * 7) % c.n
  ON CONFLICT DO NOTHING;
"""


def url(name: str) -> str:
    return urlunparse(urlparse(SERVER)._replace(path=f"/{name}"))


def env_for(database_url: str, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "QIANMO_DEMO": "1",
        "QIANMO_SECRET_KEY": "bench-city",
        "PICCOLO_CONF": "piccolo_conf",
        "QIANMO_DATABASE_URL": database_url,
        "QIANMO_PUBLIC_BASE_URL": f"http://localhost:{port}",
        "QIANMO_LOG_LEVEL": "WARNING",
        # One client stands for many residents here: the tracking page's per-browser limit would answer 429.
        "QIANMO_TRACK_PER_MINUTE": "1000000",
        "QIANMO_TRACK_ADDRESS_PER_MINUTE": "1000000",
    }


async def build(scale: float, rebuild: bool) -> str:
    """The data set, built once and kept (a marker table says it is complete). Scale 0: the demo
    district alone (the target of ≤ 2 ms CPU per signed-in page is set on the demo)."""
    name = NAME if scale >= 1 else f"{NAME}_try" if scale > 0 else f"{NAME}_demo"
    admin = await asyncpg.connect(SERVER)
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists and not rebuild:
            city = await asyncpg.connect(url(name))
            try:
                if await city.fetchval("SELECT to_regclass('city_done') IS NOT NULL"):
                    return url(name)
            finally:
                await city.close()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    env = env_for(url(name), 0)
    for step in (["-m", "app.cli", "migrate"], ["-c", DEMO], *([["-c", HISTORY]] if scale == 0 else [])):
        subprocess.run([sys.executable, *step], cwd=ROOT, env=env, check=True, capture_output=True)
    size = {k: max(1, int(v * scale)) for k, v in FULL.items()}
    city = await asyncpg.connect(url(name))
    try:
        if scale == 0:
            await city.execute("CREATE TABLE city_done (built_at timestamptz DEFAULT now())")
            return url(name)
        await _run(city, "stations, offices, grids, places", ORG_SQL)
        await _run(city, f"{size['people']:,} people", PEOPLE_SQL.format(**size))
        await _batched(city, "calls", CALLS_SQL, size["calls"])
        await _batched(city, "field logs", LOGS_SQL, size["logs"])
        await _run(city, f"{size['reports']:,} reports", REPORTS_SQL.format(**size))
        await _run(city, f"{size['shifts']:,} shifts", SHIFTS_SQL.format(**size))
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", "import asyncio; from app.services import matter_facts; "
             "asyncio.run(matter_facts.refresh_all())"],
            cwd=ROOT, env=env, check=True,
        )  # fmt: skip
        print(f"  the reports' stored facts: {time.perf_counter() - started:.0f} s", flush=True)
        await _run(city, "ANALYZE", "ANALYZE")
        await city.execute("CREATE TABLE city_done (built_at timestamptz DEFAULT now())")
    finally:
        await city.close()
    return url(name)


async def _run(conn: asyncpg.Connection, what: str, sql: str) -> None:
    started = time.perf_counter()
    await conn.execute(sql)
    print(f"  {what}: {time.perf_counter() - started:.0f} s", flush=True)


async def _batched(conn: asyncpg.Connection, what: str, sql: str, total: int, batch: int = 500_000) -> None:
    started = time.perf_counter()
    for start in range(1, total + 1, batch):
        await conn.execute(sql.format(start=start, end=min(total, start + batch - 1)))
    print(f"  {total:,} {what}: {time.perf_counter() - started:.0f} s", flush=True)


def start(database_url: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:app_factory", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--no-access-log"],
        cwd=ROOT, env=env_for(database_url, port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{base}/healthz").status_code == 200:
                return server, base
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    server.kill()
    raise SystemExit("server did not start")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def resident_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def pct(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, int(len(values) * p))]


async def pages(database_url: str) -> dict[str, list[str]]:
    """The paths each demo person opens daily, with ids from the data set."""
    conn = await asyncpg.connect(database_url)
    try:
        officer = await conn.fetchval("SELECT person FROM person_role WHERE role = 'officer' ORDER BY id LIMIT 1")
        log = await conn.fetchval(
            "SELECT id FROM field_log WHERE author = $1 ORDER BY occurred_at DESC LIMIT 1", officer
        ) or await conn.fetchval("SELECT id FROM field_log ORDER BY occurred_at DESC LIMIT 1")
        tracking = await conn.fetchval("SELECT tracking FROM report_reporter ORDER BY id DESC LIMIT 1")
        matter = await conn.fetchval(
            "SELECT id FROM report WHERE responsible_agency = (SELECT agency FROM person_role "
            "WHERE role = 'agency_staff' ORDER BY id LIMIT 1) ORDER BY created_at DESC LIMIT 1"
        )
        shift = await conn.fetchval("SELECT id FROM patrol_shift WHERE grid = 3 ORDER BY starts_at DESC LIMIT 1")
    finally:
        await conn.close()
    return {
        "社区民警": [
            "/field",
            "/field/contacts/new",
            "/field/logs",
            f"/field/logs/{log}",
            "/orders",
            "/reports",
            "/area",
        ],
        "网格员": ["/", "/alerts", "/alerts/new"],
        "部门工作人员": ["/agency", f"/agency/{matter}"],
        "平安志愿者": ["/volunteers/my", "/volunteers/shifts", f"/volunteers/shifts/{shift}"],
        "": [f"/t/{tracking}", "/report"],
    }


async def measure(database_url: str, requests: int) -> None:
    server, base = start(database_url)
    try:
        print(f"{'page':34} {'p50 c1':>7} {'p99 c1':>7} {'p99 c50':>8} {'CPU ms':>7} {'RSS MB':>7} errors")
        for role, paths in (await pages(database_url)).items():
            client = await signed_in(base, role) if role else httpx.AsyncClient(base_url=base, timeout=60)
            for path in paths:
                if "None" in path:  # the data set has no such row (the demo: no field log yet)
                    print(f"{path[:34]:34} (no row to open)")
                    continue
                await client.get(path)  # warm: templates compiled, caches filled
                cpu = cpu_seconds(server.pid)
                one, errors = await latencies(client, path, requests, 1)
                spent = (cpu_seconds(server.pid) - cpu) * 1000 / requests
                busy, more = await latencies(client, path, requests, 50)
                print(
                    f"{path[:34]:34} {pct(one, 0.5):7.1f} {pct(one, 0.99):7.1f} {pct(busy, 0.99):8.1f} "
                    f"{spent:7.2f} {resident_mb(server.pid):7.0f} {errors + more}",
                    flush=True,
                )
            await client.aclose()
        print(f"resident memory after the run: {resident_mb(server.pid):.0f} MB")
    finally:
        server.terminate()
        server.wait(timeout=10)


async def main(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    database_url = await build(0 if args.demo else args.scale, args.rebuild)
    print(f"data set ready in {time.perf_counter() - started:.0f} s: {database_url}")
    await measure(database_url, args.requests)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0, help="a fraction of the full city (to try the script)")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--demo", action="store_true", help="the demo district alone (CPU per request)")
    parser.add_argument("--requests", type=int, default=200)
    asyncio.run(main(parser.parse_args()))
