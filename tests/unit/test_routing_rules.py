"""Routing rules: the most specific rule wins; working-day deadlines follow the calendar."""

from datetime import date, datetime, timezone

from app.domain import routing as rules

CHINA = rules.Calendar.of((d, w) for d, w, _name in (*rules.HOLIDAYS_2026, *rules.HOLIDAYS_2027_PROVISIONAL))
STATION, OFFICE, GRID, OTHER_GRID = 1, 10, 100, 101


def rule(id: int, **unit) -> rules.Rule:
    return rules.Rule(id=id, kind="report", category="environment", agency=id, **unit)


def test_the_most_specific_rule_wins():
    station = rule(1, station=STATION)
    office = rule(2, station=STATION, office=OFFICE)
    grid = rule(3, station=STATION, office=OFFICE, grid=GRID)
    every = [station, office, grid]
    assert rules.choose(every, "report", "environment", STATION, OFFICE, GRID) == grid
    assert rules.choose(every, "report", "environment", STATION, OFFICE, OTHER_GRID) == office
    assert rules.choose(every, "report", "environment", STATION, 11, 102) == station
    assert rules.choose([station, office], "report", "environment", STATION, OFFICE, None) == office


def test_no_rule_for_another_category_kind_or_station():
    station = rule(1, station=STATION)
    assert rules.choose([station], "report", "noise", STATION, OFFICE, GRID) is None
    assert rules.choose([station], "call", "environment", STATION, OFFICE, GRID) is None
    assert rules.choose([station], "report", "environment", 2, None, None) is None
    # A grid rule covers its grid only, not the rest of the office.
    grid = rule(3, station=STATION, office=OFFICE, grid=GRID)
    assert rules.choose([grid], "report", "environment", STATION, OFFICE, OTHER_GRID) is None


def beijing(y, m, d, h=10) -> datetime:
    return datetime(y, m, d, h, tzinfo=rules.TIME_ZONE)


def test_working_days_skip_a_weekend():
    # Friday 4 Dec 2026 + 1 working day: the end of Monday 7 Dec.
    assert rules.due(beijing(2026, 12, 4), 1, "workdays", CHINA) == beijing(2026, 12, 8, 0)


def test_working_days_skip_the_spring_festival_and_count_the_make_up_saturdays():
    # Friday 13 Feb 2026: Saturday 14 Feb is a make-up workday (调休上班), 15–23 Feb are days off.
    assert rules.due(beijing(2026, 2, 13), 1, "workdays", CHINA) == beijing(2026, 2, 15, 0)
    assert rules.due(beijing(2026, 2, 13), 2, "workdays", CHINA) == beijing(2026, 2, 25, 0)
    # Friday 27 Feb: Saturday 28 Feb is a workday too.
    assert rules.due(beijing(2026, 2, 27), 1, "workdays", CHINA) == beijing(2026, 3, 1, 0)


def test_a_matter_arriving_on_a_holiday_counts_from_the_first_day_back():
    # 1 Oct 2026 (国庆): days off to 7 Oct, Thursday 8 and Friday 9 work, Saturday 10 Oct works.
    assert rules.due(beijing(2026, 10, 1), 1, "workdays", CHINA) == beijing(2026, 10, 9, 0)
    assert rules.due(beijing(2026, 10, 1), 3, "workdays", CHINA) == beijing(2026, 10, 11, 0)
    # A make-up Sunday: 20 Sep 2026.
    assert CHINA.is_workday(date(2026, 9, 20)) and not CHINA.is_workday(date(2026, 9, 26))


def test_hours_run_day_and_night():
    start = datetime(2026, 10, 1, 2, tzinfo=timezone.utc)
    assert rules.due(start, 24, "hours", CHINA) == datetime(2026, 10, 2, 2, tzinfo=timezone.utc)


def test_the_2026_calendar_is_the_official_one():
    days_off = sorted(d for d, work, _ in rules.HOLIDAYS_2026 if not work)
    workdays = sorted(d for d, work, _ in rules.HOLIDAYS_2026 if work)
    assert len(days_off) == 3 + 9 + 3 + 5 + 3 + 3 + 7
    assert workdays == [
        date(2026, 1, 4),
        date(2026, 2, 14),
        date(2026, 2, 28),
        date(2026, 5, 9),
        date(2026, 9, 20),
        date(2026, 10, 10),
    ]
    assert all(d.weekday() >= 5 for d in workdays)


def form(**changes) -> dict:
    return {
        "kind": "report",
        "category": "environment",
        "unit": "station:1",
        "agency": "5",
        "accept_amount": "1",
        "accept_unit": "workdays",
        "finish_amount": "3",
        "finish_unit": "workdays",
        **changes,
    }


def check(raw: dict, taken=frozenset()):
    return rules.check_rule(raw, {"environment"}, {"station:1": 1, "grid:3": 1}, {5, 6}, set(taken))


def test_a_good_rule_passes():
    values, errors = check(form())
    assert errors == {} and values["agency"] == 5 and values["finish_amount"] == 3


def test_bad_rules_say_what_is_wrong():
    assert check(form(agency=""))[1] == {"agency": "Choose the agency"}
    assert check(form(agency="7"))[1] == {"agency": "This agency is retired or unknown"}
    assert check(form(accept_amount="0"))[1] == {"accept_amount": "Must be more than zero"}
    assert check(form(finish_amount="-2"))[1] == {"finish_amount": "Must be more than zero"}
    assert check(form(finish_amount="x"))[1] == {"finish_amount": "Enter a whole number"}
    assert "unit" in check(form(), taken={("report", "environment", "station:1")})[1]
    assert check(form(unit="grid:3"), taken={("report", "environment", "station:1")})[1] == {}


def test_a_return_needs_a_reason_and_words():
    assert rules.check_return({"reason": "not_ours", "text": "归住建"})[1] == {}
    assert set(rules.check_return({"reason": "", "text": ""})[1]) == {"reason", "text"}


def test_overdue_then_escalated_past_the_second_threshold():
    accept, finish = beijing(2026, 12, 8, 0), beijing(2026, 12, 11, 0)
    day = rules.timedelta(hours=24)
    assert rules.standing("new", accept, finish, beijing(2026, 12, 7, 23), day) == "on_time"
    assert rules.standing("new", accept, finish, beijing(2026, 12, 8, 1), day) == "overdue"
    assert rules.standing("new", accept, finish, beijing(2026, 12, 9, 1), day) == "escalated"
    assert rules.standing("accepted", accept, finish, beijing(2026, 12, 9, 1), day) == "on_time"
    assert rules.standing("accepted", accept, finish, beijing(2026, 12, 11, 1), day) == "overdue"
    assert rules.standing("answered", accept, finish, beijing(2026, 12, 30), day) == "on_time"
