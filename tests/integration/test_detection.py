"""The detection rules run in SQL (window functions) must agree with the plain-Python rules of
domain/calls.py, which the unit tests pin down on their thresholds and window edges."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.domain import calls as rules
from app.services import audit, detection, orders
from app.tables import (
    Call,
    CallImport,
    DetectionSetting,
    WorkOrder,
    WorkOrderCall,
    WorkOrderStep,
)
from tests.conftest import run

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def reference(rows: list[dict], rule: str):
    calls = [
        rules.Call(
            r["id"],
            r["received_at"],
            r["caller_key"],
            rules.place_key(r["place"], r["address_key"]),
            r["station"],
            r["category"],
        )
        for r in rows
    ]

    def setting_for(_station, _category, name):
        return rules.DEFAULT_SETTINGS[name]

    if rule == "category_surge":
        return {f.key: set(f.call_ids) for f in rules.detect_surges(calls, max(c.at for c in calls), setting_for)}
    return {f.key: set(f.call_ids) for f in rules.detect_repeats(calls, rule, setting_for)}


def insert_random(seed: int, n: int) -> list[dict]:
    rng = random.Random(seed)
    values = []
    for i in range(n):
        # Whole minutes around the 30-day edge make "exactly 30 days" common.
        at = T0 + timedelta(
            days=rng.choice([0, 1, 15, 29, 30, 31, 45, 60]) + rng.randrange(90), minutes=rng.choice([0, 0, 0, 1])
        )
        phone = rng.choice(["13800000001", "13800000002", "13800000003", None])
        place = rng.choice([None, None])
        values.append(
            Call(
                call_id=f"R{seed}-{i}",
                received_at=at,
                caller_phone=phone or "",
                caller_key=phone,
                address="x",
                address_key=rng.choice(["addr-a", "addr-b", "addr-c"]),
                category=rng.choice(["纠纷", "盗窃"]),
                station=None,
                place=place,
            )
        )
    run(Call.insert(*values))
    return run(Call.select())


@pytest.mark.parametrize("rule", ["repeat_caller", "repeat_place"])
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), n=st.integers(3, 40))
def test_sql_detection_agrees_with_the_reference_rules(db, rule, seed, n):
    run(Call.delete(force=True))
    rows = insert_random(seed, n)
    flags, _grids = run(detection.repeats(rule, None, None, T0 - timedelta(days=1)))
    assert {f.key: set(f.call_ids) for f in flags} == reference(rows, rule)


def test_surges_agree_with_the_reference_rule(db):
    rng = random.Random(3)
    values = [
        Call(
            call_id=f"S{i}",
            received_at=T0 + timedelta(days=35) - timedelta(hours=rng.randrange(35 * 24)),
            caller_key=None,
            address="x",
            address_key="x",
            category=rng.choice(["盗窃", "纠纷", "求助"]),
        )
        for i in range(60)
    ]
    values += [
        Call(
            call_id=f"B{i}",
            received_at=T0 + timedelta(days=35) - timedelta(hours=i),
            caller_key=None,
            address="x",
            address_key="x",
            category="诈骗",
        )
        for i in range(6)
    ]
    run(Call.insert(*values))
    rows = run(Call.select())
    flags, _grids = run(detection.surges(None, max(r["received_at"] for r in rows)))
    assert {f.key: set(f.call_ids) for f in flags} == reference(rows, "category_surge")
    assert "0:诈骗" in {f.key for f in flags}


def test_detection_looks_back_from_the_newest_call_only(db):
    old = [
        Call(
            call_id=f"O{i}",
            received_at=T0 + timedelta(days=i),
            caller_key="13900000001",
            address="x",
            address_key="x",
            category="c",
        )
        for i in range(3)
    ]
    run(Call.insert(*old))
    assert run(detection.repeats("repeat_caller", None, None, T0 - timedelta(days=1)))[0]
    assert run(detection.repeats("repeat_caller", None, None, T0 + timedelta(days=1)))[0] == []


def test_a_stations_own_threshold_is_used_in_sql(db, demo):
    from app.tables import Station

    station = run(Station.select(Station.id).first())["id"]
    run(
        Call.insert(
            *[
                Call(
                    call_id=f"T{i}",
                    received_at=T0 + timedelta(days=i),
                    caller_key="13900000009",
                    address="x",
                    address_key="x",
                    category="c",
                    station=station,
                )
                for i in range(3)
            ]
        )
    )
    assert [f.key for f in run(detection.repeats("repeat_caller", None, None, T0 - timedelta(days=1)))[0]] == [
        "13900000009"
    ]
    run(DetectionSetting.insert(DetectionSetting(station=station, rule="repeat_caller", threshold=4, window_days=30)))
    assert run(detection.repeats("repeat_caller", None, None, T0 - timedelta(days=1)))[0] == []


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), n=st.integers(1, 40))
def test_sql_repeat_counts_agree_with_the_reference(db, seed, n):
    from datetime import date

    from app.services import calls

    run(Call.delete(force=True))
    rows = insert_random(seed, n)
    run(calls.refresh_repeats())
    start, end = date(2026, 2, 1), date(2026, 3, 31)
    low, high = rules.period_bounds(start, end, "Asia/Shanghai")
    times: dict[str, list] = {}
    for r in sorted(rows, key=lambda r: (r["received_at"], r["id"])):
        if r["caller_key"]:
            times.setdefault(r["caller_key"], []).append(r["received_at"])
    expected_total = sum(1 for r in rows if low <= r["received_at"] < high)
    result = run(calls.metrics(None, start, end, "Asia/Shanghai"))
    assert (result["total_calls"], result["repeat_calls"]) == (
        expected_total,
        rules.count_repeat_calls(times, low, high),
    )


# --- incremental detection: only the windows holding an import's calls --------------------


def base_and_import(seed: int, n: int, m: int, late: bool) -> tuple[list[Call], list[Call], int]:
    """n calls, and an import of m more: on the day after them, or (late) anywhere among them."""
    rng = random.Random(seed)
    batch = run(CallImport.insert(CallImport(source="api")).returning(CallImport.id))[0]["id"]

    def call(i: int, day: float, import_id: int | None) -> Call:
        phone = rng.choice(["13800000001", "13800000002", "13800000003", None])
        return Call(
            call_id=f"I{seed}-{i}",
            received_at=T0 + timedelta(days=day, minutes=rng.choice([0, 0, 1])),
            caller_phone=phone or "",
            caller_key=phone,
            address="x",
            batch=import_id,
            address_key=rng.choice(["addr-a", "addr-b", "addr-c", "addr-d"]),
            category="纠纷",
        )

    base = [call(i, rng.choice([0, 15, 30, 45]) + rng.randrange(60), None) for i in range(n)]
    days = [rng.randrange(105) if late else 105 + rng.random() for _ in range(m)]
    return base, [call(n + i, day, batch) for i, day in enumerate(days)], batch


def union(a: dict[str, set[int]], b: dict[str, set[int]]) -> dict[str, set[int]]:
    return {k: a.get(k, set()) | b.get(k, set()) for k in a.keys() | b.keys()}


@pytest.mark.parametrize("rule", ["repeat_caller", "repeat_place"])
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), n=st.integers(0, 40), m=st.integers(1, 12), late=st.booleans())
def test_an_imports_run_finds_what_a_full_run_adds_for_its_calls(db, rule, seed, n, m, late):
    """What a full run found before the import, together with the import's own run, is exactly
    what a full run finds after it: the import's run misses nothing and invents nothing."""
    run(Call.delete(force=True))
    base, imported, batch = base_and_import(seed, n, m, late)
    run(Call.insert(*base, *imported))
    rows = run(Call.select())
    before = reference([r for r in rows if r["batch"] is None], rule) if n else {}
    flags, _grids = run(detection.repeats(rule, None, batch, T0 - timedelta(days=1)))
    found = {f.key: set(f.call_ids) for f in flags}
    assert union(before, found) == reference(rows, rule)
    new_ids = {r["id"] for r in rows if r["batch"] == batch}
    assert all(ids & new_ids for ids in found.values())  # only windows holding an imported call


