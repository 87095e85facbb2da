#!/usr/bin/env python3
"""Live stream fan-out: N connected /events clients, one urgent grid alert, how long until
the last of them has it, and the server's memory per open stream.

Starts the demo server (bench/load.py's start_server: fresh SQLite, or
QIANMO_BENCH_DATABASE_URL), signs in as the demo officer responsible for 祥府网格 and as its
grid worker, opens N streams with the officer's session (plain asyncio sockets, so the client
side stays light), waits until every stream has said hello, posts the alert as the grid
worker and times each stream's `notification` event from the moment the post was sent.
Loopback only.

Target (issue 14): 1,000 clients, p99 ≤ 1 s, none missing it.
Usage: python bench/sse.py [--clients 1000] [--timeout 30]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import start_server  # noqa: E402


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def sign_in(base: str, name: str) -> httpx.AsyncClient:
    http = httpx.AsyncClient(base_url=base, timeout=60)
    page = await http.get("/signin")
    marker = page.text.index(name)
    start = page.text.rindex('name="person" value="', 0, marker) + len('name="person" value="')
    person = page.text[start : page.text.index('"', start)]
    response = await http.post(
        "/signin/demo", data={"person": person, "next": "/"}, headers={"x-csrftoken": http.cookies["qianmo_csrf"]}
    )
    assert response.status_code == 303, response.text
    return http


class Stream:
    def __init__(self) -> None:
        self.hello = asyncio.Event()
        self.received_at: float | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def run(self, host: str, port: int, cookie: str, got: asyncio.Event) -> None:
        reader, self.writer = await asyncio.open_connection(host, port)
        self.writer.write(
            (
                f"GET /events HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\n"
                f"Cookie: {cookie}\r\nConnection: keep-alive\r\n\r\n"
            ).encode()
        )
        await self.writer.drain()
        while True:
            line = await reader.readline()
            if not line:
                return
            if line.startswith(b"event: hello"):
                self.hello.set()
            elif line.startswith(b"event: notification"):
                self.received_at = time.monotonic()
                got.set()
                return

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def main(args: argparse.Namespace) -> None:
    server, base = start_server(workers=1)
    try:
        officer = await sign_in(base, "邵韦杰")
        worker = await sign_in(base, "王艳荣")
        cookie = "; ".join(f"{k}={v}" for k, v in officer.cookies.items())
        host, port = base.removeprefix("http://").split(":")
        before = rss_kib(server.pid)
        streams = [Stream() for _ in range(args.clients)]
        got = asyncio.Event()
        tasks = [asyncio.create_task(s.run(host, int(port), cookie, got)) for s in streams]
        await asyncio.wait_for(asyncio.gather(*(s.hello.wait() for s in streams)), args.timeout * 4)
        connected = rss_kib(server.pid)
        form = await worker.get("/alerts/new")
        grid = form.text.split('name="grid"', 1)[1].split('value="', 1)[1].split('"', 1)[0]
        sent = time.monotonic()
        response = await worker.post(
            "/alerts/new",
            data={"client_uuid": str(uuid.uuid4()), "text": "两个邻居要打起来了", "urgency": "urgent", "grid": grid},
            headers={"x-csrftoken": worker.cookies["qianmo_csrf"]},
        )
        assert response.status_code == 303, response.text
        done, _pending = await asyncio.wait(tasks, timeout=args.timeout)
        times = sorted(s.received_at - sent for s in streams if s.received_at is not None)
        missing = args.clients - len(times)
        for s in streams:
            s.close()
        for t in tasks:
            t.cancel()
        await officer.aclose()
        await worker.aclose()
        print(f"clients: {args.clients}, received: {len(times)}, missing: {missing}")
        if times:
            p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
            print(
                f"post → event: p50 {statistics.median(times) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
                f"last {times[-1] * 1000:.0f} ms"
            )
        print(
            f"server RSS: {before / 1024:.1f} MiB before, {connected / 1024:.1f} MiB with {args.clients} streams "
            f"(≈ {(connected - before) / max(args.clients, 1):.1f} KiB per stream)"
        )
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=30.0)
    asyncio.run(main(parser.parse_args()))
