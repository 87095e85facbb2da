"""Grid alerts' escalation chain and timing on a frozen clock (app/domain/alerts.py)."""

from datetime import datetime, timedelta, timezone

from app.domain import alerts as rules

T0 = datetime(2026, 12, 2, 3, 0, tzinfo=timezone.utc)


def test_chain_goes_officer_then_office_then_supervisors_and_nobody_twice():
    chain = rules.chain(7, [7, 8, 9, 8], [20, 9])
    assert chain.levels == ((7,), (8, 9), (20,))
    assert chain.at(0) == (7,) and chain.at(2) == (20,) and chain.at(3) == ()


def test_empty_steps_are_skipped():
    assert rules.chain(None, [], [20]).levels == ((20,),)
    assert rules.chain(7, [7], [20]).levels == ((7,), (20,))
    assert rules.chain(None, [], []).levels == ()


def test_urgent_escalates_after_the_minutes_and_stops_at_the_end():
    chain = rules.chain(7, [8], [20])
    assert rules.next_escalation("urgent", chain, 0, T0, 5) == T0 + timedelta(minutes=5)
    assert rules.next_escalation("urgent", chain, 1, T0 + timedelta(minutes=5), 5) == T0 + timedelta(minutes=10)
    assert rules.next_escalation("urgent", chain, 2, T0, 5) is None


def test_only_urgent_alerts_escalate():
    chain = rules.chain(7, [8], [20])
    assert rules.next_escalation("soon", chain, 0, T0, 5) is None
    assert rules.next_escalation("info", chain, 0, T0, 5) is None


def test_due_exactly_at_the_minute_not_before():
    due = T0 + timedelta(minutes=5)
    assert not rules.is_due(due, due - timedelta(seconds=1))
    assert rules.is_due(due, due)
    assert not rules.is_due(None, due)


def test_station_setting_and_its_check():
    assert rules.escalate_minutes(None) == 5
    assert rules.escalate_minutes(12) == 12
    assert rules.check_minutes("10") == (10, None)
    for bad in ("0", "241", "", "x", "-3", "1.5"):
        assert rules.check_minutes(bad)[0] is None


def test_the_sender_is_never_in_the_chain():
    assert rules.chain(7, [7, 8], [20], sender=7).levels == ((8,), (20,))
    assert rules.chain(7, [8], [20], sender=20).levels == ((7,), (8,))