def order_links() -> set[tuple[str, str, int]]:
    links = run(
        WorkOrderCall.select(
            WorkOrderCall.call, WorkOrderCall.order.rule.as_alias("rule"), WorkOrderCall.order.rule_key.as_alias("key")
        )
    )
    return {(r["rule"], r["key"], r["call"]) for r in links if r["rule"] != "category_surge"}


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), late=st.booleans())
def test_orders_after_an_imports_run_hold_the_calls_a_full_run_would(db, seed, late):
    for table in (WorkOrderStep, WorkOrderCall, WorkOrder, Call, CallImport):
        run(table.delete(force=True))
    years = timedelta(days=3650)  # every call inside the horizon, whichever run looks back
    everything = years.days  # and every pattern recent (the backfill rule is tested on its own)
    base, imported, batch = base_and_import(seed, 40, 12, late)
    run(Call.insert(*base))
    run(orders.detect(audit.SYSTEM, horizon=years, recent_days=everything))
    first = order_links()
    run(Call.insert(*imported))
    run(orders.detect(audit.SYSTEM, batch=batch, horizon=years, recent_days=everything))
    after_import = order_links()
    for table in (WorkOrderStep, WorkOrderCall, WorkOrder):
        run(table.delete(force=True))
    run(orders.detect(audit.SYSTEM, horizon=years, recent_days=everything))
    # Except: an open order takes no call from before its newest call of then less the window
    # (a call imported late, or one it makes dense, belongs to history).
    at = {r["id"]: r["received_at"] for r in run(Call.select(Call.id, Call.received_at))}
    start = {}
    for rule, key, call in first:
        start[(rule, key)] = max(start.get((rule, key), at[call]), at[call])
    too_old = {
        (rule, key, call)
        for rule, key, call in order_links()
        if (rule, key, call) not in first
        and (rule, key) in start
        and at[call] < start[(rule, key)] - timedelta(days=30)
    }
    assert after_import == order_links() - too_old != set()
