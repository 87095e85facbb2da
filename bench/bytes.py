#!/usr/bin/env python3
"""Bytes on the wire: each page loaded cold, as a browser without the service worker would
(WeChat's built-in browser), then again as a repeat visit, summing what crossed the network.

Starts the demo server (migrate, demo district, uvicorn on a free localhost port, a fresh
SQLite file), drives Debian's Chromium through Playwright with service workers blocked, and
counts every response's `encodedDataLength` from the DevTools protocol: headers and body as
transferred, after compression. Cold: an empty HTTP cache. Repeat: the same page opened again
in the same browser (what is cached is not fetched; what must be revalidated counts).

Targets (issue 16): the resident's poster form ≤ 40 KB cold, every officer form ≤ 60 KB cold,
a repeat visit ≤ 10 KB. Exit status 1 when a page misses its target.
Usage: python bench/bytes.py [--verbose]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.live import free_port, healthy  # noqa: E402

DEMO = "import asyncio; from app.services.demo import load_demo; asyncio.run(load_demo())"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
OFFICER = re.compile("邵韦杰")
PLACE = "泰和花园"
KB = 1024
POSTER_TARGET, OFFICER_TARGET, REPEAT_TARGET = 40 * KB, 60 * KB, 10 * KB
OFFICER_FORMS = ["/field/contacts/new", "/field/campaign-drops/new", "/field/mediations/new"]


def start_server(tmp: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {
        **os.environ,
        "QIANMO_DEMO": "1",
        "QIANMO_SECRET_KEY": "bench-bytes-" + "z" * 32,
        "PICCOLO_CONF": "piccolo_conf",
        "QIANMO_DATABASE_URL": f"sqlite:///{tmp / 'bytes.sqlite3'}",
        "QIANMO_UPLOAD_DIR": str(tmp / "uploads"),
        "QIANMO_PUBLIC_BASE_URL": f"http://localhost:{port}",
        "QIANMO_LOG_LEVEL": "WARNING",
        "QIANMO_JOBS_EVERY_SECONDS": "0",
    }
    for step in (["-m", "app.cli", "migrate"], ["-c", DEMO]):
        subprocess.run([sys.executable, *step], cwd=ROOT, env=env, check=True, capture_output=True)
    command = [sys.executable, "-m", "uvicorn", "app.main:app_factory", "--factory", "--port", str(port)]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not healthy(f"http://127.0.0.1:{port}/healthz"):
        if server.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the demo server did not start")
        time.sleep(0.1)
    return server, f"http://localhost:{port}"


class Wire:
    """Bytes per response of one page, read from the DevTools protocol."""

    def __init__(self, context, page) -> None:
        self.cdp = context.new_cdp_session(page)
        self.cdp.send("Network.enable")
        self.urls: dict[str, str] = {}
        self.sizes: dict[str, int] = {}
        self.cdp.on("Network.requestWillBeSent", lambda e: self.urls.__setitem__(e["requestId"], e["request"]["url"]))
        self.cdp.on("Network.loadingFinished", lambda e: self.sizes.__setitem__(e["requestId"], e["encodedDataLength"]))

    def measure(self, page, url: str) -> tuple[int, list[tuple[int, str]]]:
        self.urls.clear()
        self.sizes.clear()
        page.goto(url, wait_until="networkidle")
        rows = sorted(((size, self.urls.get(rid, "?")) for rid, size in self.sizes.items()), reverse=True)
        return sum(size for size, _ in rows), rows

    def clear_cache(self) -> None:
        self.cdp.send("Network.clearBrowserCache")


def poster_code(browser, base: str) -> str:
    """An officer issues the poster of a place; its code is read off the printed page."""
    context = browser.new_context(base_url=base, service_workers="block")
    page = context.new_page()
    sign_in(page)
    page.goto("/admin/reports/posters")
    page.get_by_role("link", name=re.compile(PLACE)).first.click()
    issue = page.locator("form.issue-codes button")
    if issue.count():
        issue.click()
        page.wait_for_load_state()
    code = re.search(r"/r/([A-Z2-9]{8})<", page.content()).group(1)
    context.close()
    return code


def sign_in(page) -> None:
    page.goto("/signin")
    page.get_by_role("button", name=OFFICER).click()
    page.wait_for_url(re.compile(r"/(field)?$"))


def run(verbose: bool) -> int:
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="qianmo-bytes-"))
    server, base = start_server(tmp)
    results: list[tuple[str, str, int, int]] = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            viewport = {"viewport": {"width": 390, "height": 844}, "locale": "zh-CN", "service_workers": "block"}
            code = poster_code(browser, base)
            pages = [("resident", f"/r/{code}")] + [("officer", path) for path in OFFICER_FORMS]
            for who, path in pages:
                context = browser.new_context(base_url=base, **viewport)
                page = context.new_page()
                wire = Wire(context, page)
                if who == "officer":
                    sign_in(page)
                    wire.clear_cache()
                cold, cold_rows = wire.measure(page, path)
                repeat, repeat_rows = wire.measure(page, path)
                results.append((who, path if who == "officer" else "/r/{code}", cold, repeat))
                if verbose:
                    for label, rows in (("cold", cold_rows), ("repeat", repeat_rows)):
                        print(f"  {path} {label}:")
                        for size, url in rows:
                            print(f"    {size:7d}  {url.removeprefix(base)}")
                context.close()
            browser.close()
    finally:
        server.terminate()
        server.wait()
    missed = 0
    print(f"{'page':32} {'cold':>9} {'repeat':>9}  targets")
    for who, path, cold, repeat in results:
        target = POSTER_TARGET if who == "resident" else OFFICER_TARGET
        ok = cold <= target and repeat <= REPEAT_TARGET
        missed += not ok
        print(
            f"{path:32} {cold / KB:7.1f}KB {repeat / KB:7.1f}KB  ≤{target // KB} / ≤{REPEAT_TARGET // KB} KB"
            f"{'' if ok else '  MISSED'}"
        )
    return 1 if missed else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="list every response")
    urllib.request.getproxies = dict  # loopback only, whatever the environment says
    raise SystemExit(run(parser.parse_args().verbose))
