"""The map of grids and hotspots, near me, the supervisor's team day and log reviews (#18),
through HTTP against the demo district. Runs on SQLite and PostgreSQL alike."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from app.tables import (
    AuditEvent,
    Bureau,
    Call,
    FieldLog,
    Grid,
    GridAlert,
    LogReview,
    Office,
    Person,
    PersonRole,
    Place,
    Report,
    ReportCategory,
    Station,
    WorkOrder,
    WorkOrderCall,
)
from tests.conftest import client_with, run


def grid_id(code: str) -> int:
    return run(Grid.select(Grid.id).where(Grid.code == code).first())["id"]


def place_row(name: str) -> dict:
    return run(Place.select().where(Place.name == name).first())


def person_of(role: str) -> int:
    return run(PersonRole.select(PersonRole.person).where(PersonRole.role == role).first())["person"]


def add_call(place: dict, when: datetime, n: int = 1) -> list[int]:
    ids = []
    station = run(Station.select(Station.id).first())["id"]
    for _ in range(n):
        rows = run(
            Call.insert(
                Call(
                    call_id=uuid.uuid4().hex,
                    received_at=when,
                    address=place["address"],
                    address_key=place["address"],
                    category="噪音扰民",
                    station=station,
                    place=place["id"],
                    grid=place["grid"],
                )
            ).returning(Call.id)
        )
        ids.append(rows[0]["id"])
    return ids


def add_log(author: int, place: dict, when: datetime, kind: str = "contact") -> int:
    rows = run(
        FieldLog.insert(
            FieldLog(
                client_uuid=str(uuid.uuid4()),
                kind=kind,
                author=author,
                grid=place["grid"],
                place=place["id"],
                occurred_at=when,
            )
        ).returning(FieldLog.id)
    )
    return rows[0]["id"]


def grid_count(html: str, name: str) -> int:
    """The count the map's shaded grid says (its accessible name: "name: count")."""
    found = re.search(rf'class="map-grid" data-grid="\d+" aria-label="{re.escape(name)}: ([\d,]+)"', html)
    assert found, f"grid {name} not drawn"
    return int(found.group(1).replace(",", ""))


@pytest.fixture
def other_station(demo):
    """A second station with a grid and a place, whose calls the demo people must not see."""
    bureau = run(Bureau.select(Bureau.id).first())["id"]
    station = run(Station.insert(Station(bureau=bureau, name="运河派出所", code="YH")).returning(Station.id))[0]["id"]
    office = run(Office.insert(Office(station=station, name="运河警务室", code="YH-1")).returning(Office.id))[0]["id"]
    grid = run(Grid.insert(Grid(office=office, name="运河网格", code="YH-01")).returning(Grid.id))[0]["id"]
    run(Place.insert(Place(grid=grid, name="运河小区", kind="estate", lat=33.99, lon=118.25)))
    return place_row("运河小区")


def test_map_counts_calls_per_grid_within_the_period_and_the_viewers_station(client, other_station):
    now = datetime.now(timezone.utc)
    ziwei, garden = place_row("世纪紫薇园"), place_row("泰和花园")
    add_call(ziwei, now - timedelta(days=1), n=3)
    add_call(garden, now - timedelta(days=2))
    add_call(garden, now - timedelta(days=60))  # outside the last 30 days
    add_call(other_station, now - timedelta(days=1), n=5)  # another station's
    client.sign_in_as("officer")
    html = client.get("/map").text
    assert grid_count(html, "紫薇网格") == 3
    assert grid_count(html, "泰和一网格") == 1
    assert grid_count(html, "古城网格") == 0
    assert "运河网格" not in html and "运河小区" not in html
    assert 'aria-label="世纪紫薇园: 3"' in html  # the place's circle
    # The text alternative: the table of counts per grid, the busiest first.
    table = html[html.index('id="grid-counts"') :]
    assert table.index("紫薇网格") < table.index("泰和一网格")
    assert 'class="shade-4' in html and 'class="shade-0' in html
    longer = client.get(f"/map?since={(now - timedelta(days=89)).date()}&until={now.date()}").text
    assert grid_count(longer, "泰和一网格") == 2


