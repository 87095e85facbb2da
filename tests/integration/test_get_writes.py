"""A GET never writes. Two kinds of rows are meant to be written while reading: the audit row of
a view of personal data (a revealed phone, an export) and the session's last-seen touch; and
the counters of rate-limited public pages (tracking codes, invitations). Anything else written
by a GET fails here: a crawl of every page each role reaches from its menus, with the database
compared before and after each request, and the poster page that used to issue a code."""

from __future__ import annotations

import asyncio
import hashlib
import re
import sqlite3
import uuid
from collections import deque
from datetime import UTC, datetime, timedelta
from urllib.parse import urlparse

import asyncpg
import pytest

from app.domain.roles import ROLES
from app.services import fieldwork_lists, report_lists
from app.tables import (
    ALL_TABLES,
    Grid,
    Observation,
    PatrolShift,
    PersonRole,
    Place,
    ReportPoster,
    ShiftSignup,
    VolunteerApplication,
)
from tests.conftest import DATABASE_URL, Browserless, run

# Written while reading, on purpose (see the module's docstring).
READ_AUDIT = ("view_personal_data", "export")
IGNORED_TABLES = {"rate_limit_hit"}
IGNORED_COLUMNS = {"user_session": {"last_seen_at"}}
SEEDS = [
    "/",
    "/me",
    "/field",
    "/area",
    "/calls",
    "/calls/ranking",
    "/calls/unmatched",
    "/calls/settings",
    "/orders",
    "/reports",
    "/volunteers",
    "/volunteers/my",
    "/volunteers/shifts",
    "/volunteers/hours",
    "/people",
    "/admin/org",
    "/dashboard",
    "/briefing",
    "/reviews",
    "/admin/reports",
    "/admin/reports/posters",
    "/admin/api-keys",
    "/admin/audit",
    "/admin/field",
    "/outbox",
    "/report",
    "/volunteer/register",
    "/t",
    "/locale/en?next=/",
    "/locale/zh_CN?next=/",
]
PER_PATTERN = 2  # pages visited per URL shape (digits made {n}) and role
MAX_PAGES = 160


def _tables() -> list[str]:
    return [t._meta.tablename for t in ALL_TABLES if t._meta.tablename not in IGNORED_TABLES]


def _digest(table: str, columns: list[str], rows: list) -> str:
    keep = [i for i, c in enumerate(columns) if c not in IGNORED_COLUMNS.get(table, set())]
    if table == "audit_event":
        action = columns.index("action")
        rows = [r for r in rows if r[action] not in READ_AUDIT]
    text = repr(sorted(repr(tuple(r[i] for i in keep)) for r in rows))
    return hashlib.sha256(text.encode()).hexdigest()


def snapshot() -> dict[str, str]:
    """Every table's rows (less what reading may write), as one digest per table."""
    if DATABASE_URL.startswith("sqlite:///"):
        with sqlite3.connect(DATABASE_URL.removeprefix("sqlite:///")) as con:
            out = {}
            for table in _tables():
                cursor = con.execute(f'SELECT * FROM "{table}"')
                out[table] = _digest(table, [d[0] for d in cursor.description], cursor.fetchall())
            return out

    async def read() -> dict[str, str]:
        con = await asyncpg.connect(DATABASE_URL)
        try:
            out = {}
            for table in _tables():
                statement = await con.prepare(f'SELECT * FROM "{table}"')
                columns = [a.name for a in statement.get_attributes()]
                out[table] = _digest(table, columns, [tuple(r) for r in await statement.fetch()])
            return out
        finally:
            await con.close()

    return asyncio.run(read())


def changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(t for t in before if before[t] != after[t])


