#!/usr/bin/env python3
"""Logging a contact under 50 concurrent connections, against a bare Litestar "hello".

Starts, as subprocesses on free localhost ports:
  * the app exactly as `qianmo demo` does (`python -m app.cli demo`: migrate, load the demo
    district, uvicorn with one worker) on a fresh database: a temporary SQLite file, or with
    `--engine postgres` a scratch database on 127.0.0.1:5432 that is dropped afterwards;
  * bench/hello_app.py (one plain-text endpoint) under uvicorn, one worker, no access log.
Signs in as the demo officer (demo sign-in form, CSRF cookie + `x-csrftoken` header), then
measures, one after the other and with the same client: GET / on hello, GET /area (a
signed-in page), and POST /field/contacts/new (htmx partial: session, CSRF, insert + audit
row), each with a unique client_uuid. Afterwards the field_log rows are counted: they must
equal the successful requests, with no duplicate client_uuid. Last, with the servers stopped,
the write path alone (in-process, no HTTP, the app's pool hooks): the same concurrency of a
read plus a write transaction with a row and its audit row.

The load generator shares the 2 cores, so it is a lean keep-alive HTTP/1.1 client on raw
asyncio streams (uvloop when installed), one coroutine per connection. Traffic goes to
127.0.0.1 only. Numbers are printed as a markdown table, never asserted.

Targets (issue): contact req/s ÷ hello req/s ≥ 0.15, p99 ≤ 50 ms, zero errors, rows = successes.
Usage: python bench/write_contact.py [--engine sqlite|postgres] [--requests 3000] [--concurrency 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import httpx

ROOT = Path(__file__).resolve().parent.parent
PG_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
CONTACT_PATH = "/field/contacts/new"
OFFICER_LABEL = "社区民警"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, process: subprocess.Popen, log: Path) -> None:
    for _ in range(600):
        if process.poll() is not None:
            raise SystemExit(f"server exited ({process.returncode}); see {log}:\n{log.read_text()[-2000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"server at {url} did not start; see {log}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- databases -------------------------------------------------------------------------------


def pg_admin(sql: str) -> None:
    import asyncpg

    async def execute() -> None:
        conn = await asyncpg.connect(PG_SERVER)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(execute())


def field_log_uuids(database_url: str) -> list[str]:
    """Every client_uuid in field_log (str), duplicates included."""
    sql = "SELECT client_uuid FROM field_log"
    if database_url.startswith("sqlite:///"):
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as conn:
            return [str(row[0]) for row in conn.execute(sql)]
    import asyncpg

    async def fetch() -> list[str]:
        conn = await asyncpg.connect(database_url)
        try:
            return [str(row[0]) for row in await conn.fetch(sql)]
        finally:
            await conn.close()

    return asyncio.run(fetch())


# --- a lean HTTP/1.1 keep-alive client ------------------------------------------------------------


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                parts.append(await self.reader.readexactly(size + 2))
                if size == 0:
                    break
            body = b"".join(part[:-2] for part in parts)
        else:
            body = await self.reader.read()
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status, body

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def raw_request(method: str, path: str, host: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", *(f"{k}: {v}" for k, v in headers.items())]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass
class Result:
    label: str
    n: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    ok_ids: list[str] = field(default_factory=list)
    server_cpu: float = 0.0

    @property
    def rps(self) -> float:
        return self.n / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))] if ordered else 0.0


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""
    ident: str = ""  # the client_uuid of a contact


async def load(label: str, port: int, make, total: int, concurrency: int, pid: int, expect: int = 200) -> Result:
    """`total` requests over `concurrency` keep-alive connections, one coroutine each; make(i) -> Request."""
    result = Result(label=label, n=total)
    counter = iter(range(total))
    host = f"127.0.0.1:{port}"

    async def worker() -> None:
        conn = Connection("127.0.0.1", port)
        try:
            for i in counter:
                request = make(i)
                started = time.perf_counter()
                try:
                    status, body = await conn.request(
                        raw_request(request.method, request.path, host, request.headers, request.body)
                    )
                except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    status, body = 0, repr(exc).encode()
                    await conn.close()
                result.latencies.append((time.perf_counter() - started) * 1000)
                if status == expect:
                    result.ok_ids.append(request.ident)
                else:
                    result.errors += 1
                    if len(result.error_samples) < 3:
                        result.error_samples.append(f"{status}: {body[:300].decode('utf-8', 'replace')}")
        finally:
            await conn.close()

    cpu = cpu_seconds(pid)
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.seconds = time.perf_counter() - started
    result.server_cpu = cpu_seconds(pid) - cpu
    return result


# --- the app -----------------------------------------------------------------------------------


@dataclass
class Session:
    cookie: str
    csrf: str


def sign_in(base: str) -> Session:
    with httpx.Client(base_url=base, timeout=30) as client:
        page = client.get("/signin").text
        csrf = client.cookies["qianmo_csrf"]
        person = page[: page.index(OFFICER_LABEL)].rsplit('name="person" value="', 1)[1].split('"', 1)[0]
        response = client.post("/signin/demo", data={"person": person, "next": "/"}, headers={"x-csrftoken": csrf})
        if response.status_code not in (200, 303) or "qianmo_session" not in client.cookies:
            raise SystemExit(f"demo sign-in failed: {response.status_code}")
        cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
        return Session(cookie=cookie, csrf=csrf)


def officer_places(base: str, session: Session) -> list[str]:
    """The place ids offered in the contact form (the officer's grids)."""
    page = httpx.get(base + CONTACT_PATH, headers={"Cookie": session.cookie}, timeout=30)
    if page.status_code != 200:
        raise SystemExit(f"GET {CONTACT_PATH} answered {page.status_code}: is the contact endpoint there yet?")
    select = re.search(r'<select[^>]*name="place"[^>]*>(.*?)</select>', page.text, re.S)
    ids = re.findall(r'<option[^>]*value="(\d+)"', select.group(1) if select else "")
    if not ids:
        raise SystemExit('no place in the contact form\'s <select name="place">')
    return ids


def start_app(database_url: str, tmp: Path, concurrency: int) -> tuple[subprocess.Popen, int, Path]:
    port = free_port()
    # PostgreSQL: a connection for each request served at once, as an operator would size it
    # for this load (QIANMO_DB_POOL_SIZE, 20 by default, set in the environment wins).
    env = {
        "QIANMO_DB_POOL_SIZE": str(concurrency),
        **os.environ,
        "QIANMO_DATABASE_URL": database_url,
        "PICCOLO_CONF": "piccolo_conf",
        "QIANMO_PUBLIC_BASE_URL": f"http://localhost:{port}",
    }
    log = tmp / "app.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "demo", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    wait_healthy(f"http://127.0.0.1:{port}/healthz", process, log)
    return process, port, log


def start_hello(tmp: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    log = tmp / "hello.log"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--app-dir",
            str(ROOT / "bench"),
            "hello_app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--no-access-log",
        ],
        cwd=ROOT,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    wait_healthy(f"http://127.0.0.1:{port}/", process, log)
    return process, port


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def run_bench(
    args: argparse.Namespace,
    app_port: int,
    app_pid: int,
    hello_port: int,
    hello_pid: int,
    session: Session,
    places: list[str] | None,
) -> tuple[list[Result], Result | None]:
    hello = Request("GET", "/", {})
    area = Request("GET", "/area", {"Cookie": session.cookie})

    def contact(i: int) -> Request:
        client_uuid = str(uuid.uuid4())
        body = urlencode(
            {
                "client_uuid": client_uuid,
                "subject_kind": "resident",
                "place": places[i % len(places)],
                "note": f"走访记录 {i}：住户在家，情况正常。",
            }
        ).encode()
        return Request(
            "POST",
            CONTACT_PATH,
            {
                "Cookie": session.cookie,
                "x-csrftoken": session.csrf,
                "HX-Request": "true",
                "Content-Type": "application/x-www-form-urlencoded",
            },
            body,
            client_uuid,
        )

    results = []
    n = args.concurrency
    # Warm-up (imports, template compilation, caches) is not measured.
    await load("warm-up", hello_port, lambda i: hello, args.warmup, n, hello_pid)
    await load("warm-up", app_port, lambda i: area, args.warmup, n, app_pid)
    warm_contacts = None
    if places is not None:  # the first contacts compile the saved part's template and SQL
        warm_contacts = await load("warm-up", app_port, contact, args.warmup, n, app_pid)
    results.append(await load("hello `GET /`", hello_port, lambda i: hello, args.hello_requests, n, hello_pid))
    results.append(await load("app `GET /area`", app_port, lambda i: area, args.requests, n, app_pid))
    if places is not None:
        results.append(await load(f"app `POST {CONTACT_PATH}`", app_port, contact, args.requests, n, app_pid))
    return results, warm_contacts


# --- the write path alone ------------------------------------------------------------------------

WRITE_PATH_CHILD = "--write-path-child"


def write_path(database_url: str, total: int, concurrency: int) -> dict:
    """The database layer without HTTP, in a child process (the engine is chosen at import)."""
    done = subprocess.run(
        [sys.executable, __file__, WRITE_PATH_CHILD, database_url, str(total), str(concurrency)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "QIANMO_DATABASE_URL": database_url, "PICCOLO_CONF": "piccolo_conf"},
    )
    if done.returncode != 0:
        raise SystemExit(f"write path measurement failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


async def write_path_child(total: int, concurrency: int) -> dict:
    """`concurrency` tasks, each: a read outside, then a write transaction with a row and its
    audit row. The pool is opened by the app's own start-up hook, as in the server."""
    sys.path.insert(0, str(ROOT))
    from app.db import write_transaction
    from app.main import close_pool, open_pool
    from app.tables import Agency, AuditEvent

    engine = Agency._meta.db
    await open_pool()
    latencies: list[float] = []
    errors = 0
    counter = iter(range(total))
    tag = uuid.uuid4().hex[:8]

    async def worker() -> None:
        nonlocal errors
        for i in counter:
            started = time.perf_counter()
            try:
                await asyncio.sleep(0)  # a request's other awaits (body, response) let the others run
                await Agency.exists().where(Agency.code == f"W{tag}-{i}")
                await asyncio.sleep(0)
                async with write_transaction(engine):
                    await Agency.insert(Agency(name=f"压测{i}", code=f"W{tag}-{i}", kind="other"))
                    await AuditEvent.insert(AuditEvent(action="create", object_type="agency", object_id=str(i)))
            except Exception:  # counted, not raised: the rows are counted below
                errors += 1
            latencies.append((time.perf_counter() - started) * 1000)

    try:
        cpu, started = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        rows = await Agency.count().where(Agency.code.like(f"W{tag}-%"))
    finally:
        await close_pool()
    result = Result(label="", n=total, seconds=seconds, latencies=latencies, errors=errors, server_cpu=cpu)
    return {
        "n": total,
        "rps": result.rps,
        "p50": result.pct(0.5),
        "p99": result.pct(0.99),
        "errors": errors,
        "rows": rows,
        "cpu_ms": cpu * 1000 / total,
    }


# --- the report -------------------------------------------------------------------------------------


def report(args: argparse.Namespace, results: list[Result], rows: tuple[int, int, int] | None, alone: dict) -> None:
    hello = results[0]
    load_avg = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"\n{args.engine}, {args.concurrency} connections, 1 server process, "
        f"{os.cpu_count()} cores shared with the load generator, load average {load_avg}\n"
    )
    print(
        "| engine | endpoint | requests | req/s | p50 ms | p99 ms | errors | rows counted | ratio to hello "
        "| server CPU ms/req |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        rows_text = "—"
        if r.label.startswith("app `POST") and rows is not None:
            new_rows, matched, duplicates = rows
            rows_text = f"{new_rows} ({matched} of {len(r.ok_ids)} sent, {duplicates} dup.)"
        ratio = "1" if r is hello else f"{r.rps / hello.rps:.3f}"
        print(
            f"| {args.engine} | {r.label} | {r.n} | {r.rps:.0f} | {r.pct(0.5):.1f} | {r.pct(0.99):.1f} | "
            f"{r.errors} | {rows_text} | {ratio} | {r.server_cpu * 1000 / r.n:.2f} |"
        )
    print(
        f"| {args.engine} | write path alone: read + transaction (row + audit row), in-process, tx | "
        f"{alone['n']} | {alone['rps']:.0f} | {alone['p50']:.1f} | {alone['p99']:.1f} | {alone['errors']} | "
        f"{alone['rows']} | — | {alone['cpu_ms']:.2f} |"
    )
    for r in results:
        for sample in r.error_samples:
            print(f"\n{r.label} error sample: {sample}")


def main(args: argparse.Namespace) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    tmp = Path(tempfile.mkdtemp(prefix="qianmo-bench-write-"))
    pg_name = ""
    if args.engine == "postgres":
        pg_name = f"qianmo_bench_{uuid.uuid4().hex[:10]}"
        pg_admin(f'CREATE DATABASE "{pg_name}"')
        database_url = PG_SERVER.rsplit("/", 1)[0] + f"/{pg_name}"
    else:
        database_url = f"sqlite:///{tmp / 'bench.sqlite3'}"
    app = hello = None
    try:
        app, app_port, app_log = start_app(database_url, tmp, args.concurrency)
        hello, hello_port = start_hello(tmp)
        base = f"http://127.0.0.1:{app_port}"
        session = sign_in(base)
        places = None if args.skip_contact else officer_places(base, session)
        before = [] if args.skip_contact else field_log_uuids(database_url)
        results, warm_contacts = asyncio.run(run_bench(args, app_port, app.pid, hello_port, hello.pid, session, places))
        rows = None
        if places is not None:
            after = Counter(field_log_uuids(database_url))
            warm_rows = len(warm_contacts.ok_ids) if warm_contacts else 0
            rows = (
                sum(after.values()) - len(before) - warm_rows,
                sum(1 for u in results[-1].ok_ids if after[u]),
                sum(n - 1 for n in after.values() if n > 1),
            )
        for process in (hello, app):
            stop(process)
        hello = app = None
        report(args, results, rows, write_path(database_url, args.requests, args.concurrency))
    finally:
        for process in (hello, app):
            if process is not None:
                stop(process)
        if pg_name:
            pg_admin(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


if __name__ == "__main__" and sys.argv[1:2] == [WRITE_PATH_CHILD]:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    print(json.dumps(asyncio.run(write_path_child(int(sys.argv[3]), int(sys.argv[4])))))
elif __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engine", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--requests", type=int, default=3000, help="per app endpoint")
    parser.add_argument("--hello-requests", type=int, default=10000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--skip-contact", action="store_true", help="hello and GET /area only")
    main(parser.parse_args())
