"""Synthetic 110 calls with a realistic shape: most callers call once, a few call again and
again, a few places generate many incidents. Used by the demo district (a few hundred calls)
and by the benchmark (a million)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

from app.domain.calls import normalise_address, normalise_phone

CATEGORIES = [
    ("纠纷", 30),
    ("噪音扰民", 12),
    ("盗窃", 14),
    ("求助", 16),
    ("交通事故", 10),
    ("诈骗", 8),
    ("可疑情况", 6),
    ("家庭纠纷", 4),
]
STREETS = ["泰和路", "发展大道", "黄河南路", "古城路", "虞姬路", "和平路", "解放路", "建国路"]


def generate(
    n: int,
    end: datetime,
    days: int,
    places: list[tuple[int, int, str]],
    station: int | None,
    seed: int = 7,
    prefix: str = "D",
) -> Iterator[dict]:
    """n calls spread over `days` days before `end`, as Call column values.
    `places`: (place id, grid id, name) that calls may happen at."""
    rng = random.Random(seed)
    residents = max(n // 4, 10)
    repeaters = [f"139{rng.randrange(10**8):08d}" for _ in range(max(residents // 200, 3))]
    hot_places = places[: max(len(places) // 8, 1)]
    categories, weights = zip(*CATEGORIES)
    for i in range(n):
        at = end - timedelta(seconds=rng.randrange(days * 86400))
        roll = rng.random()
        if roll < 0.12:
            phone = rng.choice(repeaters)  # the few who call again and again
        elif roll < 0.2:
            phone = ""  # withheld
        else:
            phone = f"13{rng.randrange(10**9):09d}"
        if places and rng.random() < 0.75:
            place_id: int | None
            grid_id: int | None
            place_id, grid_id, name = rng.choice(hot_places) if rng.random() < 0.3 else rng.choice(places)
            address = f"{name}{rng.randrange(1, 20)}号楼"
        else:
            place_id = grid_id = None
            address = f"{rng.choice(STREETS)}{rng.randrange(1, 300)}号"
        yield {
            "call_id": f"{prefix}{i:07d}",
            "received_at": at,
            "caller_phone": phone,
            "caller_key": normalise_phone(phone),
            "address": address,
            "address_key": normalise_address(address),
            "category": rng.choices(categories, weights)[0],
            "summary": "",
            "disposition": "",
            "station": station,
            "place": place_id,
            "grid": grid_id,
            "lat": None,
            "lon": None,
        }


def now() -> datetime:
    return datetime.now(timezone.utc)


async def load(count: int = 160, days: int = 90) -> bool:
    """The demo district's calls (once), then detection, so that orders and charts have content."""
    from app.db import write_transaction
    from app.services import audit, calls, orders
    from app.tables import Call, Place, Station

    if await Call.exists():
        return False
    places = [(p["id"], p["grid"], p["name"]) for p in await Place.select(Place.id, Place.grid, Place.name)]
    station = await Station.select(Station.id).first()
    async with write_transaction(Call._meta.db):
        await Call.insert(
            *[Call(**values) for values in generate(count, now(), days, places, station["id"] if station else None)]
        )
        await calls.refresh_repeats()
        await _routed(places[0] if places else None, station["id"] if station else None)
    await orders.detect(audit.SYSTEM)
    return True


# Calls the demo's rules route to 城管: (category, what the caller said, hours ago, state).
ROUTED = [
    ("占道经营", "菜市场门口摆摊，占了半条路", 3, "new"),
    ("路灯损坏", "小区东门的路灯坏了一个星期", 30, "accepted"),
    ("占道经营", "早点摊占用人行道，老人只能走机动车道", 80, "new"),
]


async def _routed(place: tuple[int, int, str] | None, station: int | None) -> None:
    """A few calls at the agency, one new, one accepted, one overdue, so its desk has work."""
    from app.services import routing
    from app.tables import Call, Grid

    if place is None or station is None:
        return
    office = (await Grid.select(Grid.office).where(Grid.id == place[1]).first())["office"]
    for i, (category, summary, hours, state) in enumerate(ROUTED):
        rule = await routing.rule_for("call", category, station, office, place[1])
        if rule is None:
            continue
        at = now() - timedelta(hours=hours)
        accept_due, finish_due = await routing.deadlines(rule, at)
        address = f"{place[2]}门口"
        await Call.insert(
            Call(
                call_id=f"DR{i:03d}",
                received_at=at,
                address=address,
                address_key=normalise_address(address),
                category=category,
                summary=summary,
                station=station,
                place=place[0],
                grid=place[1],
                non_police=True,
                responsible_agency=rule["agency"],
                routing_rule=rule["id"],
                agency_state=state,
                routed_at=at,
                accept_due=accept_due,
                finish_due=finish_due,
                agency_accepted_at=at + timedelta(hours=1) if state == "accepted" else None,
            )
        )
