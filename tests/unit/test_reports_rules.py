"""Rules of resident reports: codes, the public form, staff steps, rating and reopening, Open311."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from app.domain import reports as rules

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=timezone.utc)
CATEGORIES = {"noise": 1, "other": 2}


def test_codes_are_8_unambiguous_characters_and_differ():
    codes = {rules.new_code() for _ in range(2000)}
    assert len(codes) == 2000
    for code in codes:
        assert len(code) == 8 and not set(code) & set("01IO")
        assert rules.normalise_code(code) == code


def test_typed_codes_are_forgiving_but_never_ambiguous():
    assert rules.normalise_code(" ab3k-7mnq ") == "AB3K7MNQ"
    assert rules.normalise_code("AB3K7MN") is None  # too short
    assert rules.normalise_code("AB3K7MN0") is None  # 0 is not in the alphabet
    assert rules.normalise_code("") is None and rules.normalise_code("<script>") is None


def test_a_submission_needs_a_known_category_and_words():
    ok = rules.check_submission({"category": "noise", "description": "  吵  ", "phone": "139 1234 5678"}, CATEGORIES)
    assert ok.errors == {} and ok.values["category"] == 1 and ok.values["description"] == "吵"
    bad = rules.check_submission({"category": "cats", "description": "", "phone": "ring me"}, CATEGORIES)
    assert set(bad.errors) == {"category", "description", "phone"}
    assert "description" in rules.check_submission({"category": "noise", "description": "x" * 2001}, CATEGORIES).errors
    assert rules.check_submission({"category": "noise", "description": "x" * 2000}, CATEGORIES).errors == {}


def test_location_is_optional_but_must_be_readable():
    base = {"category": "noise", "description": "x"}
    assert (
        rules.check_submission({**base, "lat": "33.94", "lon": "118.30", "accuracy": "12"}, CATEGORIES).values[
            "accuracy"
        ]
        == 12
    )
    assert "location" in rules.check_submission({**base, "lat": "95", "lon": "118"}, CATEGORIES).errors
    assert "location" in rules.check_submission({**base, "lat": "33.9"}, CATEGORIES).errors


def test_the_honeypot_refuses_everything():
    checked = rules.check_submission({"category": "noise", "description": "x", "website": "http://x"}, CATEGORIES)
    assert list(checked.errors) == ["form"]


def test_the_join_answer():
    assert rules.join_choice({}) is None
    assert rules.join_choice({"join": "new"}) == "new"
    assert rules.join_choice({"join": "12"}) == 12
    assert rules.join_choice({"join": "12; drop"}) is None


def test_staff_steps_follow_the_states():
    assert rules.may_act("accept", "received") and not rules.may_act("accept", "accepted")
    assert rules.next_status("assign", "accepted") == "in_progress"
    assert rules.next_status("reply", "in_progress") == "in_progress"
    assert rules.next_status("transfer", "accepted") == "transferred"
    assert not rules.may_act("done", "closed") and not rules.may_act("close", "closed")
    assert rules.may_act("note", "closed")  # notes can always be added
    values, errors = rules.check_step("assign", "received", {"assignee": "7"}, {7}, set())
    assert errors == {} and values["assignee"] == 7
    assert "assignee" in rules.check_step("assign", "received", {"assignee": "8"}, {7}, set())[1]
    assert "text" in rules.check_step("reply", "received", {"text": "  "}, set(), set())[1]
    assert "agency" in rules.check_step("transfer", "received", {"agency": "x"}, set(), {3})[1]
    assert "form" in rules.check_step("accept", "done", {}, set(), set())[1]
    assert "form" in rules.check_step("explode", "received", {}, set(), set())[1]


def test_rating_once_each_time_it_is_done():
    assert not rules.may_rate("in_progress", None, None)
    assert rules.may_rate("done", NOW, None)
    assert not rules.may_rate("done", NOW, NOW + timedelta(minutes=1))
    assert rules.may_rate("done", NOW, NOW - timedelta(days=1))  # reopened and done again
    assert rules.check_rating({"rating": "6"})[2] and rules.check_rating({"rating": "5", "comment": "x" * 501})[2]
    assert rules.check_rating({"rating": "4", "comment": " ok "})[:2] == (4, "ok")


def test_an_unsatisfied_rating_reopens_once_within_seven_days():
    assert rules.reopens(2, NOW, None, NOW + timedelta(days=7))
    assert rules.reopens(1, NOW, None, NOW + timedelta(hours=1))
    assert not rules.reopens(3, NOW, None, NOW)
    assert not rules.reopens(1, NOW, None, NOW + timedelta(days=7, seconds=1))
    assert not rules.reopens(1, NOW, NOW - timedelta(days=1), NOW)  # already reopened once


def test_open311_statuses():
    assert [rules.open311_status(s) for s in rules.STATUSES] == ["open"] * 4 + ["closed"] * 2
    assert rules.statuses_for_open311("open") == rules.OPEN_STATUSES
    assert set(rules.statuses_for_open311("open, closed")) == set(rules.STATUSES)
    assert rules.statuses_for_open311("pending") is None


def test_categories_an_admin_adds():
    assert rules.check_category("pets", "宠物", "Pets", "", "", {"noise"}, editing=False) == {}
    assert set(rules.check_category("Pets!", "", "x" * 61, "", "", set(), editing=False)) == {
        "code",
        "name_zh",
        "name_en",
    }
    assert "code" in rules.check_category("noise", "a", "b", "", "", {"noise"}, editing=False)
    assert rules.check_category("noise", "a", "b", "", "", {"noise"}, editing=True) == {}