def test_the_flag_layers_count_only_the_calls_of_that_rules_work_orders(client, demo):
    now = datetime.now(timezone.utc)
    ziwei = place_row("世纪紫薇园")
    flagged = add_call(ziwei, now - timedelta(days=1), n=2)
    add_call(ziwei, now - timedelta(days=1), n=4)
    order = run(
        WorkOrder.insert(
            WorkOrder(rule="repeat_place", rule_key=f"place:{ziwei['id']}", title="紫薇园多起", state="assigned")
        ).returning(WorkOrder.id)
    )[0]["id"]
    run(WorkOrderCall.insert(*[WorkOrderCall(order=order, call=c) for c in flagged]))
    client.sign_in_as("analyst")
    assert grid_count(client.get("/map?layer=repeat_place").text, "紫薇网格") == 2
    assert grid_count(client.get("/map?layer=repeat_caller").text, "紫薇网格") == 0
    assert grid_count(client.get("/map?layer=calls").text, "紫薇网格") == 6


def test_report_and_log_layers_and_a_grids_page(client, demo):
    now = datetime.now(timezone.utc)
    garden = place_row("泰和花园")
    station = run(Station.select(Station.id).first())["id"]
    category = run(ReportCategory.select(ReportCategory.id).first())["id"]
    for status in ("received", "in_progress", "done"):
        run(
            Report.insert(
                Report(category=category, status=status, station=station, grid=garden["grid"], place=garden["id"])
            )
        )
    officer = person_of("officer")
    add_log(officer, garden, now - timedelta(hours=1))
    add_log(officer, garden, now - timedelta(hours=2), kind="campaign_drop")
    client.sign_in_as("supervisor")
    assert grid_count(client.get("/map?layer=reports_open").text, "泰和一网格") == 2
    assert grid_count(client.get("/map?layer=reports_done").text, "泰和一网格") == 1
    assert grid_count(client.get("/map?layer=logs").text, "泰和一网格") == 2
    page = client.get(f"/map/grids/{garden['grid']}")
    assert page.status_code == 200 and "泰和一网格" in page.text and "泰和花园" in page.text


def test_a_grid_of_another_station_answers_404_and_a_bad_period_says_why(client, other_station):
    client.sign_in_as("officer")
    assert client.get(f"/map/grids/{other_station['grid']}").status_code == 404
    client.get("/locale/en?next=/")
    page = client.get("/map?since=2026-13-01&until=x")
    assert page.status_code == 200 and "Not a date" in page.text and "Showing the last 30 days." in page.text
    assert "The end comes before the start" in client.get("/map?since=2026-05-02&until=2026-05-01").text


def test_near_me_lists_the_nearest_places_first_with_their_distance(client, other_station):
    from app.domain import geo

    ziwei = place_row("世纪紫薇园")
    client.sign_in_as("officer")
    client.get("/locale/en?next=/")
    lat, lon = ziwei["lat"] + 0.0001, ziwei["lon"]
    html = client.get(f"/map/near?lat={lat}&lng={lon}").text
    names = re.findall(r'<a href="/area/places/\d+"><strong>([^<]+)</strong>', html)
    assert names[0] == "世纪紫薇园" and "11 m ·" in html
    assert "运河小区" not in names  # another station's place, however near
    assert len(names) == 10
    rows = run(Place.select().where(Place.name.is_in(names)))
    far = {r["name"]: geo.distance_m(lat, lon, r["lat"], r["lon"]) for r in rows}
    assert [far[n] for n in names] == sorted(far.values())
    assert "The position could not be read" in client.get("/map/near?lat=abc&lng=1").text


def test_a_supervisors_my_day_counts_the_teams_logs(client, settings, demo):
    from zoneinfo import ZoneInfo

    from app.services.fieldwork import today

    now = datetime.now(timezone.utc)
    midnight = datetime.combine(today(settings.time_zone), datetime.min.time(), ZoneInfo(settings.time_zone))
    # Halfway through the station's day so far: today and in the past, even just after midnight.
    earlier_today = midnight + (now - midnight) / 2
    officer, garden = person_of("officer"), place_row("泰和花园")
    for i in range(3):
        add_log(officer, garden, earlier_today - timedelta(microseconds=i))
    add_log(officer, garden, earlier_today, kind="mediation")
    yesterday = add_log(officer, garden, now - timedelta(days=2))
    assert yesterday
    client.sign_in_as("supervisor")
    html = client.get("/field").text
    team = html[html.index('id="team"') :]
    stats = re.findall(r"<strong>(\d+)</strong><span>", team)
    assert stats[:3] == ["3", "0", "1"]  # contact, campaign drop, mediation: the team's today
    officer_name = run(Person.select(Person.name).where(Person.id == officer).first())["name"]
    assert officer_name in team
    assert team.count('action="/field/logs/') == 4  # four logs to review


