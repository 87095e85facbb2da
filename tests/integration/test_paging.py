"""Every long list pages by key (app/services/paging.py): the first page shows the first
PAGE_SIZE rows in the list's order, "Older"/"Next" shows the rest, none twice and none missed
(ties in the sort key included), the list's filters stay in the links, and an anchor id the
reader may not see (another station's row) answers like the first page: its key stays hidden."""

from __future__ import annotations

import html
import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from app.services.paging import PAGE_SIZE
from app.tables import (
    Agency,
    AuditEvent,
    Bureau,
    Call,
    FieldLog,
    Grid,
    Office,
    PersonRole,
    Place,
    Report,
    ReportCategory,
    Station,
    WorkOrder,
)
from tests.conftest import run

EN = {"Accept-Language": "en"}
N = PAGE_SIZE + 7  # two pages
BASE = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)
NEXT = re.compile(r'rel="next" href="([^"]+)"')


def walk(client, url: str, kept: str, pattern: str) -> tuple[list[str], list[str]]:
    """Follow the pager's next link from `url` to the end: the ids `pattern` finds on each page,
    and the pages. Every next link keeps the filter `kept`."""
    seen, pages = [], []
    while url:
        page = client.get(url, headers=EN)
        assert page.status_code == 200, page.text
        pages.append(page.text)
        seen += re.findall(pattern, page.text)
        link = NEXT.search(page.text)
        url = html.unescape(link.group(1)) if link else ""
        assert not url or kept in url
    return seen, pages


def first_page_is(client, url: str, pattern: str, ids: list[str]) -> None:
    """The page at `url` shows just the first page's rows, with no way back to a newer one."""
    page = client.get(url, headers=EN).text
    assert re.findall(pattern, page)[:PAGE_SIZE] == ids[:PAGE_SIZE]
    assert "‹ Newest" not in page and "‹ First page" not in page


def ids_of(rows: list[dict]) -> list[str]:
    return [str(r["id"]) for r in rows]


def unit(code: str, table=Grid) -> int:
    return run(table.select(table.id).where(table.code == code).first())["id"]


def person(role: str) -> int:
    return run(PersonRole.select(PersonRole.person).where(PersonRole.role == role).first())["person"]


@pytest.fixture
def elsewhere(demo) -> dict:
    """A second station with a grid and a place: nothing in it is the demo people's to see."""
    bureau = run(Bureau.select(Bureau.id).first())["id"]
    station = run(Station.insert(Station(bureau=bureau, name="运河派出所", code="YH")).returning(Station.id))[0]["id"]
    office = run(Office.insert(Office(station=station, name="运河警务室", code="YH-1")).returning(Office.id))[0]["id"]
    grid = run(Grid.insert(Grid(office=office, name="运河网格", code="YH-01")).returning(Grid.id))[0]["id"]
    place = run(Place.insert(Place(grid=grid, name="运河小区", kind="estate")).returning(Place.id))[0]["id"]
    return {"station": station, "office": office, "grid": grid, "place": place}


def insert(table, rows: list) -> list[int]:
    return [r["id"] for r in run(table.insert(*rows).returning(table.id))]


