"""Source-governance rules on hand-made call sets that sit exactly on and just off each
threshold and window edge; phone and address normalising; the work-order state machine."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from app.domain import calls as rules
from app.domain import orders

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)
DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)


def setting_for(_station, _category, rule):
    return rules.DEFAULT_SETTINGS[rule]


def calls_at(*offsets, caller="13800000001", place="place:1", category="纠纷", station=1):
    return [rules.Call(i + 1, T0 + offset, caller, place, station, category) for i, offset in enumerate(offsets)]


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("13812345678", "13812345678"),
        ("+86 138-1234-5678", "13812345678"),
        ("008613812345678", "13812345678"),
        ("8613812345678", "13812345678"),
        ("0516-83871234", "051683871234"),  # a landline keeps its area code
        ("(0516) 8387 1234", "051683871234"),
        ("", None),
        ("未知", None),
        ("withheld", None),
        ("110", None),
        ("0", None),
        ("１３８１２３４５６７８", "13812345678"),  # full-width digits
    ],
)
def test_phone_normalising(raw, expected):
    assert rules.normalise_phone(raw) == expected


@pytest.mark.parametrize("raw", ["138abc45678", "call me", "1381234567x"])
def test_phones_with_letters_are_refused(raw):
    with pytest.raises(rules.PhoneError):
        rules.normalise_phone(raw)


def test_addresses_match_across_spaces_punctuation_and_width():
    assert rules.normalise_address("徐州市 泰和小区３号楼（东门）") == rules.normalise_address(
        "徐州市泰和小区3号楼东门"
    )


def test_one_person_many_times_on_and_off_the_30_day_edge():
    on = calls_at(0 * DAY, 10 * DAY, 30 * DAY)  # third call exactly 30 days after the first
    off = calls_at(0 * DAY, 10 * DAY, 30 * DAY + SECOND)  # one second later: no window holds 3
    two = calls_at(0 * DAY, DAY)  # below the threshold
    assert [f.call_ids for f in rules.detect_repeats(on, "repeat_caller", setting_for)] == [[1, 2, 3]]
    assert rules.detect_repeats(off, "repeat_caller", setting_for) == []
    assert rules.detect_repeats(two, "repeat_caller", setting_for) == []


def test_withheld_numbers_never_form_a_repeat_key():
    assert rules.detect_repeats(calls_at(0 * DAY, DAY, 2 * DAY, caller=None), "repeat_caller", setting_for) == []


def test_one_place_many_incidents_and_only_the_calls_in_dense_windows():
    group = calls_at(0 * DAY, 60 * DAY, 61 * DAY, 62 * DAY, caller=None, place="address:泰和小区3号楼")
    [flag] = rules.detect_repeats(group, "repeat_place", setting_for)
    assert (flag.rule, flag.key, flag.call_ids) == ("repeat_place", "address:泰和小区3号楼:dispute", [2, 3, 4])


def test_a_places_repeats_count_per_category_family():
    thefts = [rules.Call(i + 1, T0 + i * DAY, None, "place:7", 1, "盗窃") for i in range(3)]
    mixed = [
        rules.Call(10 + i, T0 + i * DAY, None, "place:7", 1, c)
        for i, c in enumerate(["纠纷", "噪音扰民", "电动车被盗"])
    ]
    flags = rules.detect_repeats(thefts + mixed, "repeat_place", setting_for)
    assert [(f.key, f.call_ids) for f in flags] == [("place:7:theft", [1, 2, 3, 12])]
    assert rules.split_place_key("place:7:theft") == ("place:7", "theft")
    assert rules.split_place_key("place:7") == ("place:7", "")  # an order made before families
    assert rules.split_place_key("address:泰和小区3号楼:noise") == ("address:泰和小区3号楼", "noise")


def test_a_station_may_raise_the_threshold():
    group = calls_at(0 * DAY, DAY, 2 * DAY)
    stricter = rules.RuleSetting(4, 30)
    assert rules.detect_repeats(group, "repeat_caller", lambda s, c, r: stricter) == []


@pytest.mark.parametrize(
    "recent, before, flagged",
    [
        (5, 0, True),  # the floor of 5
        (4, 0, False),
        (10, 20, True),  # 2 x (20 / 4) = 10: exactly on
        (9, 20, False),
        (11, 22, True),
        (10, 22, False),  # 2 x 5.5 = 11
    ],
)
def test_one_kind_surging(recent, before, flagged):
    assert rules.surge(recent, before, rules.DEFAULT_SETTINGS["category_surge"]) is flagged


def test_surge_windows_are_the_last_7_days_and_the_4_weeks_before():
    as_of = T0 + 35 * DAY
    recent = [as_of - i * DAY for i in range(5)] + [as_of - 7 * DAY + SECOND]  # 6 in (as_of-7d, as_of]
    base = [as_of - 7 * DAY - i * DAY for i in range(0, 12)]  # 12 in the 4 weeks before
    calls = [rules.Call(i, t, None, None, 1, "盗窃") for i, t in enumerate(recent + base)]
    # 6 recent >= max(5, 2 x 12/4 = 6): flagged; with one more base call it is not.
    assert [f.key for f in rules.detect_surges(calls, as_of, setting_for)] == ["1:盗窃"]
    calls.append(rules.Call(99, as_of - 20 * DAY, None, None, 1, "盗窃"))
    assert rules.detect_surges(calls, as_of, setting_for) == []


def test_repeat_calls_look_back_30_days_inclusive():
    times = {"a": [T0, T0 + 30 * DAY, T0 + 61 * DAY], "b": [T0 + 40 * DAY]}
    # In [T0+1d, T0+70d): a's second call (30 days after the first: repeat), a's third (31 days: not), b's first.
    assert rules.count_repeat_calls(times, T0 + DAY, T0 + 70 * DAY) == 1
    assert rules.count_repeat_calls(times, T0, T0 + SECOND) == 0  # the first call ever is no repeat


def test_periods_are_inclusive_dates_in_the_station_zone():
    start, end = rules.period_bounds(date(2026, 3, 1), date(2026, 3, 1), "Asia/Shanghai")
    assert start == datetime(2026, 2, 28, 16, 0, tzinfo=timezone.utc) and end - start == DAY
    assert rules.year_earlier(date(2028, 2, 29)) == date(2027, 2, 28)


def test_reading_a_row_in_chinese_columns_with_local_time():
    row, errors = rules.read_row(
        {
            "警情编号": "J001",
            "报警时间": "2026-03-01 14:30",
            "报警电话": "+8613800000001",
            "发案地址": "泰和小区3号楼",
            "警情类别": "纠纷",
        },
        "Asia/Shanghai",
    )
    assert errors == {} and row.received_at == datetime(2026, 3, 1, 6, 30, tzinfo=timezone.utc)
    assert row.caller_key == "13800000001"


@pytest.mark.parametrize(
    "change, column",
    [
        ({"received_at": "01/03/2026"}, "received_at"),
        ({"received_at": "2026-02-30 10:00"}, "received_at"),
        ({"caller_phone": "138abc"}, "caller_phone"),
        ({"call_id": ""}, "call_id"),
        ({"lat": "95", "lon": "118"}, "lat"),
        ({"lat": "34.2"}, "lon"),
        ({"summary": "x" * 2001}, "summary"),
    ],
)
def test_bad_rows_are_refused_column_by_column(change, column):
    raw = {"call_id": "J1", "received_at": "2026-03-01T14:30:00+08:00", "address": "A", "category": "纠纷", **change}
    row, errors = rules.read_row(raw, "Asia/Shanghai")
    assert row is None and column in errors


# --- the closed loop -------------------------------------------------------------------------

OFFICER = frozenset({"officer"})
SUPERVISOR = frozenset({"supervisor"})
ANALYST = frozenset({"analyst"})


@pytest.mark.parametrize(
    "step, state, roles, assignee, ok",
    [
        ("verify", "assigned", OFFICER, True, True),
        ("verify", "assigned", OFFICER, False, False),  # another officer
        ("verify", "verified", OFFICER, True, False),  # out of order
        ("handle", "verified", OFFICER, True, True),
        ("handle", "assigned", OFFICER, True, False),
        ("feed_back", "handled", OFFICER, True, True),
        ("evaluate", "fed_back", SUPERVISOR, False, True),
        ("evaluate", "fed_back", OFFICER, True, False),  # the assignee does not grade themself
        ("unsatisfied", "fed_back", SUPERVISOR, False, True),
        ("close", "evaluated", ANALYST, False, True),
        ("close", "evaluated", OFFICER, True, False),
        ("reopen", "evaluated", SUPERVISOR, False, True),
        ("close", "fed_back", ANALYST, False, False),
        ("reassign", "handled", SUPERVISOR, False, True),
        ("reassign", "closed", SUPERVISOR, False, False),
        ("reassign", "assigned", OFFICER, True, False),
        ("fly", "assigned", SUPERVISOR, False, False),
    ],
)
def test_every_step_by_state_and_role(step, state, roles, assignee, ok):
    assert (orders.allowed(step, state, roles, assignee) is None) is ok


def test_unsatisfied_goes_back_to_handling_and_reopen_to_verifying():
    assert orders.next_state("unsatisfied", "fed_back") == "verified"
    assert orders.next_state("reopen", "evaluated") == "assigned"
    assert orders.next_state("reassign", "handled") == "handled"
    assert orders.NEXT_STEP[orders.next_state("unsatisfied", "fed_back")][0] == "handle"


def test_deadlines_and_the_review_period():
    assert orders.deadline("assigned", T0) == T0 + 2 * DAY and orders.deadline("closed", T0) is None
    assert orders.overdue("assigned", T0, T0 + SECOND) and not orders.overdue("closed", T0, T0 + DAY)
    assert not orders.review_ready(T0, T0 + 30 * DAY - SECOND) and orders.review_ready(T0, T0 + 30 * DAY)


def test_review_windows_are_equal_before_and_after_the_measures():
    assert rules.equal_windows(date(2026, 3, 11), date(2026, 3, 21)) == (
        date(2026, 3, 1),
        date(2026, 3, 10),
        date(2026, 3, 11),
        date(2026, 3, 20),
    )
    assert rules.equal_windows(date(2026, 3, 11), date(2026, 3, 11)) is None
    before_start, _, _, after_end = rules.equal_windows(date(2025, 1, 1), date(2026, 3, 1), longest=90)
    assert (date(2025, 1, 1) - before_start).days == 90 and (after_end - date(2025, 1, 1)).days == 89


def test_median_hours_per_step():
    timeline = [("create", T0), ("verify", T0 + timedelta(hours=2)), ("handle", T0 + timedelta(hours=12))]
    other = [("create", T0), ("verify", T0 + timedelta(hours=4))]
    third = [("create", T0), ("verify", T0 + timedelta(hours=9))]
    assert orders.median_step_hours([timeline, other, third]) == {"verify": 4.0, "handle": 10.0}


@pytest.mark.parametrize(
    "category, family",
    [
        ("家庭纠纷", "dispute"),
        ("邻里纠纷", "dispute"),
        ("纠纷", "dispute"),
        ("盗窃", "theft"),
        ("电动车被盗", "theft"),
        ("噪音扰民", "noise"),
        ("电信诈骗", "fraud"),
        ("交通事故", "traffic"),
        ("求助", "help"),
        ("走失", "other"),
    ],
)
def test_a_categorys_family_is_the_first_family_word_it_holds(category, family):
    assert rules.family_of(category) == family


def test_a_closed_complex_dispute_is_a_closed_manual_order_or_one_of_mostly_dispute_calls():
    assert rules.closed_complex_dispute("manual", "closed", {})
    assert not rules.closed_complex_dispute("manual", "evaluated", {})
    assert rules.closed_complex_dispute("repeat_caller", "closed", {"家庭纠纷": 3})
    assert rules.closed_complex_dispute("repeat_place", "closed", {"纠纷": 2, "盗窃": 1})
    assert not rules.closed_complex_dispute("repeat_place", "closed", {"纠纷": 2, "盗窃": 2})
    assert not rules.closed_complex_dispute("repeat_caller", "closed", {"噪音扰民": 3})
    assert rules.closed_complex_dispute("repeat_caller", "closed", {"投诉": 3}, {"投诉": "dispute"})


def test_mapped_column_names_join_the_built_in_ones():
    from app.domain.calls import columns_with

    columns = columns_with({"接警单编号": "call_id", "事发地址": "address"})
    assert columns["call_id"] == ("call_id", "警情编号", "接警单编号")
    assert columns["address"][-1] == "事发地址" and columns["category"] == ("category", "警情类别")


def test_column_choices_need_every_missing_needed_field_once():
    from app.domain.calls import check_column_choices

    headers = ["接警单编号", "接警时间", "事发地址", "警情类别"]
    missing = ["call_id", "received_at", "address", "lat"]
    mapping, errors = check_column_choices(
        {"call_id": "接警单编号", "received_at": "接警时间", "address": "事发地址"}, headers, missing
    )
    assert (mapping, errors) == ({"接警单编号": "call_id", "接警时间": "received_at", "事发地址": "address"}, {})
    _mapping, errors = check_column_choices({"call_id": "接警单编号", "received_at": "接警单编号"}, headers, missing)
    assert errors == {
        "received_at": "This column is chosen for another field already",
        "address": "Choose the column that holds it",
    }
    _mapping, errors = check_column_choices(
        {"call_id": "别的列", "received_at": "接警时间", "address": "事发地址"}, headers, missing
    )
    assert errors == {"call_id": "Choose one of the file's columns"}


def test_the_80_20_curve_and_the_busiest_fifth():
    counts = [1, 6, 1, 2]  # 10 calls with a key of 12 in all (2 without)
    assert rules.pareto_curve(counts, 12) == [(0.0, 0.0), (0.25, 0.5), (0.5, 8 / 12), (0.75, 0.75), (1.0, 10 / 12)]
    assert rules.top_share(counts, 12) == (1, 0.5)  # a fifth of 4 places rounds to 1
    assert rules.top_share([5] * 10, 50, 0.2) == (2, 0.2)
    assert rules.pareto_curve([], 0) == [] and rules.top_share([], 0) is None
    many = rules.pareto_curve([1] * 250, 250)
    assert len(many) <= 102 and many[-1] == (1.0, 1.0) and many[1] == (3 / 250, 3 / 250)