def test_a_review_is_written_by_the_service_with_its_audit_row_and_only_by_a_supervisor(client, demo):
    officer, garden = person_of("officer"), place_row("泰和花园")
    log = add_log(officer, garden, datetime.now(timezone.utc))
    client.sign_in_as("officer")
    assert client.post(f"/field/logs/{log}/reviews", data={"comment": "好"}).status_code == 403
    client.post("/signout")
    supervisor = client.sign_in_as("supervisor")
    answer = client.post(f"/field/logs/{log}/reviews", data={"comment": "走访记录清楚", "next": "/field#team"})
    assert answer.status_code == 303 and answer.headers["location"] == "/field#team"
    row = run(LogReview.select().where(LogReview.log == log).first())
    assert row["reviewer"] == supervisor and row["comment"] == "走访记录清楚"
    event = run(AuditEvent.select().where((AuditEvent.action == "review") & (AuditEvent.object_id == str(log))).first())
    assert event["actor_id"] == supervisor and event["object_type"] == "field_log"
    assert "走访记录清楚" in client.get(f"/field/logs/{log}/reviews").text
    too_long = client.post(f"/field/logs/{log}/reviews", data={"comment": "长" * 501})
    assert too_long.status_code == 422 and "长" * 501 in too_long.text
    assert run(LogReview.count().where(LogReview.log == log)) == 1
    assert client.post("/field/logs/999999/reviews", data={}).status_code == 404


def test_the_briefing_lists_yesterdays_repeat_callers_and_places_and_the_repeat_share(client, settings, demo):
    from zoneinfo import ZoneInfo

    from app.services.fieldwork import today

    day = today(settings.time_zone)
    zone = ZoneInfo(settings.time_zone)
    yesterday = datetime.combine(day - timedelta(days=1), datetime.min.time(), zone).replace(hour=10)
    ziwei, garden = place_row("世纪紫薇园"), place_row("泰和花园")

    def call(place: dict, when: datetime, caller: str, repeat: bool) -> None:
        [cid] = add_call(place, when)
        run(Call.update({Call.caller_key: caller, Call.is_repeat: repeat}).where(Call.id == cid))

    call(ziwei, yesterday - timedelta(days=3), "13900001111", False)
    call(ziwei, yesterday, "13900001111", True)
    call(ziwei, yesterday + timedelta(hours=1), "13900001111", True)
    call(garden, yesterday, "13700002222", False)
    client.sign_in_as("supervisor")
    client.get("/locale/en?next=/")
    html = client.get(f"/briefing?day={day.isoformat()}").text
    assert "Repeat share yesterday: 66.7%" in html  # 2 of 3 calls yesterday
    callers = html[html.index('id="repeat-callers"') : html.index('id="repeat-places"')]
    assert "139****1111" in callers and "13900001111" not in html and "2222" not in callers
    assert re.search(r"139\*\*\*\*1111</td><td class=\"num\">2</td><td class=\"num\">3</td>", callers)
    places = html[html.index('id="repeat-places"') :]
    assert re.search(r"世纪紫薇园</a></td><td class=\"num\">2</td><td class=\"num\">3</td>", places)
    assert "泰和花园" not in places  # one call only
    assert "Since the last briefing" in html


def station_of(grid: int) -> int:
    office = run(Grid.select(Grid.office).where(Grid.id == grid).first())["office"]
    return run(Office.select(Office.station).where(Office.id == office).first())["station"]


def add_alert(place: dict, sender: int, when: datetime, state: str = "open", lat=None, lon=None) -> int:
    rows = run(
        GridAlert.insert(
            GridAlert(
                client_uuid=str(uuid.uuid4()),
                grid=place["grid"],
                station=station_of(place["grid"]),
                place=place["id"],
                person=sender,
                text="两户邻居要打起来了",
                urgency="urgent",
                state=state,
                created_at=when,
                closed_at=when if state == "closed" else None,
                lat=lat,
                lon=lon,
            )
        ).returning(GridAlert.id)
    )
    return rows[0]["id"]


