"""Platform metrics: hand-made matters (one handled by the police, one routed and accepted late,
one returned, late and reopened) give the same numbers on the page, in the CSV and in the API."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from app.services import api_keys, audit, matter_facts
from app.tables import Agency, Call, Report, ReportCategory, ReportReporter, ReportStep, Station
from tests.conftest import run

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)  # Monday 09:00 Beijing; March 2026 has no holidays
H = timedelta(hours=1)
D = timedelta(days=1)
PERIOD = "start=2026-03-01&end=2026-03-31"


def add(
    status: str, steps: list[tuple[str, timedelta, int | None]], ratings: list[int], at: datetime = T0, **row
) -> int:
    station = run(Station.select(Station.id).first())["id"]
    category = run(ReportCategory.select(ReportCategory.id).first())["id"]
    [inserted] = run(
        Report.insert(Report(category=category, station=station, status=status, created_at=at, **row)).returning(
            Report.id
        )
    )
    report = inserted["id"]
    run(ReportStep.insert(*[ReportStep(report=report, kind=k, at=at + after, agency=a) for k, after, a in steps]))
    for i, rating in enumerate(ratings):
        run(
            ReportReporter.insert(
                ReportReporter(report=report, tracking=f"T{report % 100000:05d}{i:02d}", rating=rating)
            )
        )
    run(matter_facts.refresh([report]))  # rows made by hand: their stored facts as a service would write them
    return report


@pytest.fixture
def matters(demo):
    cg = run(Agency.select(Agency.id).where(Agency.code == "CG").first())["id"]
    # Taken on after 2 h, done after a day (both in time), rated 5.
    add("done", [("received", 0 * H, None), ("accepted", 2 * H, None), ("done", D, None)], [5])
    # Routed to 城管; accepted after 50 h (due by the end of Tuesday: late), answered on Thursday (in time).
    add(
        "done",
        [("transferred", 0 * H, cg), ("agency_accepted", 50 * H, cg), ("answered", 3 * D, cg)],
        [4, 2],
        answered_by=cg,
    )
    # Returned by 城管 after 5 h, taken on by the police at 6 h, done after 9 days (late), rated 1,
    # reopened, done again: its agency is the one that had it last (城管).
    add(
        "done",
        [
            ("transferred", 0 * H, cg),
            ("returned", 5 * H, cg),
            ("accepted", 6 * H, None),
            ("done", 9 * D, None),
            ("reopened", 9 * D + H, None),
            ("done", 10 * D, None),
        ],
        [1],
        returns=1,
    )
    return cg


def key(role: str) -> dict:
    station = run(Station.select(Station.id).first())["id"]
    token = run(api_keys.create("test", role, station if role != "open311" else None, audit.SYSTEM))[1]
    return {"Authorization": f"Bearer {token}"}


EXPECTED = {
    "start": "2026-03-01",
    "end": "2026-03-31",
    "received": 3,
    "completed": 3,
    "completion_rate": 1.0,
    "on_time_rate": pytest.approx(2 / 3),
    "response_rate": pytest.approx(2 / 3),
    "satisfaction_rate": 0.5,
    "rated": 4,
}


def test_the_api_gives_the_hand_computed_numbers(client, matters):
    answer = client.http.get(f"/api/v1/metrics/platform?{PERIOD}&group=agency", headers=key("supervisor"))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert {k: v for k, v in body.items() if k != "groups"} == EXPECTED
    [group] = body["groups"]
    assert group["type"] == "agency" and group["id"] == matters and group["name"] == "经开区城市管理局"
    assert (group["received"], group["completed"], group["rated"], group["rank"]) == (2, 2, 3, None)
    assert group["response_rate"] == 0.5 and group["on_time_rate"] == 0.5
    assert group["satisfaction_rate"] == pytest.approx(1 / 3)
    analyst = client.http.get(f"/api/v1/metrics/platform?{PERIOD}", headers=key("analyst")).json()
    assert analyst["received"] == 3 and analyst["groups"][0]["type"] == "station"


def test_the_page_and_the_csv_show_the_apis_numbers(client, matters):
    api = client.http.get(f"/api/v1/metrics/platform?{PERIOD}&group=agency", headers=key("analyst")).json()
    client.sign_in_as("supervisor")
    page = client.get(f"/metrics/platform?{PERIOD}&group=agency", headers={"Accept-Language": "en"}).text
    for rate in ("response_rate", "on_time_rate", "satisfaction_rate", "completion_rate"):
        row = page.split(f'id="m-{rate}"')[1].split("</dd>")[0]
        assert f"{api[rate] * 100:.1f}%" in row
    assert "2 / 3" in page.split('id="m-response_rate"')[1].split("</dd>")[0]
    assert "经开区城市管理局" in page.split("Too few matters to rank")[1]  # 2 matters: listed apart
    assert "<title" in page and "<desc" in page  # the charts' text alternative
    csv = client.get(f"/metrics/platform.csv?{PERIOD}&group=agency").text.lstrip("\ufeff").splitlines()
    assert csv[0].startswith("type,id,name,rank,received,completed,completion_rate,response_rate,on_time_rate")
    total = csv[1].split(",")
    assert total[:6] == ["total", "", "2026-03-01..2026-03-31", "", "3", "3"]
    assert float(total[7]) == round(api["response_rate"], 4) and float(total[12]) == api["satisfaction_rate"]
    assert any(line.startswith(f"agency,{matters},经开区城市管理局,,2,2") for line in csv)


def test_the_page_in_chinese_defines_each_rate(client, matters):
    client.sign_in_as("analyst")
    page = client.get(f"/metrics/platform?{PERIOD}").text
    assert "平台指标" in page and "签收率" in page and "满意率" in page


def test_bad_dates_are_refused(client, matters):
    auth = key("supervisor")
    assert client.http.get("/api/v1/metrics/platform?start=2026-02-30&end=2026-03-01", headers=auth).status_code == 422
    assert client.http.get("/api/v1/metrics/platform?start=2026-03-02&end=2026-03-01", headers=auth).status_code == 422
    assert client.http.get(f"/api/v1/metrics/platform?{PERIOD}&group=person", headers=auth).status_code == 422
    assert client.http.get("/api/v1/metrics/platform?start=2026-03-01", headers=auth).status_code == 400  # no end
    assert client.http.get(f"/api/v1/metrics/platform?{PERIOD}").status_code == 401
    assert client.http.get(f"/api/v1/metrics/platform?{PERIOD}", headers=key("open311")).status_code == 403
    client.sign_in_as("supervisor")
    page = client.get("/metrics/platform?start=2026-03-05&end=2026-03-01", headers={"Accept-Language": "en"})
    assert page.status_code == 422 and "The end must not be before the start" in page.text
    assert 'value="2026-03-05"' in page.text  # what was typed is kept


def test_a_stations_key_sees_only_its_station(client, matters):
    other = run(Station.insert(Station(name="其他派出所", code="QT")).returning(Station.id))[0]["id"]
    token = run(api_keys.create("other", "supervisor", other, audit.SYSTEM))[1]
    body = client.http.get(f"/api/v1/metrics/platform?{PERIOD}", headers={"Authorization": f"Bearer {token}"}).json()
    assert body["received"] == 0 and body["groups"] == [] and body["completion_rate"] is None


def test_the_demo_has_a_year_of_matters_with_true_numbers(client, demo):
    from app.services import demo_calls, demo_matters

    run(demo_calls.load(count=40))
    assert run(demo_matters.load(count=120)) is True
    assert run(demo_matters.load(count=120)) is False  # once
    kinds = {r["kind"] for r in run(ReportStep.select(ReportStep.kind).distinct())}
    assert {"transferred", "agency_accepted", "answered", "returned", "done"} <= kinds
    assert run(ReportReporter.count().where(ReportReporter.rating.is_not_null())) > 0
    client.sign_in_as("supervisor")
    start = (datetime.now(timezone.utc) - timedelta(days=400)).date().isoformat()
    body = client.get(f"/metrics/platform?start={start}", headers={"Accept-Language": "en"}).text
    received = body.split('class="stat"><strong>')[1].split("<")[0]
    assert int(received.replace(",", "")) > 100
    assert run(Report.count().where(Report.status.is_in(["received", "accepted", "transferred", "in_progress"]))) > 0


def test_the_answer_is_typed_in_openapi(client, db):
    spec = client.get("/schema/openapi.json").json()
    operation = spec["paths"]["/api/v1/metrics/platform"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"start", "end", "group"}
    schemas = spec["components"]["schemas"]
    assert {"received", "completion_rate", "on_time_rate", "response_rate", "satisfaction_rate", "groups"} <= set(
        schemas["PlatformMetrics"]["properties"]
    )
    assert {"type", "id", "name", "rank"} <= set(schemas["GroupMetrics"]["properties"])


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def test_the_weekly_and_monthly_buckets_are_beijing_weeks_and_months(client, demo):
    """Matters and calls near midnight in Beijing (UTC+8) fall in Beijing's Monday-to-Sunday
    weeks and its months; the figures counted by hand."""

    def matter(created: str, completed: str | None, ratings: list[int]) -> None:
        at = utc(created)
        steps = [("received", 0 * H, None)] + ([("done", utc(completed) - at, None)] if completed else [])
        add("done" if completed else "received", steps, ratings, at=at)

    matter("2026-02-25 15:30", None, [1])  # Wed 23:30 in Beijing: before the period
    matter("2026-02-25 17:00", "2026-03-01 15:59", [5])  # Thu 02-26 01:00; done Sun 23:59: week 02-23
    matter("2026-02-28 16:30", "2026-03-01 16:30", [1, 4])  # Sun 03-01 00:30 (March); done Mon 00:30
    matter("2026-03-01 16:30", None, [])  # Mon 03-02 00:30: week 03-02
    matter("2026-03-10 02:00", "2026-04-07 02:00", [])  # done in a week after the chart's last
    matter("2026-03-31 15:00", "2026-04-02 01:00", [5])  # Tue 23:30: the last day; done that week
    matter("2026-03-31 16:30", None, [5])  # Wed 04-01 00:30: after the period
    station = run(Station.select(Station.id).first())["id"]
    for i, received in enumerate(
        ["2026-03-01 15:59", "2026-03-01 16:00", "2026-03-08 16:00", "2025-03-02 15:59", "2025-03-02 16:00"]
    ):
        run(
            Call.insert(
                Call(
                    call_id=f"W{i}",
                    received_at=utc(received),
                    address="x",
                    address_key="x",
                    category="c",
                    station=station,
                )
            )
        )
    client.sign_in_as("supervisor")
    page = client.get("/metrics/platform?start=2026-02-26&end=2026-03-31", headers={"Accept-Language": "en"}).text

    def table(chart: str) -> list[list[str]]:
        body = page.split(f'id="chart-{chart}"')[1].split("<tbody>")[1].split("</tbody>")[0]
        return [re.findall(r"<td>(.*?)</td>", row) for row in body.split("</tr>")[:-1]]

    weeks = ["02-23", "03-02", "03-09", "03-16", "03-23", "03-30"]
    assert table("matters") == [[w, r, c] for w, r, c in zip(weeks, "211001", "110001")]
    assert table("satisfaction") == [["2026-02", "100"], ["2026-03", "66.7"]]
    # Calls: Sun 23:59 and Mon 00:00 in Beijing; a year earlier 52 weeks back (Mon 2025-03-03).
    assert [row[:3] for row in table("calls")] == [[w, n, b] for w, n, b in zip(weeks, "111000", "110000")]


def test_the_median_and_90th_percentile_hours_are_the_nearest_ranks(client, demo):
    cg = run(Agency.select(Agency.id).where(Agency.code == "CG").first())["id"]
    # Ten matters taken on after 1 … 10 hours and done after 1 … 10 days, the even ones routed
    # to 城管 (answered there): of the ten, the median is the 5th and the 90th percentile the 9th.
    for k in range(1, 11):
        if k % 2:
            add("done", [("received", 0 * H, None), ("accepted", k * H, None), ("done", k * D, None)], [])
        else:
            steps = [("transferred", 0 * H, cg), ("agency_accepted", k * H, cg), ("answered", k * D, cg)]
            add("done", steps, [], answered_by=cg)
    client.sign_in_as("supervisor")
    rows = client.get(f"/metrics/platform.csv?{PERIOD}&group=agency").text.lstrip("\ufeff").splitlines()
    header = rows[0].split(",")
    cells = {r.split(",")[0]: dict(zip(header, r.split(","), strict=True)) for r in rows[1:]}
    hours = ("accept_hours_median", "accept_hours_p90", "complete_hours_median", "complete_hours_p90")
    assert [cells["total"][h] for h in hours] == ["5.0", "9.0", "120.0", "216.0"]
    # 城管's five (2, 4, 6, 8, 10): the 3rd and the 5th (ceil(4.5)).
    assert [cells["agency"][h] for h in hours] == ["6.0", "10.0", "144.0", "240.0"]
