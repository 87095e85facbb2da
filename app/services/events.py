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
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

from piccolo.engine import engine_finder
from piccolo.engine.postgres import PostgresEngine

log = logging.getLogger("qianmo.events")
T = TypeVar("T")
CHANNEL = "qianmo_events"
RECONNECT_SECONDS = 2.0


class Hub:
    """The open streams of this process, by person."""

    def __init__(self) -> None:
        self._streams: dict[int, set[asyncio.Event]] = defaultdict(set)
        # Wake-ups so far, by person: a read begun at generation g saw every commit woken before it.
        self._generation: dict[int, int] = defaultdict(int)
        self._reads: dict[tuple, asyncio.Future] = {}

    def subscribe(self, person_id: int) -> asyncio.Event:
        event = asyncio.Event()
        self._streams[person_id].add(event)
        return event

    def unsubscribe(self, person_id: int, event: asyncio.Event) -> None:
        streams = self._streams.get(person_id)
        if streams is not None:
            streams.discard(event)
            if not streams:
                del self._streams[person_id]  # the generation stays: a read in flight may be shared later

    def wake(self, person_ids: Iterable[int]) -> None:
        for person_id in person_ids:
            self._generation[person_id] += 1
            for event in self._streams.get(person_id, ()):
                event.set()

    async def read(self, person_id: int, after: int, read: Callable[[int, int], Awaitable[T]]) -> T:
        """`read(person_id, after)`, shared by the streams of one person that ask for the same
        thing since the same wake-up (a person's open tabs and phones: one query, not one each).
        A read begun before the latest wake-up is never shared: it may miss that commit."""
        key = (person_id, after, self._generation[person_id])
        pending = self._reads.get(key)
        if pending is None:
            pending = asyncio.ensure_future(read(person_id, after))
            self._reads[key] = pending
            pending.add_done_callback(lambda _done: self._reads.pop(key, None))
        return await asyncio.shield(pending)

    def wake_all(self) -> None:
        self.wake(list(self._streams))

    def count(self) -> int:
        return sum(len(s) for s in self._streams.values())


HUB = Hub()


def _is_postgres() -> bool:
    return isinstance(engine_finder(), PostgresEngine)


async def announce(person_ids: Iterable[int]) -> None:
    """Called inside the write transaction that gave these people notifications: their streams
    wake once it commits, in every process, and read the new rows.

    PostgreSQL delivers a NOTIFY sent inside a transaction at its COMMIT (never on a rollback).
    SQLite (one process) has one writer at a time: an empty write transaction, begun after this
    one, runs only once this one has committed; then the streams are woken."""
    ids = sorted(set(person_ids))
    if not ids:
        return
    from app.tables import Notification

    if not _is_postgres():
        task = asyncio.get_running_loop().create_task(_wake_after_commit(ids))
        _waking.add(task)
        task.add_done_callback(_waking.discard)
        return
    # The payload limit is 8,000 bytes: ids only, in chunks.
    for i in range(0, len(ids), 500):
        await Notification.raw("SELECT pg_notify({}, {})", CHANNEL, ",".join(str(p) for p in ids[i : i + 500]))


_waking: set[asyncio.Task] = set()  # held until done (the loop keeps only weak references)


async def _wake_after_commit(ids: list[int]) -> None:
    from app.db import write_transaction
    from app.tables import Notification

    async with write_transaction(Notification._meta.db):
        pass
    HUB.wake(ids)


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
