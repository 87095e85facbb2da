"""The demo's grid alerts: two months of believable history (closed with an outcome, one
acknowledged, one waiting for information), so the alerts list, My day and the map's alerts
layer have something true to show on first start. Never urgent and open: that would escalate."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta, timezone

from app.db import write_transaction
from app.tables import AlertRecipient, AlertStep, GridAlert, Person, PersonRole, Place

# (text, urgency, outcome) — what a grid worker writes in the grid group.
HAPPENINGS = [
    ("两户邻居因楼道堆物争吵，快要动手了", "urgent", "民警到场调解，双方同意清理楼道，已握手言和"),
    ("小区门口有人推销“保健品”，围了不少老人", "soon", "到场劝离，给老人讲了防骗知识"),
    ("3号楼电动车在楼道充电，冒烟了", "urgent", "物业断电，消防通道已清理，车主已教育"),
    ("菜市场两摊主为摊位吵架", "soon", "社区民警会同城管调解，划定摊位界线"),
    ("有陌生人挨家敲门问是否要办贷款", "soon", "核查为推销人员，已劝离并提醒居民"),
    ("一位老人走失，家属在小区里找", "urgent", "半小时后在公园找到，已送回家"),
    ("楼上漏水淹了楼下，两家吵起来了", "soon", "调解达成协议，楼上负责维修"),
    ("小区车库有人撬车门", "urgent", "民警到场，嫌疑人已离开，调取监控移交办案队"),
]


async def load(days: int = 60, seed: int = 14) -> bool:
    """Once: only while there are no alerts."""
    if await GridAlert.exists():
        return False
    worker = await PersonRole.select(PersonRole.person, PersonRole.grid).where(PersonRole.role == "grid_worker").first()
    officer = await PersonRole.select(PersonRole.person).where(PersonRole.role == "officer").first()
    if not worker or not officer or worker["grid"] is None:
        return False
    places = await Place.select(Place.id, Place.name, Place.grid, Place.grid.office.station.as_alias("station")).where(
        Place.grid == worker["grid"]
    )
    if not places:
        return False
    names = {p["id"]: p["name"] for p in await Person.select(Person.id, Person.name)}
    rng, now = random.Random(seed), datetime.now(timezone.utc)
    async with write_transaction(GridAlert._meta.db):
        for i in range(14):
            text, urgency, outcome = HAPPENINGS[i % len(HAPPENINGS)]
            at = now - timedelta(days=rng.uniform(1, days), hours=rng.uniform(0, 12))
            await _alert(rng.choice(places), worker["person"], officer["person"], names, text, urgency, outcome, at)
        await _alert(
            places[0],
            worker["person"],
            officer["person"],
            names,
            "小区东门路灯不亮，晚上有人摔倒",
            "info",
            "",
            now - timedelta(hours=3),
        )
    return True


async def _alert(place, sender, officer, names, text, urgency, outcome, at) -> None:
    acked, closed = at + timedelta(minutes=3), at + timedelta(hours=2)
    state = "closed" if outcome else "open"
    row = GridAlert(
        client_uuid=str(uuid.uuid4()),
        grid=place["grid"],
        station=place["station"],
        place=place["id"],
        person=sender,
        text=text,
        urgency=urgency,
        state=state,
        created_at=at,
        acknowledged_at=acked if outcome else None,
        acknowledged_by=officer if outcome else None,
        ack_kind="on_my_way" if outcome else "",
        closed_at=closed if outcome else None,
        closed_by=officer if outcome else None,
        outcome=outcome,
    )
    await row.save()
    await AlertRecipient.insert(AlertRecipient(alert=row.id, person=officer, level=0))
    steps = [AlertStep(alert=row.id, kind="posted", person=sender, created_at=at)]
    steps.append(AlertStep(alert=row.id, kind="sent", note=names.get(officer, ""), created_at=at))
    if outcome:
        steps.append(AlertStep(alert=row.id, kind="acknowledged", person=officer, note="on_my_way", created_at=acked))
        steps.append(AlertStep(alert=row.id, kind="closed", person=officer, note=outcome, created_at=closed))
    await AlertStep.insert(*steps)
