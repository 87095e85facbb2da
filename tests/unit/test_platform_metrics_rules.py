"""Platform metrics (三率) against hand-computed fixtures: transfers, a return, a reopen after an
unsatisfied rating, matters not yet due, the percentiles, Wilson ranking and the minimum volume."""

from datetime import date, datetime, timedelta, timezone

import pytest

from app.domain import platform_metrics as rules

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)  # Monday 09:00 in Beijing
NOW = T0 + timedelta(days=10)
H = timedelta(hours=1)
D = timedelta(days=1)


def matter(id: int, status: str, steps: list[tuple[str, timedelta]], ratings=(), received=T0, **row):
    """Deadlines: take on within a day, finish within five, from receipt."""
    record = {"id": id, "created_at": received, "status": status, "closed_at": None, "station": 1, **row}
    if record["closed_at"] is not None:
        record["closed_at"] = received + record["closed_at"]
    line = rules.timeline([(kind, received + after) for kind, after in steps])
    return rules.matter_from(record, line, tuple(ratings), received + D, received + 5 * D)


def fixture() -> list[rules.Matter]:
    return [
        # A: taken on after 2 h, done after a day, rated 5.
        matter(1, "done", [("received", 0 * H), ("accepted", 2 * H), ("done", D)], [5]),
        # B: routed; the agency accepts late (30 h), answers on time (3 days); two residents rate 4 and 2.
        matter(2, "done", [("transferred", 0 * H), ("agency_accepted", 30 * H), ("answered", 3 * D)], [4, 2]),
        # C: routed, returned after 5 h, taken on by the police at 6 h, done at day 6 (late), rated 1,
        # reopened, done again at day 7: completed once, late, and reopened.
        matter(
            3,
            "done",
            [
                ("transferred", 0 * H),
                ("returned", 5 * H),
                ("accepted", 6 * H),
                ("done", 6 * D),
                ("reopened", 6 * D + H),
                ("done", 7 * D),
            ],
            [1],
        ),
        # D: received 4 hours ago: nothing due yet, in no deadline's denominator.
        matter(4, "received", [("received", 0 * H)], received=NOW - 4 * H),
        # E: routed, transferred on to another agency (not a return), never taken on: both deadlines missed.
        matter(5, "transferred", [("transferred", 0 * H), ("transferred", 2 * H)]),
        # F: closed after 3 h without another step: taken on and completed when closed.
        matter(6, "closed", [], closed_at=3 * H),
    ]


def test_counts_and_rates_by_hand():
    t = rules.tally(fixture(), NOW)
    assert (t.received, t.completed) == (6, 4)
    assert t.completion == rules.Rate(4, 6)
    assert t.response == rules.Rate(3, 5)  # A, C, F in time; B late; E missed; D not due
    assert t.on_time == rules.Rate(3, 5)  # A, B, F in time; C late (its clock ran through the return); E missed
    assert t.returned == rules.Rate(1, 3)  # of the routed B, C, E only C came back
    assert t.reopened == rules.Rate(1, 4)
    assert t.satisfaction == rules.Rate(2, 4) and t.rated == 4
    assert t.accept_hours == (3.0, 30.0)  # 2, 3, 6, 30 hours
    assert t.complete_hours == (24.0, 168.0)  # 3, 24, 72, 168 hours


def test_a_reopened_matter_not_done_again_is_not_completed():
    reopened = matter(7, "accepted", [("accepted", H), ("done", 2 * D), ("reopened", 2 * D + H)], [1])
    t = rules.tally([reopened], NOW)
    assert t.completed == 0 and t.on_time == rules.Rate(0, 1) and t.reopened == rules.Rate(0, 0)
    assert t.satisfaction == rules.Rate(0, 1)


def test_the_agency_that_had_it_last_and_grouping():
    ms = [
        matter(1, "done", [], agency=None, grid=5),
        matter(2, "done", [], agency=8, grid=5),
        matter(3, "done", [], agency=8, grid=None),
    ]
    assert {k: [m.id for m in v] for k, v in rules.by_unit(ms, "agency").items()} == {8: [2, 3]}
    assert {k: [m.id for m in v] for k, v in rules.by_unit(ms, "grid").items()} == {5: [1, 2]}


