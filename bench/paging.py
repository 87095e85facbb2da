#!/usr/bin/env python3
"""The paged lists' deep pages on PostgreSQL (issue 16): EXPLAIN ANALYZE of the query each list's
service sends for a page far from the first (app/services/paging.py), on a city-size copy.

    python bench/paging.py             # build the data set once (kept), then explain
    python bench/paging.py --rebuild   # build it again

The data set (database `qianmo_paging` on the test server, kept between runs): the demo
district and nine stations like it, 1M calls, 1M field logs, 300,000 reports (a third routed to
agencies), 200,000 work orders (a quarter closed, without a deadline) and 2M audit rows, made by
bench/city.py's statements and those below. Prints, per list, the execution time and the index
the page is read from. Target: ≤ 100 ms a deep page (the city's target for a whole page); exit 1
when one is slower.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import city  # noqa: E402

NAME = "qianmo_paging"
URL = city.url(NAME)
TARGET_MS = 100.0
SIZE = {"calls": 1_000_000, "logs": 1_000_000, "reports": 300_000, "people": 10_000}
EXTRA_SQL = """
INSERT INTO work_order (rule, rule_key, title, instructions, station, grid, place, state, due_at, transfer,
                        created_at, updated_at)
  SELECT 'repeat_place', 'place:' || x.s, '工单' || x.s, '', p.station, p.grid, p.place,
         CASE WHEN x.s % 4 = 0 THEN 'closed' ELSE 'assigned' END,
         CASE WHEN x.s % 4 = 0 THEN NULL ELSE now() + x.age END, false, now() - x.age, now() - x.age
  FROM (SELECT s, random() * interval '400 days' AS age,
               1 + floor(random() * (SELECT count(*) FROM city_place))::int AS r FROM generate_series(1, 200000) s) x
  JOIN city_place p ON p.i = x.r;
INSERT INTO audit_event (at, actor_id, actor_role, action, object_type, object_id, changes, ip, request_id)
  SELECT now() - (s || ' seconds')::interval, s % 5000, 'officer',
         CASE WHEN s % 10000 = 0 THEN 'rare_action' ELSE (ARRAY['create', 'update', 'view_personal_data', 'sign_in'])[1 + s % 4] END,
         (ARRAY['field_log', 'report', 'call', 'person'])[1 + s % 4], s::text, '{}', '', ''
  FROM generate_series(1, 2000000) s;
UPDATE report SET agency_state = (ARRAY['new', 'accepted', 'answered'])[1 + id % 3], status = 'transferred',
                  accept_due = created_at + interval '1 day', finish_due = created_at + interval '7 days'
  WHERE responsible_agency IS NOT NULL;
