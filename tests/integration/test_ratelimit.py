"""Rate limits are counted in the database so that every worker process counts together.
Parallel requests at two real servers (uvicorn subprocesses on the test database, as two
workers of one deployment are) let exactly the limit through, and none of them fails.
Deterministic: the assertions are on counts, and the windows cannot end during the test (an
hour and a day; the token bucket refills once in 10,000 minutes)."""

from __future__ import annotations

import asyncio
import itertools
import os
import time
import uuid
from datetime import timedelta

import httpx
import pytest

from app.services import ratelimit, report_lists
from app.tables import Grid, Place, RateLimitHit, Report, VolunteerApplication
from tests.conftest import run
from tests.live import free_port, serving

PARALLEL = 30
REPORT_BURST = 5
REGISTER_PER_BROWSER = 5
REGISTER_PER_DAY = 8


@pytest.fixture
def two_servers(demo, tmp_path):
    """Two app processes on the test database; yields their base URLs."""
    run(report_lists.ensure_categories())
    env = {
        **os.environ,
        "QIANMO_SECRET_KEY": "two-servers-" + uuid.uuid4().hex,  # the same for both, as for workers
        "QIANMO_UPLOAD_DIR": str(tmp_path / "uploads"),
        "QIANMO_REPORT_BURST": str(REPORT_BURST),
        "QIANMO_REPORT_PER_MINUTE": "0.0001",
        "QIANMO_VOLUNTEER_REGISTER_PER_HOUR": str(REGISTER_PER_BROWSER),
        "QIANMO_VOLUNTEER_REGISTER_PER_DAY": str(REGISTER_PER_DAY),
    }
    first = free_port()
    second = next(p for p in iter(free_port, None) if p != first)
    with serving(env, first, tmp_path / "first.log"), serving(env, second, tmp_path / "second.log"):
        yield [f"http://127.0.0.1:{first}", f"http://127.0.0.1:{second}"]


def browser(base_url: str, page: str) -> dict[str, str]:
    """A browser that opened `page`: the headers its posts carry (its cookies, the CSRF token)."""
    with httpx.Client(base_url=base_url) as http:
        assert http.get(page).status_code == 200
        cookies = "; ".join(f"{name}={value}" for name, value in http.cookies.items())
        return {"cookie": cookies, "x-csrftoken": http.cookies["qianmo_csrf"]}


def post_all(posts: list[tuple[str, dict, dict]]) -> list[httpx.Response]:
    """Every (url, form, headers) at once, without following redirects."""

    async def fire() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=120) as http:
            return await asyncio.gather(*(http.post(url, data=data, headers=headers) for url, data, headers in posts))

    return asyncio.run(fire())


def report(place: int, i: int) -> dict:
    return {
        "client_uuid": str(uuid.uuid4()),
        "place": str(place),
        "category": "other",
        "join": "new",
        "description": f"第{i}件事",
    }


def registration(i: int, grid: int) -> dict:
    return {
        "name": f"志愿者{i}",
        "phone": f"1390000{i:04d}",
        "grids": [str(grid)],
        "availability": ["weekends"],
        "consent": "yes",
        "client_uuid": str(uuid.uuid4()),
    }


def test_one_browser_bursting_reports_at_two_workers_gets_exactly_the_burst(two_servers):
    place = run(Place.select(Place.id).where(Place.name == "泰和花园").first())["id"]
    headers = browser(two_servers[0], "/report")
    answers = post_all([(f"{two_servers[i % 2]}/report", report(place, i), headers) for i in range(PARALLEL)])
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [303] * REPORT_BURST + [429] * (PARALLEL - REPORT_BURST)
    assert run(Report.count()) == REPORT_BURST


def test_one_browser_registering_at_two_workers_gets_exactly_the_hours_limit(two_servers):
    grid = run(Grid.select(Grid.id).where(Grid.code == "TH-03").first())["id"]
    headers = browser(two_servers[0], "/volunteer/register")
    answers = post_all(
        [(f"{two_servers[i % 2]}/volunteer/register", registration(i, grid), headers) for i in range(PARALLEL)]
    )
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] * REGISTER_PER_BROWSER + [429] * (PARALLEL - REGISTER_PER_BROWSER)
    assert run(VolunteerApplication.count()) == REGISTER_PER_BROWSER


def test_buckets_whose_time_has_passed_are_swept(db, monkeypatch):
    """An ended window or a refilled bucket is as good as none: they go, live ones stay."""
    monkeypatch.setattr(ratelimit, "SWEEP_EVERY", 3)
    monkeypatch.setattr(ratelimit, "_hits", itertools.count(1))
    run(
        RateLimitHit.insert(
            RateLimitHit(bucket="track:browser:gone", resets_at=time.time() - 1, count=30),
            RateLimitHit(bucket="report:browser:gone", resets_at=time.time() - 1, count=1),
        )
    )
    assert run(ratelimit.allow("track:browser:here", 30, timedelta(days=1)))
    assert run(ratelimit.allow_burst("report:browser:here", 5, 1))
    assert sorted(r["bucket"] for r in run(RateLimitHit.select(RateLimitHit.bucket))) == [
        "report:browser:gone",
        "report:browser:here",
        "track:browser:gone",
        "track:browser:here",
    ]
    assert run(ratelimit.allow("track:browser:here", 30, timedelta(days=1)))  # the third hit sweeps
    assert sorted(r["bucket"] for r in run(RateLimitHit.select(RateLimitHit.bucket))) == [
        "report:browser:here",
        "track:browser:here",
    ]
    assert run(RateLimitHit.select(RateLimitHit.count).where(RateLimitHit.bucket == "track:browser:here").first()) == {
        "count": 2
    }