def test_empty_rates_are_none():
    t = rules.tally([], NOW)
    assert t.completion.value is None and t.satisfaction.value is None and t.accept_hours == (None, None)


def test_wilson_lower_bound():
    assert rules.wilson_lower(0, 0) is None
    assert rules.wilson_lower(8, 10) == pytest.approx(0.4902, abs=1e-4)
    assert rules.wilson_lower(2, 2) == pytest.approx(0.3424, abs=1e-4)
    assert rules.wilson_lower(0, 5) == 0.0


def on_time_unit(hits: int, total: int) -> rules.Tally:
    """A unit whose `hits` of `total` matters were done on time (the others were never done)."""
    done = [matter(i, "done", [("accepted", H), ("done", 2 * D)]) for i in range(hits)]
    missed = [matter(i, "received", []) for i in range(hits, total)]
    return rules.tally(done + missed, NOW)


def test_ranking_by_wilson_with_minimum_volume():
    tallies = {1: on_time_unit(2, 2), 2: on_time_unit(90, 100), 3: on_time_unit(19, 20), 4: on_time_unit(9, 9)}
    ranked, apart = rules.rank(tallies, "on_time_rate", minimum=10)
    # 95 % of 20 ranks below 90 % of 100: its lower bound is 0.764 against 0.826.
    assert [(r.unit, r.rank) for r in ranked] == [(2, 1), (3, 2)]
    assert [r.unit for r in apart] == [4, 1]  # 100 % from 2 or 9 matters is not ranked; by volume
    assert all(r.rank is None for r in apart)
    ranked, apart = rules.rank({5: on_time_unit(10, 10)}, "on_time_rate", minimum=10)
    assert [r.unit for r in ranked] == [5] and apart == []


def test_ranking_a_rate_where_lower_is_better():
    few = rules.tally(
        [matter(i, "done", [("transferred", H)] + ([("returned", 2 * H)] if i < 1 else [])) for i in range(20)], NOW
    )
    many = rules.tally(
        [matter(i, "done", [("transferred", H)] + ([("returned", 2 * H)] if i < 5 else [])) for i in range(20)], NOW
    )
    ranked, _apart = rules.rank({1: many, 2: few}, "return_rate", minimum=10)
    assert [r.unit for r in ranked] == [2, 1]


def test_ties_share_a_rank():
    ranked, _ = rules.rank({1: on_time_unit(10, 10), 2: on_time_unit(10, 10)}, "on_time_rate", minimum=10)
    assert [r.rank for r in ranked] == [1, 1]


def test_percentile_nearest_rank():
    assert rules.percentile([], 0.5) is None
    assert rules.percentile([5.0], 0.9) == 5.0
    assert rules.percentile([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0], 0.9) == 9.0
    assert rules.percentile([3.0, 1.0, 2.0], 0.5) == 2.0


def test_period_checks():
    today = date(2026, 12, 2)
    assert rules.check_period("", "", today) == (date(2026, 9, 3), today, {})
    assert rules.check_period("2026-01-01", "2026-01-31", today) == (date(2026, 1, 1), date(2026, 1, 31), {})
    assert rules.check_period("2026-02-01", "2026-01-31", today)[2] == {"end": "The end must not be before the start"}
    assert rules.check_period("yesterday", "", today)[2] == {"start": "A date like 2026-03-01"}


def test_weeks_and_months():
    assert rules.weeks(date(2026, 3, 4), date(2026, 3, 16)) == [date(2026, 3, 2), date(2026, 3, 9), date(2026, 3, 16)]
    assert rules.months(date(2026, 11, 15), date(2027, 1, 2)) == [
        date(2026, 11, 1),
        date(2026, 12, 1),
        date(2027, 1, 1),
    ]
