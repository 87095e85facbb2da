"""Notifications: the one place that creates them (every area calls `add` inside its own
write transaction, or `send` after it), lists them, counts the unread and marks
them read. Live delivery is services/events.py's."""

from __future__ import annotations

from dataclasses import dataclass

from app.db import write_transaction
from app.domain import alerts as rules
from app.domain.access import Principal
from app.services import auth, events, push
from app.tables import Notification

REPLAY_LIMIT = 200  # the most a reconnecting stream replays at once (the rest follows next round)


@dataclass(frozen=True)
class New:
    person: int
    kind: str
    text: str = ""
    url: str = ""
    urgent: bool = False


async def add(items: list[New]) -> list[int]:
    """Insert inside the caller's write transaction; the people's open pages hear of it once
    that commits (services/events.announce), and their phones (services/push.after_commit)."""
    items = [i for i in items if i.person]
    if not items:
        return []
    rows = await Notification.insert(
        *[
            Notification(
                person=i.person,
                kind=i.kind,
                text=rules.notification_text(i.text),
                url=i.url[:200],
                urgent=1 if i.urgent else 0,
            )
            for i in items
        ]
    ).returning(Notification.id)
    await events.announce(i.person for i in items)
    ids = [r["id"] for r in rows]
    await push.after_commit(ids)
    return ids


async def send(items: list[New]) -> None:
    """`add` in a transaction of its own (after the caller's write)."""
    if not any(i.person for i in items):
        return
    async with write_transaction(Notification._meta.db):
        await add(items)


async def agency_staff(agency_id: int | None) -> list[int]:
    """The people who work an agency's queue (a matter sent there is news for each of them)."""
    from app.tables import PersonRole

    if agency_id is None:
        return []
    rows = await PersonRole.select(PersonRole.person).where(
        (PersonRole.role == "agency_staff") & (PersonRole.agency == agency_id) & PersonRole.person.active.eq(True)
    )
    return sorted({r["person"] for r in rows})


async def since(person_id: int, after: int, limit: int = REPLAY_LIMIT) -> list[dict]:
    """The person's notifications after id `after`, oldest first: what a stream sends next."""
    return (
        await Notification.select()
        .where((Notification.person == person_id) & (Notification.id > after))
        .order_by(Notification.id)
        .limit(limit)
    )


async def news(person_id: int, after: int) -> tuple[list[dict], int]:
    """What a stream sends next, and the person's unread count."""
    rows = await since(person_id, after)
    return rows, (await unread_count(person_id) if rows else 0)


async def newest_id(person_id: int) -> int:
    row = (
        await Notification.select(Notification.id)
        .where(Notification.person == person_id)
        .order_by(Notification.id, ascending=False)
        .first()
    )
    return row["id"] if row else 0


async def unread_count(person_id: int) -> int:
    return await Notification.count().where((Notification.person == person_id) & Notification.read_at.is_null())


async def listing(principal: Principal, limit: int = 100) -> list[dict]:
    return (
        await Notification.select()
        .where(Notification.person == principal.id)
        .order_by(Notification.id, ascending=False)
        .limit(limit)
    )


async def mark_read(principal: Principal, notification_id: int | None = None) -> None:
    """One of the person's notifications, or all of them."""
    where = (Notification.person == principal.id) & Notification.read_at.is_null()
    if notification_id is not None:
        where &= Notification.id == notification_id
    async with write_transaction(Notification._meta.db):
        await Notification.update({Notification.read_at: auth.now()}).where(where)


async def opened(principal: Principal, notification_id: int) -> str | None:
    """Mark one read and say where it leads (None: not the person's)."""
    row = (
        await Notification.select(Notification.url)
        .where((Notification.id == notification_id) & (Notification.person == principal.id))
        .first()
    )
    if row is None:
        return None
    await mark_read(principal, notification_id)
    return row["url"] or "/notifications"