def test_calls_page_newest_first_with_the_filters_kept(client, elsewhere):
    client.sign_in_as("analyst")
    station = unit("HH", Station)

    def call(i: int, station: int, category: str = "分页测试") -> Call:
        # Three calls a minute: ties on the key, told apart by id.
        at = BASE - timedelta(minutes=i // 3)
        return Call(
            call_id=f"PG{station}-{category}-{i:03}",
            received_at=at,
            address="x",
            address_key="x",
            category=category,
            station=station,
        )

    insert(Call, [call(i, station) for i in range(N)] + [call(0, station, "别的类别")])
    foreign = insert(Call, [call(0, elsewhere["station"])])[0]
    newest = run(
        Call.select(Call.call_id)
        .where((Call.category == "分页测试") & (Call.station == station))
        .order_by(Call.received_at, ascending=False)
        .order_by(Call.id, ascending=False)
    )
    expected = [r["call_id"] for r in newest]
    pattern = r"· (PG\d+-分页测试-\d{3}) ·"
    seen, pages = walk(client, "/calls?category=分页测试", "category=", pattern)
    assert seen == expected and len(seen) == N  # each once, in order, over two pages
    assert len(pages) == 2 and re.findall(pattern, pages[0]) == expected[:PAGE_SIZE]
    assert "57 found" in pages[0]
    assert 'href="/calls?category=%E5%88%86%E9%A1%B5%E6%B5%8B%E8%AF%95"' in pages[1]  # back to the newest
    first_page_is(client, f"/calls?category=分页测试&older={foreign}", pattern, expected)


def test_field_logs_ignore_an_anchor_from_another_station(client, elsewhere):
    officer = client.sign_in_as("officer")
    grid = unit("TH-01")

    def log(i: int, grid: int) -> FieldLog:
        return FieldLog(
            client_uuid=str(uuid.uuid4()),
            kind="contact",
            author=officer,
            grid=grid,
            occurred_at=BASE - timedelta(minutes=i // 3),
            subject_kind="resident",
        )

    insert(FieldLog, [log(i, grid) for i in range(N)])
    foreign = insert(FieldLog, [log(0, elsewhere["grid"])])[0]
    query = FieldLog.select(FieldLog.id).where(FieldLog.grid == grid)
    expected = ids_of(run(query.order_by(FieldLog.occurred_at, ascending=False).order_by(FieldLog.id, ascending=False)))
    pattern = r'href="/field/logs/(\d+)"'
    seen, _pages = walk(client, f"/field/logs?grid={grid}", f"grid={grid}", pattern)
    assert seen == expected
    first_page_is(client, f"/field/logs?grid={grid}&older={foreign}", pattern, expected)


def test_the_audit_log_pages_by_id_with_its_filter(admin):
    events = [AuditEvent(action="paging_test", object_type="test", object_id=f"A{i:03}") for i in range(N)]
    insert(AuditEvent, events)
    insert(AuditEvent, [AuditEvent(action="other_test", object_type="test", object_id="B000")])
    seen, pages = walk(admin, "/admin/audit?action=paging_test", "action=paging_test", r"test (\w\d{3})</td>")
    assert seen == [f"A{i:03}" for i in reversed(range(N))]  # the newest first
    assert len(pages) == 2 and 'href="/admin/audit?action=paging_test"' in pages[1]
    # Administrators see the whole log: there is no anchor out of their scope.


@pytest.fixture
def queued(elsewhere) -> dict:
    """N reports assigned to the officer in their grid (three a minute, reporters 1 or 2), one
    in the other station."""
    officer, category = person("officer"), run(ReportCategory.select(ReportCategory.id).first())["id"]
    station, grid = unit("HH", Station), unit("TH-01")

    def report(i: int, station: int, grid: int) -> Report:
        at = BASE - timedelta(minutes=i // 3)
        return Report(
            category=category,
            station=station,
            grid=grid,
            description=f"分页{i}",
            reporters=1 + i % 2,
            assignee=officer,
            created_at=at,
            updated_at=at,
        )

    insert(Report, [report(i, station, grid) for i in range(N)])
    foreign = insert(Report, [report(0, elsewhere["station"], elsewhere["grid"])])[0]
    return {"officer": officer, "foreign": foreign}


def test_the_report_queue_pages_in_either_order(client, queued):
    client.sign_in_as("officer")
    mine = run(
        Report.select(Report.id, Report.created_at, Report.reporters).where(
            (Report.assignee == queued["officer"]) & (Report.id != queued["foreign"])
        )
    )
    pattern = r'href="/reports/(\d+)"'
    newest = ids_of(sorted(mine, key=lambda r: (r["created_at"], r["id"]), reverse=True))
    seen, pages = walk(client, "/reports?status=all&mine=1", "mine=1", pattern)
    assert seen == newest and len(pages) == 2
    joined = ids_of(sorted(mine, key=lambda r: (r["reporters"], r["created_at"], r["id"]), reverse=True))
    seen, _pages = walk(client, "/reports?status=all&sort=joined&mine=1", "sort=joined", pattern)
    assert seen == joined
    first_page_is(client, f"/reports?status=all&mine=1&older={queued['foreign']}", pattern, newest)


def test_work_orders_page_soonest_first_and_closed_ones_last(client, elsewhere):
    officer = client.sign_in_as("officer")
    station, grid = unit("HH", Station), unit("TH-01")

    def order(i: int, station: int, grid: int, closed: bool = False) -> WorkOrder:
        due = None if closed else BASE + timedelta(hours=i // 3)  # a closed order has no deadline
        return WorkOrder(
            rule="manual",
            rule_key=f"manual:{i}",
            title=f"分页工单{i}",
            station=station,
            grid=grid,
            assignee=officer,
            state="closed" if closed else "assigned",
            due_at=due,
        )

    insert(WorkOrder, [order(i, station, grid, closed=i >= N - 5) for i in range(N)])
    foreign = insert(WorkOrder, [order(0, elsewhere["station"], elsewhere["grid"])])[0]
    run(WorkOrder.update({WorkOrder.assignee: None}).where(WorkOrder.id == foreign))
    mine = run(WorkOrder.select(WorkOrder.id, WorkOrder.due_at).where(WorkOrder.assignee == officer))
    due = sorted((r for r in mine if r["due_at"]), key=lambda r: (r["due_at"], r["id"]))
    expected = ids_of(due) + ids_of(sorted((r for r in mine if not r["due_at"]), key=lambda r: r["id"]))
    pattern = r'href="/orders/(\d+)"'
    seen, pages = walk(client, "/orders?state=all&mine=true", "mine=true", pattern)
    assert seen == expected and len(pages) == 2
    assert "‹ First page" in pages[1]
    first_page_is(client, f"/orders?state=all&mine=true&after={foreign}", pattern, expected)


def test_the_agency_queue_pages_by_deadline(client, elsewhere):
    client.sign_in_as("agency_staff")
    staff = person("agency_staff")
    ours = run(PersonRole.select(PersonRole.agency).where(PersonRole.person == staff).first())["agency"]
    theirs = run(Agency.select(Agency.id).where(Agency.id != ours).first())["id"]
    category, station = run(ReportCategory.select(ReportCategory.id).first())["id"], unit("HH", Station)

    def matter(i: int, agency: int) -> Report:
        due = BASE + timedelta(days=30, hours=i // 3) if i < N - 4 else None
        return Report(
            category=category,
            station=station,
            status="transferred",
            responsible_agency=agency,
            agency_state="new",
            finish_due=due,
            description=f"分页{i}",
        )

    insert(Report, [matter(i, ours) for i in range(N)])
    foreign = insert(Report, [matter(0, theirs)])[0]
    rows = run(
        Report.select(Report.id, Report.finish_due).where(
            (Report.responsible_agency == ours) & (Report.agency_state == "new")
        )
    )
    due = sorted((r for r in rows if r["finish_due"]), key=lambda r: (r["finish_due"], r["id"]))
    expected = ids_of(due) + ids_of(sorted((r for r in rows if not r["finish_due"]), key=lambda r: r["id"]))
    pattern = r'href="/agency/(\d+)"'
    seen, pages = walk(client, "/agency?tab=new", "tab=new", pattern)
    assert seen == expected and len(pages) == 2
    first_page_is(client, f"/agency?tab=new&after={foreign}", pattern, expected)


def test_org_lists_page_by_name_without_offset(admin):
    grid = unit("TH-01")
    places = [Place(grid=grid, name=f"分页地点{i // 3:02}", kind="estate", active=i % 10 != 0) for i in range(N)]
    insert(Place, places)
    query = Place.select(Place.id).where(Place.name.like("分页地点%"))
    expected = ids_of(run(query.order_by(Place.active, ascending=False).order_by(Place.name).order_by(Place.id)))
    pattern = r'href="/admin/org/place/(\d+)"'
    seen, pages = walk(admin, "/admin/org/place?q=分页地点&inactive=true", "inactive=true", pattern)
    assert seen == expected and len(pages) == 2
    assert "57 found" in pages[0]
    # Administrators see every unit: there is no anchor out of their scope.


def test_an_anchor_that_is_no_row_gives_the_first_page(client, queued):
    """An anchor that is no row at all (or not a number) gives the first page, not an error."""
    client.sign_in_as("officer")
    pattern = r'href="/reports/(\d+)"'
    first = re.findall(pattern, client.get("/reports?status=all&mine=1").text)
    assert re.findall(pattern, client.get("/reports?status=all&mine=1&older=999999").text) == first
    assert client.get("/reports?status=all&mine=1&older=abc").status_code == 400