@pytest.fixture
def district(client, demo, settings):
    """The demo district with something on every page: calls and orders, a poster, shifts (one
    checked into and never out of, hours ago), an application, an observation."""
    from app.services import demo_calls

    run(demo_calls.load(count=60))
    grid = run(Grid.select(Grid.id).where(Grid.code == "TH-03").first())["id"]
    volunteer = run(PersonRole.select(PersonRole.person).where(PersonRole.role == "volunteer").first())["person"]
    moment = datetime.now(UTC)
    for starts, checked_in in ((moment - timedelta(hours=4), True), (moment + timedelta(days=2), False)):
        shift = run(
            PatrolShift.insert(
                PatrolShift(
                    grid=grid,
                    grids=f",{grid},",
                    route="泰和路",
                    meeting_point="东门",
                    starts_at=starts,
                    ends_at=starts + timedelta(hours=1),
                    min_volunteers=1,
                    max_volunteers=4,
                )
            ).returning(PatrolShift.id)
        )[0]["id"]
        run(
            ShiftSignup.insert(
                ShiftSignup(
                    shift=shift, person=volunteer, status="confirmed", check_in_at=starts if checked_in else None
                )
            )
        )
    run(
        Observation.insert(
            Observation(
                client_uuid="00000000-0000-4000-8000-000000000001",
                shift=shift,
                person=volunteer,
                grid=grid,
                note="路灯不亮",
            )
        )
    )
    run(
        VolunteerApplication.insert(
            VolunteerApplication(name="赵志愿", phone="13912345678", grids=f",{grid},", consent_at=moment)
        )
    )
    run(fieldwork_lists.ensure_topics())
    run(report_lists.ensure_categories())
    place = run(Place.select(Place.id).where(Place.grid == grid).first())["id"]
    client.sign_in_as("officer")
    assert client.post(f"/admin/reports/posters/place/{place}").status_code == 303
    assert (
        client.post(
            "/field/contacts/new",
            data={
                "client_uuid": str(uuid.uuid4()),
                "place": str(place),
                "subject_kind": "resident",
                "subject_name": "张大爷",
                "subject_phone": "13912345678",
                "tags": ["fraud"],
                "note": "反诈宣传",
            },
        ).status_code
        == 303
    )
    client.post("/signout")
    client.http.cookies.clear()
    code = run(ReportPoster.select(ReportPoster.code).first())["code"]
    assert (
        client.post(
            f"/r/{code}",
            data={
                "client_uuid": str(uuid.uuid4()),
                "category": "noise",
                "description": "楼上每晚装修",
                "phone": "13912345678",
            },
        ).status_code
        == 303
    )
    return client


def links(page: str) -> list[str]:
    return [h for h in re.findall(r'href="(/[^"]*)"', page) if not h.startswith(("/static/", "/sw.js"))]


def crawl(client: Browserless) -> list[str]:
    """Visit what the menus and pages link to; the GETs after which the database differs."""
    seen_shapes: dict[str, int] = {}
    queue, visited, wrong = deque(SEEDS), set(), []
    before = snapshot()
    while queue and len(visited) < MAX_PAGES:
        url = queue.popleft().replace("&amp;", "&")
        shape = re.sub(r"\d+", "{n}", urlparse(url).path)
        if url in visited or seen_shapes.get(shape, 0) >= PER_PATTERN:
            continue
        visited.add(url)
        seen_shapes[shape] = seen_shapes.get(shape, 0) + 1
        response = client.get(url, follow_redirects=False)
        after = snapshot()
        if changed(before, after):
            wrong.append(f"GET {url} wrote {changed(before, after)}")
        before = after
        if response.headers.get("content-type", "").startswith("text/html"):
            queue.extend(links(response.text))
    return wrong


@pytest.mark.parametrize("role", ["anonymous", *sorted(ROLES)])
def test_no_page_a_role_can_reach_writes_on_a_get(district, role):
    if role != "anonymous":
        district.sign_in_as(role)
    assert crawl(district) == []


def test_the_poster_page_shows_and_only_a_post_issues_a_code(client, demo):
    client.sign_in_as("officer")
    place = run(Place.select(Place.id).where(Place.grid.code == "TH-01").first())["id"]
    before = snapshot()
    page = client.get(f"/admin/reports/posters/place/{place}")
    assert page.status_code == 200 and snapshot() == before
    assert run(ReportPoster.count()) == 0 and 'class="poster"' not in page.text and "还没有编号" in page.text
    assert f'action="/admin/reports/posters/place/{place}"' in page.text  # the button that issues
    assert client.post(f"/admin/reports/posters/place/{place}").status_code == 303
    code = run(ReportPoster.select(ReportPoster.code).first())["code"]
    before = snapshot()
    shown = client.get(f"/admin/reports/posters/place/{place}")
    assert f"编号 {code}" in shown.text and snapshot() == before
    # Without the CSRF token a POST issues nothing either.
    assert client.http.post(f"/admin/reports/posters/grid/{run(Grid.select(Grid.id).first())['id']}").status_code == 403
    assert run(ReportPoster.count()) == 1
