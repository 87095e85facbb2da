"""Map benchmark (issue 18): the demo district's grids and places under two years of a big
district's data (1,000,000 calls and 200,000 field logs by default), on SQLite.

    python bench/map.py                      # --calls 200000 --logs 50000 for a quick run

Measures (targets from issue 18, on this 2-core machine):
  the map's data for a month (services/map.hotspots, calls layer)     <= 200 ms
  the same for the field-logs layer, a flag layer and the alerts layer  <= 200 ms
  GET /map for a month, gzipped                                         <= 200 KB
The bulk rows are written with sqlite3 directly (setup, not measured); everything measured
goes through the app's own services and HTTP."""

from __future__ import annotations

import argparse
import asyncio
import gzip
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def bulk(path: Path, calls: int, logs: int, alerts: int) -> None:
    db = sqlite3.connect(path)
    places = db.execute("SELECT id, grid FROM place").fetchall()
    station = db.execute("SELECT id FROM station").fetchone()[0]
    author = db.execute("SELECT person FROM person_role WHERE role = 'officer'").fetchone()[0]
    rng = random.Random(18)
    end = datetime.now(timezone.utc)
    span = 730 * 86400

    def when() -> str:
        return (end - timedelta(seconds=rng.randrange(span))).isoformat()

    rows = []
    for i in range(calls):
        place, grid = rng.choice(places)
        rows.append((f"B{i}", when(), "addr", "addr", "纠纷", station, place, grid, rng.random() < 0.1))
    db.executemany(
        "INSERT INTO call (call_id, received_at, address, address_key, category, station, place, grid, is_repeat, "
        "caller_phone, summary, disposition, non_police) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '', '', '', 0)",
        rows,
    )
    rows = []
    for _ in range(logs):
        place, grid = rng.choice(places)
        rows.append((str(uuid.uuid4()), "contact", author, grid, place, when()))
    db.executemany(
        "INSERT INTO field_log (client_uuid, kind, author, grid, place, occurred_at, note, follow_up_done, "
        "subject_kind, subject_name, subject_phone, tags, topic, dispute_type, mediators, outcome, terms, "
        "created_at, updated_at, void_reason) VALUES (?, ?, ?, ?, ?, ?, '', 0, '', '', '', '', '', '', '', '', '', "
        "?, ?, '')",
        [(*r, r[5], r[5]) for r in rows],
    )
    # 20,000 grid alerts over the two years (a busy district's grid workers): the alerts layer.
    sender = db.execute("SELECT person FROM person_role WHERE role = 'grid_worker'").fetchone()[0]
    rows = []
    for _ in range(alerts):
        place, grid = rng.choice(places)
        rows.append((str(uuid.uuid4()), grid, station, place, sender, rng.choice(("open", "closed", "closed")), when()))
    db.executemany(
        "INSERT INTO grid_alert (client_uuid, grid, station, place, person, state, created_at, place_text, text, "
        "urgency, ack_kind, level, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, '', 'bench', 'urgent', '', 0, '')",
        rows,
    )
    # A work order of 一地多起 holding every tenth call: the flag layer's join has work to do.
    db.execute(
        "INSERT INTO work_order (rule, rule_key, title, instructions, state, transfer, created_at, updated_at) "
        "VALUES ('repeat_place', 'bench', 'bench', '', 'assigned', 0, ?, ?)",
        (end.isoformat(), end.isoformat()),
    )
    order = db.execute("SELECT MAX(id) FROM work_order").fetchone()[0]
    db.execute(f'INSERT INTO work_order_call ("order", call) SELECT {order}, id FROM call WHERE id % 10 = 0')
    db.commit()
    db.execute("ANALYZE")
    db.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--logs", type=int, default=200_000)
    parser.add_argument("--alerts", type=int, default=20_000)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="qianmo-bench-map-"))
    path = tmp / "bench.sqlite3"
    os.environ["QIANMO_DATABASE_URL"] = f"sqlite:///{path}"
    os.environ["PICCOLO_CONF"] = "piccolo_conf"
    from app.cli import migrate
    from app.services.demo import load_demo

    migrate()
    asyncio.run(load_demo())
    started = time.perf_counter()
    bulk(path, args.calls, args.logs, args.alerts)
    print(f"setup: {args.calls:,} calls, {args.logs:,} field logs in {time.perf_counter() - started:.0f} s")

    from app.domain.access import Principal
    from app.services import map as hotspots
    from app.tables import PersonRole

    async def measure() -> None:
        people = {}
        for role in ("analyst", "supervisor"):
            row = await PersonRole.select(PersonRole.person, PersonRole.station).where(PersonRole.role == role).first()
            people[role] = Principal(
                id=row["person"], name="bench", roles=frozenset({role}), station_ids=frozenset({row["station"]})
            )
        today = date.today()
        month = hotspots.Period(today - timedelta(days=29), today)
        for layer in ("calls", "logs", "repeat_place", "alerts"):
            me = people["supervisor" if layer == "alerts" else "analyst"]  # analysts see no alerts
            times = []
            for _ in range(7):
                t = time.perf_counter()
                data = await hotspots.hotspots(me, layer, month, "Asia/Shanghai")
                times.append((time.perf_counter() - t) * 1000)
            print(
                f"map data, a month, {layer:>12}: median {statistics.median(times):6.1f} ms, "
                f"max {max(times):6.1f} ms ({data['total']:,} counted)"
            )

    asyncio.run(measure())

    from litestar.testing import TestClient

    from app.main import create_app
    from app.settings import Settings

    settings = Settings(database_url=f"sqlite:///{path}", secret_key="bench", demo=True, jobs_every_seconds=0)
    with TestClient(app=create_app(settings), base_url="http://testserver.local") as http:
        http.get("/offline")
        person = asyncio.run(_person("analyst"))
        http.post(
            "/signin/demo",
            data={"person": str(person), "next": "/"},
            headers={"x-csrftoken": http.cookies["qianmo_csrf"]},
            follow_redirects=False,
        )
        body = http.get("/map").content
        print(f"GET /map: {len(body) / 1024:.1f} KB, gzipped {len(gzip.compress(body)) / 1024:.1f} KB")
        person = asyncio.run(_person("supervisor"))
        http.post(
            "/signin/demo",
            data={"person": str(person), "next": "/"},
            headers={"x-csrftoken": http.cookies["qianmo_csrf"]},
            follow_redirects=False,
        )
        body = http.get("/map?layer=alerts").content
        print(
            f"GET /map?layer=alerts (supervisor): {len(body) / 1024:.1f} KB, gzipped {len(gzip.compress(body)) / 1024:.1f} KB"
        )


async def _person(role: str) -> int:
    from app.tables import PersonRole

    return (await PersonRole.select(PersonRole.person).where(PersonRole.role == role).first())["person"]


if __name__ == "__main__":
    main()