def test_the_alerts_layer_shows_an_alert_to_whoever_may_see_it_and_not_to_another_stations_officer(
    client, other_station
):
    now = datetime.now(timezone.utc)
    ziwei = place_row("世纪紫薇园")
    sender = person_of("grid_worker")
    open_id = add_alert(ziwei, sender, now - timedelta(hours=2), lat=33.9390, lon=118.3001)
    closed_id = add_alert(ziwei, sender, now - timedelta(days=3), state="closed")
    add_alert(ziwei, sender, now - timedelta(days=45))  # outside the last 30 days

    officer = client.sign_in_as("officer")
    html = client.get("/map?layer=alerts").text
    assert grid_count(html, "紫薇网格") == 2
    assert f'<a href="/alerts/{open_id}" class="map-alert open"' in html
    assert f'<a href="/alerts/{closed_id}" class="map-alert closed"' in html
    table = html[html.index('id="alert-list"') :]
    assert "1 条未关闭，1 条已关闭" in table
    assert table.count('href="/alerts/') == 2 and "世纪紫薇园" in table
    # An analyst of the same station sees the grid but not its alerts (alerts.get would not show them).
    client.sign_in_as("analyst")
    html = client.get("/map?layer=alerts").text
    assert grid_count(html, "紫薇网格") == 0 and f"/alerts/{open_id}" not in html

    # The same officer moved to another station (the demo signs in one person per role).
    run(
        PersonRole.update(
            {PersonRole.station: station_of(other_station["grid"]), PersonRole.office: None, PersonRole.grid: None}
        ).where(PersonRole.person == officer)
    )
    assert client.post("/signin/demo", data={"person": str(officer), "next": "/"}).status_code == 303
    html = client.get("/map?layer=alerts").text
    assert "map-alert" not in html.replace(".map-alert", "") and f"/alerts/{open_id}" not in html
    assert "紫薇网格" not in html and grid_count(html, "运河网格") == 0


TILES = "https://tiles.example.gov.cn/{z}/{x}/{y}.png"


def _place_circle(html: str, name: str) -> str:
    match = re.search(r'<circle cx="([\d.]+)" cy="([\d.]+)" r="[\d.]+" class="\w+"><title>' + name, html)
    assert match, name
    return match.group(1, 2)


def test_a_configured_basemap_draws_its_tiles_under_the_map_and_only_then_joins_the_csp(client, settings, demo):
    client.sign_in_as("officer")
    plain = client.get("/map")
    assert "<image" not in plain.text and "tiles.example.gov.cn" not in plain.headers["content-security-policy"]
    with client_with(settings, map_tile_url=TILES, map_tiles_gcj02=True) as browser:
        browser.sign_in_as("officer")
        tiled = browser.get("/map")
    hrefs = re.findall(r'<image href="([^"]+)"', tiled.text)
    assert hrefs and all(re.fullmatch(r"https://tiles\.example\.gov\.cn/\d+/\d+/\d+\.png", h) for h in hrefs)
    assert "img-src 'self' data: blob: https://tiles.example.gov.cn;" in tiled.headers["content-security-policy"]
    # Drawn over GCJ-02 tiles, the places move by the datum's shift (hundreds of metres).
    assert _place_circle(tiled.text, "世纪紫薇园") != _place_circle(plain.text, "世纪紫薇园")


def test_a_tile_url_that_is_not_a_template_of_http_or_a_path_stops_the_start():
    from app.settings import tile_url

    assert tile_url(" /tiles/{z}/{x}/{y}.png ") == "/tiles/{z}/{x}/{y}.png"
    for bad in (
        "javascript:alert(1)//{z}{x}{y}",
        "//evil.example/{z}/{x}/{y}",
        "https://t.example/tiles.png",
        'https://t.example/{z}/{x}/{y}"',
    ):
        with pytest.raises(SystemExit):
            tile_url(bad)


def test_the_demo_brings_two_months_of_alerts_for_the_map_and_the_alerts_list(client, demo):
    from app.services import demo_alerts

    assert run(demo_alerts.load()) is True
    assert run(demo_alerts.load()) is False  # once
    assert run(GridAlert.count()) == 15
    assert run(GridAlert.count().where((GridAlert.state == "open") & (GridAlert.urgency == "urgent"))) == 0
    client.sign_in_as("officer")
    today = datetime.now(
        ZoneInfo("Asia/Shanghai")
    ).date()  # the map's days are the station's (3 h ago may be today there)
    html = client.get(f"/map?layer=alerts&since={today - timedelta(days=90)}&until={today}").text
    assert "1 条未关闭，14 条已关闭" in html
    listing = client.get("/alerts").text
    assert "小区东门路灯不亮" in listing
