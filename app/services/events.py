"""Live delivery: wakes the Server-Sent Event streams of the people who have something new.

A stream never takes its events from here: woken, it reads the person's notifications after
the last id it sent from the database (so a reconnect with Last-Event-ID and a live event are
the same read, and nothing is lost or sent twice). What travels is only "person N has news".

One process (SQLite): the wake is an asyncio.Event per open stream. Several processes
(PostgreSQL): `NOTIFY qianmo_events, '<person ids>'`, and each process LISTENs on its own
asyncpg connection and wakes its own streams (its own posts come back the same way)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections import defaultdict
from collections.abc import Iterable

from piccolo.engine import engine_finder
from piccolo.engine.postgres import PostgresEngine

log = logging.getLogger("qianmo.events")
CHANNEL = "qianmo_events"
RECONNECT_SECONDS = 2.0


class Hub:
    """The open streams of this process, by person."""

    def __init__(self) -> None:
        self._streams: dict[int, set[asyncio.Event]] = defaultdict(set)

    def subscribe(self, person_id: int) -> asyncio.Event:
        event = asyncio.Event()
        self._streams[person_id].add(event)
        return event

    def unsubscribe(self, person_id: int, event: asyncio.Event) -> None:
        streams = self._streams.get(person_id)
        if streams is not None:
            streams.discard(event)
            if not streams:
                del self._streams[person_id]

    def wake(self, person_ids: Iterable[int]) -> None:
        for person_id in person_ids:
            for event in self._streams.get(person_id, ()):
                event.set()

    def wake_all(self) -> None:
        self.wake(list(self._streams))

    def count(self) -> int:
        return sum(len(s) for s in self._streams.values())


HUB = Hub()


def _is_postgres() -> bool:
    return isinstance(engine_finder(), PostgresEngine)


async def announce(person_ids: Iterable[int]) -> None:
    """After a commit that gave these people notifications: wake their streams everywhere."""
    ids = sorted(set(person_ids))
    if not ids:
        return
    if not _is_postgres():
        HUB.wake(ids)
        return
    from app.tables import Notification

    # The payload limit is 8,000 bytes: ids only, in chunks.
    for i in range(0, len(ids), 500):
        await Notification.raw("SELECT pg_notify({}, {})", CHANNEL, ",".join(str(p) for p in ids[i : i + 500]))


def _on_notify(_connection, _pid, _channel, payload: str) -> None:
    HUB.wake(int(p) for p in payload.split(",") if p.isdecimal())


def _lost(flag: asyncio.Event, _connection) -> None:
    flag.set()


async def listen(database_url: str) -> None:
    """This process's LISTEN connection, kept open until cancelled; after a lost connection it
    reconnects and wakes every stream (each reads what it may have missed from the table)."""
    import asyncpg

    while True:
        connection = None
        try:
            connection = await asyncpg.connect(database_url)
            lost = asyncio.Event()
            connection.add_termination_listener(functools.partial(_lost, lost))
            await connection.add_listener(CHANNEL, _on_notify)
            HUB.wake_all()
            await lost.wait()
            log.warning("LISTEN connection lost; reconnecting")
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - the database may be down: try again shortly
            log.warning("LISTEN connection failed; retrying", exc_info=True)
        finally:
            if connection is not None and not connection.is_closed():
                with contextlib.suppress(Exception):
                    await connection.close()
        await asyncio.sleep(RECONNECT_SECONDS)
