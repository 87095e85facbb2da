#!/usr/bin/env python3
"""HTTP load on a local demo server: page latency and throughput, and concurrent writes.

Starts `uvicorn app.main:app_factory` on a free localhost port with a fresh database
(SQLite by default, or QIANMO_BENCH_DATABASE_URL), signs in as the demo officer and admin,
then sends a bounded number of requests with a fixed concurrency and prints p50/p95/max
latency and requests per second. Traffic goes to 127.0.0.1 only.

Targets (one bar of 4G is ~150 ms RTT; the server must not be the slow part):
  GET pages p95 < 50 ms at concurrency 10; 25 concurrent creates all succeed.
Usage: python bench/load.py [--requests 400] [--concurrency 10] [--workers 1]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
DEMO = "import asyncio; from app.services.demo import load_demo; asyncio.run(load_demo())"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(workers: int) -> tuple[subprocess.Popen, str]:
    tmp = Path(tempfile.mkdtemp(prefix="qianmo-bench-"))
    port = free_port()
    env = {
        **os.environ,
        "QIANMO_DEMO": "1",
        "QIANMO_SECRET_KEY": "bench",
        "PICCOLO_CONF": "piccolo_conf",
        "QIANMO_DATABASE_URL": os.environ.get("QIANMO_BENCH_DATABASE_URL", f"sqlite:///{tmp / 'bench.sqlite3'}"),
        "QIANMO_PUBLIC_BASE_URL": f"http://localhost:{port}",
        "QIANMO_LOG_LEVEL": "WARNING",
    }
    for step in (["-m", "app.cli", "migrate"], ["-c", DEMO]):
        subprocess.run([sys.executable, *step], cwd=ROOT, env=env, check=True, capture_output=True)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "app.main:app_factory",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--no-access-log",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{base}/healthz").status_code == 200:
                return server, base
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    server.kill()
    raise SystemExit("server did not start")


async def signed_in(base: str, role_label: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=base, timeout=30)
    page = (await client.get("/signin")).text
    token = client.cookies["qianmo_csrf"]
    marker = page.index(role_label)
    person = page[:marker].rsplit('name="person" value="', 1)[1].split('"', 1)[0]
    await client.post("/signin/demo", data={"person": person, "next": "/"}, headers={"x-csrftoken": token})
    return client


async def latencies(client: httpx.AsyncClient, path: str, total: int, concurrency: int) -> tuple[list[float], int]:
    """`total` GETs of `path` over `concurrency` connections: the sorted latencies (ms) and errors."""
    measured: list[float] = []
    errors = 0
    queue = iter(range(total))

    async def worker() -> None:
        nonlocal errors
        for _ in queue:
            started = time.perf_counter()
            response = await client.get(path)
            measured.append((time.perf_counter() - started) * 1000)
            errors += response.status_code != 200

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return sorted(measured), errors


async def measure(client: httpx.AsyncClient, path: str, total: int, concurrency: int) -> dict:
    started = time.perf_counter()
    measured, errors = await latencies(client, path, total, concurrency)
    elapsed = time.perf_counter() - started
    return {
        "path": path,
        "n": total,
        "rps": total / elapsed,
        "p50": statistics.median(measured),
        "p95": measured[int(len(measured) * 0.95) - 1],
        "max": measured[-1],
        "errors": errors,
    }


async def concurrent_creates(admin: httpx.AsyncClient, count: int) -> tuple[int, float]:
    token = admin.cookies["qianmo_csrf"]
    started = time.perf_counter()
    responses = await asyncio.gather(
        *(
            admin.post(
                "/admin/org/agency/new",
                data={"name": f"压测{i}", "code": f"B-{i}", "kind": "other"},
                headers={"x-csrftoken": token},
            )
            for i in range(count)
        )
    )
    return sum(r.status_code in (200, 303) for r in responses), (time.perf_counter() - started) * 1000


async def main(args: argparse.Namespace) -> None:
    server, base = start_server(args.workers)
    try:
        officer = await signed_in(base, "社区民警")
        admin = await signed_in(base, "系统管理员")
        anonymous = httpx.AsyncClient(base_url=base, timeout=30)
        results = [
            await measure(anonymous, "/", args.requests, args.concurrency),
            await measure(officer, "/area", args.requests, args.concurrency),
            await measure(admin, "/admin/org/place?q=紫薇", args.requests, args.concurrency),
            await measure(admin, "/people", args.requests, args.concurrency),
        ]
        print(f"{'path':32} {'n':>5} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} errors")
        for r in results:
            print(
                f"{r['path']:32} {r['n']:5d} {r['rps']:7.0f} {r['p50']:7.1f} {r['p95']:7.1f} {r['max']:7.1f} {r['errors']}"
            )
        ok, ms = await concurrent_creates(admin, 25)
        print(f"25 concurrent creates: {ok} succeeded in {ms:.0f} ms")
        for client in (officer, admin, anonymous):
            await client.aclose()
        if ok != 25 or any(r["errors"] for r in results):
            raise SystemExit(1)
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--workers", type=int, default=1)
    asyncio.run(main(parser.parse_args()))
