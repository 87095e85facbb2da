#!/usr/bin/env python3
"""Where a page's server CPU goes: the app in this process (no network), a demo person signed
in, one path requested N times under cProfile.

    python bench/profile_page.py /field                   # the demo officer (SQLite, a fresh demo)
    python bench/profile_page.py /agency --who 部门工作人员 --top 40
    python bench/profile_page.py '/t/{tracking}' --who ''        # {tracking} {matter} {log} {shift}: a demo row
    QIANMO_BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/qianmo_city python bench/profile_page.py /field

Prints the CPU milliseconds per request (time.process_time, profiler off), the number of SQL
statements per request, then the profile's top functions by cumulative and by own time. On a
given database the statement count and the ranking are what to compare between commits; the
milliseconds are about what uvicorn adds (~0.1 ms) short of `bench/city.py --demo`.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.city import DEMO, HISTORY  # noqa: E402  (what `qianmo demo` loads)


def prepare() -> None:
    """A fresh demo (as `qianmo demo` loads it) on SQLite unless a database is named."""
    if not os.environ.get("QIANMO_BENCH_DATABASE_URL"):
        folder = Path(tempfile.mkdtemp(prefix="qianmo-profile-"))
        os.environ["QIANMO_DATABASE_URL"] = f"sqlite:///{folder / 'demo.sqlite3'}"
        for step in (["-m", "app.cli", "migrate"], ["-c", DEMO], ["-c", HISTORY]):
            subprocess.run([sys.executable, *step], cwd=ROOT, check=True, capture_output=True, env=os.environ)
    else:
        os.environ["QIANMO_DATABASE_URL"] = os.environ["QIANMO_BENCH_DATABASE_URL"]
    os.environ.update(
        QIANMO_DEMO="1", QIANMO_SECRET_KEY="bench-profile", PICCOLO_CONF="piccolo_conf", QIANMO_LOG_LEVEL="WARNING"
    )
    os.environ.setdefault("QIANMO_PUBLIC_BASE_URL", "http://localhost")


class Counting:
    """Counts the statements the engine runs (wraps its run_querystring)."""

    def __init__(self) -> None:
        from piccolo.engine import engine_finder

        kind = type(engine_finder())
        self.count = 0
        original = kind.run_querystring

        async def counted(engine, *args, **kwargs):
            self.count += 1
            return await original(engine, *args, **kwargs)

        kind.run_querystring = counted  # type: ignore[method-assign]


async def main(args: argparse.Namespace) -> None:
    prepare()
    from app.main import create_app

    app = create_app()
    args.path = await _resolve(args.path)
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            if args.who:
                page = (await client.get("/signin")).text
                marker = page.index(args.who)
                person = page[:marker].rsplit('name="person" value="', 1)[1].split('"', 1)[0]
                await client.post(
                    "/signin/demo",
                    data={"person": person, "next": "/"},
                    headers={"x-csrftoken": client.cookies["qianmo_csrf"]},
                )
            for _ in range(20):  # warm: templates compiled, caches filled
                response = await client.get(args.path)
            if response.status_code != 200:
                raise SystemExit(f"{args.path}: {response.status_code}")
            counter = Counting()
            started = time.process_time()
            for _ in range(args.requests):
                await client.get(args.path)
            cpu = (time.process_time() - started) * 1000 / args.requests
            print(f"{args.path}: {cpu:.2f} ms CPU per request, {counter.count / args.requests:.1f} statements")
            if not args.top:
                return
            profile = cProfile.Profile()
            profile.enable()
            for _ in range(args.requests):
                await client.get(args.path)
            profile.disable()
    stats = pstats.Stats(profile).strip_dirs()
    calls = sum(entry[1] for entry in stats.stats.values())  # type: ignore[attr-defined]
    print(f"{calls / args.requests:,.0f} Python function calls per request (the steadier measure on a busy machine)")
    stats.sort_stats("cumulative").print_stats(args.top)
    stats.sort_stats("tottime").print_stats(args.top)
    if args.callers:
        stats.print_callers(args.callers)


# Ids a path may name as {tracking}, {matter}, {log} or {shift}: the newest of the demo's rows.
_IDS = {
    "tracking": "SELECT tracking AS v FROM report_reporter ORDER BY id DESC LIMIT 1",
    "matter": "SELECT id AS v FROM report WHERE responsible_agency = "
    "(SELECT agency FROM person_role WHERE role = 'agency_staff' ORDER BY id LIMIT 1) ORDER BY id DESC LIMIT 1",
    "log": "SELECT id AS v FROM field_log ORDER BY id DESC LIMIT 1",
    "shift": "SELECT id AS v FROM patrol_shift ORDER BY id DESC LIMIT 1",
}


async def _resolve(path: str) -> str:
    from app.tables import Station

    for name, sql in _IDS.items():
        if "{" + name + "}" in path:
            rows = await Station.raw(sql)
            if not rows:
                raise SystemExit(f"the database has no row for {{{name}}}")
            path = path.replace("{" + name + "}", str(rows[0]["v"]))
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("path")
    parser.add_argument("--who", default="社区民警", help="the demo person's role label on /signin ('' for none)")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--top", type=int, default=30, help="0: no profile (to run under py-spy)")
    parser.add_argument("--callers", default="", help="a function name pattern: who calls it, and how often")
    asyncio.run(main(parser.parse_args()))
