#!/usr/bin/env python3
"""Logging a contact at two app processes on one PostgreSQL, against a bare Litestar "hello".

As bench/write_contact.py (whose helpers it uses), with a second app process (uvicorn, the
same database and secret key) beside `qianmo demo`: one signed-in officer's contacts go to
both at once, half the connections each, and the combined contacts/s is set against one
hello process's req/s. Afterwards the field_log rows must equal the successes, with no
duplicate client_uuid. Numbers are printed, never asserted.

Usage: python bench/two_processes.py [--requests 3000] [--concurrency 50]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from write_contact import (  # noqa: E402  (bench/ is not a package)
    CONTACT_PATH,
    PG_SERVER,
    ROOT,
    Request,
    field_log_uuids,
    free_port,
    load,
    officer_places,
    pg_admin,
    sign_in,
    start_app,
    start_hello,
    stop,
    wait_healthy,
)


def start_second(database_url: str, tmp: Path, concurrency: int) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {
        "QIANMO_DB_POOL_SIZE": str(concurrency),
        **os.environ,
        "QIANMO_DEMO": "1",
        "QIANMO_DATABASE_URL": database_url,
        "PICCOLO_CONF": "piccolo_conf",
    }
    log = tmp / "second.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:app_factory", "--factory", "--port", str(port), "--no-access-log"],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    wait_healthy(f"http://127.0.0.1:{port}/healthz", process, log)
    return process, port


def main(args: argparse.Namespace) -> None:
    os.environ["QIANMO_SECRET_KEY"] = secrets.token_urlsafe(32)  # the same for both processes
    tmp = Path(tempfile.mkdtemp(prefix="qianmo-bench-two-"))
    pg_name = f"qianmo_bench_{uuid.uuid4().hex[:10]}"
    pg_admin(f'CREATE DATABASE "{pg_name}"')
    database_url = PG_SERVER.rsplit("/", 1)[0] + f"/{pg_name}"
    processes: list[subprocess.Popen] = []
    try:
        first, first_port, _ = start_app(database_url, tmp, args.concurrency // 2)
        processes.append(first)
        second, second_port = start_second(database_url, tmp, args.concurrency // 2)
        hello, hello_port = start_hello(tmp)
        processes += [second, hello]
        session = sign_in(f"http://127.0.0.1:{first_port}")
        places = officer_places(f"http://127.0.0.1:{second_port}", session)

        def contact(i: int) -> Request:
            client_uuid = str(uuid.uuid4())
            body = urlencode(
                {
                    "client_uuid": client_uuid,
                    "subject_kind": "resident",
                    "place": places[i % len(places)],
                    "note": f"走访 {i}",
                }
            ).encode()
            headers = {
                "Cookie": session.cookie,
                "x-csrftoken": session.csrf,
                "HX-Request": "true",
                "Content-Type": "application/x-www-form-urlencoded",
            }
            return Request("POST", CONTACT_PATH, headers, body, client_uuid)

        half = args.concurrency // 2
        hello_req = Request("GET", "/", {})

        async def warm_up() -> float:
            await load("warm-up", hello_port, lambda i: hello_req, args.warmup, args.concurrency, hello.pid)
            for port, process in ((first_port, first), (second_port, second)):
                await load("warm-up", port, contact, args.warmup, half, process.pid)
            measured = await load(
                "hello", hello_port, lambda i: hello_req, args.hello_requests, args.concurrency, hello.pid
            )
            return measured.rps

        async def both() -> list:
            return await asyncio.gather(
                load("first", first_port, contact, args.requests // 2, half, first.pid),
                load("second", second_port, contact, args.requests // 2, half, second.pid),
            )

        hello_rps = asyncio.run(warm_up())
        before = len(field_log_uuids(database_url))
        started = time.perf_counter()
        results = asyncio.run(both())
        seconds = time.perf_counter() - started
        after = Counter(field_log_uuids(database_url))
        ok = [u for r in results for u in r.ok_ids]
        errors = sum(r.errors for r in results)
        rate = len(ok) / seconds
        latencies = sorted(x for r in results for x in r.latencies)
        p99 = latencies[int(len(latencies) * 0.99) - 1] if latencies else 0  # ms, as load() keeps them
        lost = sum(1 for u in ok if not after[u])
        duplicated = sum(n - 1 for n in after.values() if n > 1)
        print("| processes | contacts/s | p99 ms | errors | new rows | lost | duplicated | hello req/s | ratio |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        print(
            f"| 2 (PostgreSQL) | {rate:.0f} | {p99:.0f} | {errors} | {sum(after.values()) - before} | {lost} "
            f"| {duplicated} | {hello_rps:.0f} | {rate / hello_rps:.3f} |"
        )
    finally:
        for process in processes:
            stop(process)
        pg_admin(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=3000, help="contacts, split between the two processes")
    parser.add_argument("--hello-requests", type=int, default=10000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=300)
    main(parser.parse_args())
