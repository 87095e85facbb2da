"""The volunteer rules without a database: the application form, shift times (across
midnight, a weekly series), the sign-up, cancel and check-in windows, overlap, and the hours
arithmetic."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from app.domain import volunteers as rules
from app.i18n import gettext

TZ = "Asia/Shanghai"
START = datetime(2026, 12, 5, 11, 0, tzinfo=UTC)  # 19:00 in Shanghai


def test_application_needs_a_name_phone_place_time_and_consent():
    checked = rules.check_application({}, {1, 2}, {7})
    assert set(checked.errors) == {"name", "phone", "grids", "availability", "consent"}
    ok = rules.check_application(
        {
            "name": " 李明 ",
            "phone": "138 0527 0004",
            "grids": ["2", "1"],
            "availability": ["weekends", "nonsense"],
            "skills": ["driving"],
            "consent": "yes",
        },
        {1, 2},
        {7},
    )
    assert ok.errors == {}
    assert ok.values["name"] == "李明" and ok.values["grids"] == ",1,2," and ok.values["availability"] == ",weekends,"
    assert ok.values["skills"] == ",driving,"


def test_application_office_instead_of_grids_and_unknown_units():
    assert rules.check_application({"office": "7"}, {1}, {7}).errors.get("grids") is None
    assert rules.check_application({"grids": ["9"]}, {1}, {7}).errors["grids"] == "Choose from the list"
    assert rules.check_application({"office": "8"}, {1}, {7}).errors["grids"] == "Choose from the list"
    assert rules.check_application({"phone": "12"}, set(), set()).errors["phone"] == "Not a phone number"
    assert (
        gettext(rules.check_application({"name": "名" * 51}, set(), set()).errors["name"]) == "内容太长：最多 50 个字"
    )


def shift_form(**extra) -> dict:
    return {
        "day": "2026-12-05",
        "start": "19:00",
        "end": "21:00",
        "grids": ["3"],
        "route": "紫薇园",
        "meeting_point": "东门",
        "min_volunteers": "2",
        "max_volunteers": "4",
        "leader": "",
        **extra,
    }


def shift_rules(**extra) -> rules.ShiftRules:
    return rules.ShiftRules(grids={3, 4}, leaders={10}, tz=TZ, now=START - timedelta(days=1), **extra)


def test_a_shift_in_local_time_is_stored_in_utc():
    checked = rules.check_shift(shift_form(), shift_rules())
    assert checked.errors == {}
    assert checked.values["starts_at"] == START and checked.values["ends_at"] == START + timedelta(hours=2)
    assert checked.values["weeks"] == 1 and checked.values["grids"] == [3]


def test_an_end_before_the_start_is_the_next_day():
    checked = rules.check_shift(shift_form(start="22:00", end="02:00"), shift_rules())
    starts, ends = checked.values["starts_at"], checked.values["ends_at"]
    assert ends - starts == timedelta(hours=4)
    assert starts == datetime(2026, 12, 5, 14, 0, tzinfo=UTC) and ends == datetime(2026, 12, 5, 18, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "extra, field",
    [
        ({"start": "7pm"}, "start"),
        ({"day": "tomorrow"}, "day"),
        ({"grids": ["9"]}, "grids"),
        ({"grids": []}, "grids"),
        ({"route": ""}, "route"),
        ({"min_volunteers": "5", "max_volunteers": "4"}, "max_volunteers"),
        ({"max_volunteers": "0"}, "max_volunteers"),
        ({"leader": "11"}, "leader"),
        ({"weeks": "27"}, "weeks"),
        ({"start": "06:00", "end": "19:00"}, "end"),
        ({"day": "2026-12-01"}, "day"),
    ],
)
def test_shift_form_errors(extra, field):
    assert field in rules.check_shift(shift_form(**extra), shift_rules()).errors


def test_an_edit_may_not_drop_the_maximum_below_the_sign_ups_but_may_keep_a_past_date():
    checked = rules.check_shift(
        shift_form(max_volunteers="2", day="2026-12-01"), shift_rules(min_confirmed=3, editing=True)
    )
    assert set(checked.errors) == {"max_volunteers"}


def test_a_weekly_series_keeps_the_local_times():
    spans = rules.series_spans(START, START + timedelta(hours=2), 3, TZ)
    assert [s for s, _e in spans] == [START, START + timedelta(weeks=1), START + timedelta(weeks=2)]
    # A series in a zone with daylight saving keeps the wall-clock time, not the UTC time.
    berlin = rules.series_spans(
        datetime(2026, 3, 25, 18, 0, tzinfo=UTC), datetime(2026, 3, 25, 20, 0, tzinfo=UTC), 2, "Europe/Berlin"
    )
    assert berlin[1][0] - berlin[0][0] == timedelta(weeks=1, hours=-1)


def test_an_edited_series_moves_times_onto_each_shift_own_day():
    later = START + timedelta(weeks=1)
    new_start, new_end = rules.moved_to_day(START + timedelta(minutes=30), START + timedelta(hours=3), later, TZ)
    assert new_start == later + timedelta(minutes=30) and new_end == later + timedelta(hours=3)


def test_overlap():
    hour = timedelta(hours=1)
    assert rules.overlaps(START, START + 2 * hour, START + hour, START + 3 * hour)
    assert rules.overlaps(START + hour, START + 3 * hour, START, START + 2 * hour)
    assert rules.overlaps(START, START + 3 * hour, START + hour, START + 2 * hour)
    assert not rules.overlaps(START, START + hour, START + hour, START + 2 * hour)  # touching ends


def test_sign_up_window():
    assert rules.signup_refusal(START, False, START - timedelta(days=15), 14).message == "Sign-up opens on %(when)s."
    assert rules.signup_refusal(START, False, START - timedelta(days=15), 14).params["when"] == START - timedelta(
        days=14
    )
    assert rules.signup_refusal(START, False, START - timedelta(days=14), 14) is None
    assert rules.signup_refusal(START, False, START - timedelta(seconds=1), 14) is None
    assert "already started" in rules.signup_refusal(START, False, START, 14).message
    assert "cancelled" in rules.signup_refusal(START, True, START - timedelta(days=1), 14).message


def test_cancel_window():
    assert rules.withdraw_refusal(START, True, START - timedelta(hours=12, seconds=1), 12) is None
    late = rules.withdraw_refusal(START, True, START - timedelta(hours=12), 12)
    assert late is not None and late.params["when"] == START - timedelta(hours=12)
    assert rules.withdraw_refusal(START, False, START - timedelta(hours=1), 12) is None  # the waiting list
    assert rules.withdraw_refusal(START, False, START, 12) is not None


def test_check_in_window_edges():
    assert rules.check_in_refusal(START, START - timedelta(minutes=30)) is None
    assert rules.check_in_refusal(START, START + timedelta(minutes=30)) is None
    early = rules.check_in_refusal(START, START - timedelta(minutes=30, seconds=1))
    late = rules.check_in_refusal(START, START + timedelta(minutes=30, seconds=1))
    assert early.message.startswith("Too early") and early.params["when"] == START - timedelta(minutes=30)
    assert late.message.startswith("Too late") and late.params["when"] == START + timedelta(minutes=30)


def test_auto_close_after_the_check_out_grace():
    end = START + timedelta(hours=2)
    assert not rules.should_auto_close(end, end + timedelta(hours=1))
    assert rules.should_auto_close(end, end + timedelta(hours=1, seconds=1))


@pytest.mark.parametrize("seconds, minutes", [(0, 0), (1, 1), (59, 1), (60, 1), (61, 2), (3600, 60), (-5, 0)])
def test_every_started_minute_counts(seconds, minutes):
    assert rules.minutes_between(START, START + timedelta(seconds=seconds)) == minutes


def test_served_minutes():
    end = START + timedelta(hours=2)
    check_in, check_out = START - timedelta(minutes=10), START + timedelta(hours=1, minutes=5)
    assert rules.served_minutes(START, end, check_in, check_out, "") == 75
    assert rules.served_minutes(START, end, check_in, check_out, "present") == 75
    assert rules.served_minutes(START, end, None, None, "present") == 120  # the leader's word: planned length
    assert rules.served_minutes(START, end, check_in, None, "") == 0
    assert rules.served_minutes(START, end, check_in, check_out, "no_show") == 0
    assert rules.served_minutes(START, end, None, None, "") == 0


def test_hours_across_midnight():
    starts = datetime(2026, 12, 5, 14, 0, tzinfo=UTC)  # 22:00 Shanghai
    check_out = datetime(2026, 12, 5, 18, 20, tzinfo=UTC)  # 02:20 the next day
    minutes = rules.served_minutes(starts, starts + timedelta(hours=4), starts, check_out, "")
    assert minutes == 260 and rules.hours_and_minutes(minutes) == (4, 20) and rules.decimal_hours(minutes) == "4.33"
    assert rules.month_of(datetime(2026, 11, 30, 17, 0, tzinfo=UTC), TZ) == "2026-12"  # 01:00 on 1 Dec locally


def test_local_day_bounds():
    start, end = rules.local_day_bounds(date(2026, 12, 1), date(2026, 12, 31), TZ)
    assert start == datetime(2026, 11, 30, 16, 0, tzinfo=UTC) and end == datetime(2026, 12, 31, 16, 0, tzinfo=UTC)
    assert rules.local_day_bounds(None, None, TZ) == (None, None)
    assert rules.local_span(date(2026, 12, 5), time(19), time(19), TZ)[1] - rules.local_span(
        date(2026, 12, 5), time(19), time(19), TZ
    )[0] == timedelta(hours=24)