UPDATE report SET reporters = 1 + (id % 7) / 5 + (id % 101) / 100;
ANALYZE;
CREATE TABLE city_done (built_at timestamptz DEFAULT now());
"""
# Who reads, and the anchor row of a deep page of each list (SQL on the data set).
ANALYST = "SELECT r.person FROM person_role r JOIN station s ON s.id = r.station WHERE role = 'analyst' AND s.code LIKE 'CITY%' LIMIT 1"
OFFICER = "SELECT r.person FROM person_role r JOIN office o ON o.id = r.office WHERE role = 'officer' AND o.code LIKE 'CITY%' LIMIT 1"
STAFF = "SELECT person FROM person_role WHERE role = 'agency_staff' LIMIT 1"


async def build(rebuild: bool) -> None:
    admin = await asyncpg.connect(city.SERVER)
    try:
        if await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", NAME) and not rebuild:
            conn = await asyncpg.connect(URL)
            try:
                if await conn.fetchval("SELECT to_regclass('city_done') IS NOT NULL"):
                    return
            finally:
                await conn.close()
        await admin.execute(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{NAME}"')
    finally:
        await admin.close()
    env = city.env_for(URL, 0)
    for step in (["-m", "app.cli", "migrate"], ["-c", city.DEMO]):
        subprocess.run([sys.executable, *step], cwd=ROOT, env=env, check=True, capture_output=True)
    conn = await asyncpg.connect(URL)
    try:
        await city._run(conn, "stations, offices, grids, places", city.ORG_SQL)
        await city._run(conn, "people", city.PEOPLE_SQL.format(**SIZE))
        await city._batched(conn, "calls", city.CALLS_SQL, SIZE["calls"])
        await city._batched(conn, "field logs", city.LOGS_SQL, SIZE["logs"])
        await city._run(conn, "reports", city.REPORTS_SQL.format(**SIZE))
        await city._run(conn, "work orders, audit rows, routed matters", EXTRA_SQL)
    finally:
        await conn.close()


async def explain() -> bool:
    """Each list's deep page as its service builds it: the query of 51 rows is caught on its way
    to the database and explained there. True when every page meets the target."""
    os.environ.update({"QIANMO_DATABASE_URL": URL, "PICCOLO_CONF": "piccolo_conf"})
    from piccolo.query.base import Query

    from app.domain import org as org_rules
    from app.domain.access import Principal, principal_from_rows
    from app.services import agency, audit, calls, fieldwork, orders, org, paging, reports
    from app.tables import Person, PersonRole

    caught: list[str] = []
    run = Query.run

    async def catching(self, *args, **kwargs):
        text = str(self)
        if f"LIMIT {paging.PAGE_SIZE + 1}" in text and "ORDER BY" in text:
            caught.append(text)
        return await run(self, *args, **kwargs)

    Query.run = catching  # type: ignore[method-assign]
    conn = await asyncpg.connect(URL)

    async def who(sql: str) -> Principal:
        person_id = await conn.fetchval(sql)
        person = await Person.select().where(Person.id == person_id).first()
        return principal_from_rows(person, await PersonRole.select().where(PersonRole.person == person_id))

    analyst, officer, staff = await who(ANALYST), await who(OFFICER), await who(STAFF)
    admin = Principal(id=-1, name="bench", roles=frozenset({"admin"}))
    station, offices, agency_id = (
        min(analyst.station_ids),
        ",".join(map(str, officer.office_ids)),
        min(staff.agency_ids),
    )
    anchor = conn.fetchval
    call = await anchor(
        f"SELECT id FROM call WHERE station = {station} ORDER BY received_at DESC, id DESC OFFSET 50000 LIMIT 1"
    )
    log = await anchor(
        "SELECT l.id FROM field_log l JOIN grid g ON g.id = l.grid "
        f"WHERE g.office IN ({offices}) ORDER BY occurred_at DESC, l.id DESC OFFSET 20000 LIMIT 1"
    )
    event = await anchor("SELECT id FROM audit_event ORDER BY id DESC OFFSET 1000000 LIMIT 1")
    report = await anchor(
        f"SELECT id FROM report WHERE station = {station} ORDER BY created_at DESC, id DESC OFFSET 5000 LIMIT 1"
    )
    order = await anchor(
        f"SELECT id FROM work_order WHERE station = {station} AND due_at IS NOT NULL ORDER BY due_at, id OFFSET 5000 LIMIT 1"
    )
    matter = await anchor(
        f"SELECT id FROM report WHERE responsible_agency = {agency_id} AND agency_state = 'new' "
        "ORDER BY finish_due, id OFFSET 3000 LIMIT 1"
    )
    place = await anchor("SELECT id FROM place ORDER BY active DESC, name, id OFFSET 100 LIMIT 1")
    cases = [
        ("110 calls, a station's analyst", calls.search(analyst, older=call)),
        ("110 calls, one category", calls.search(analyst, category="盗窃", older=call)),
        ("field logs, an officer", fieldwork.search(officer, fieldwork.LogFilter(), "Asia/Shanghai", log)),
        ("audit log", audit.search(audit.AuditFilter(), event)),
        ("audit log, a rare action", audit.search(audit.AuditFilter(action="rare_action"), event)),
        ("report queue, a station's analyst", reports.queue(analyst, reports.QueueFilter(status="all"), older=report)),
        (
            "report queue by reporters, all",
            reports.queue(admin, reports.QueueFilter(status="all", sort="joined"), older=report),
        ),
        ("work orders, a station's analyst", orders.search(analyst, "all", after=order)),
        ("work orders, all", orders.search(admin, "all", after=order)),
        ("an agency's new matters", agency.queue(staff, "new", after=matter)),
        ("places", org.list_items(org_rules.ENTITIES["place"], show_inactive=True, after=place)),
    ]
    met = True
    for label, page in cases:
        caught.clear()
        await page
        for sql in caught:
            plan = [r[0] for r in await conn.fetch("EXPLAIN (ANALYZE) " + sql)]
            ms = float(next(line for line in plan if line.startswith("Execution Time")).split()[2])
            scans = [line.split(" using ", 1)[1].split("  (")[0] for line in plan if " using " in line]
            index = scans[0] if scans else "(no index)"
            met &= ms <= TARGET_MS
            print(f"{ms:8.1f} ms  {label:36} {index}", flush=True)
    await conn.close()
    return met


async def main(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    await build(args.rebuild)
    print(f"data set ready ({time.perf_counter() - started:.0f} s)", flush=True)
    return 0 if await explain() else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rebuild", action="store_true")
    sys.exit(asyncio.run(main(parser.parse_args())))
