"""Audit rows, written inside the caller's transaction so a write and its trace land together."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from app.db import insert_row
from app.domain import csv_export
from app.request_context import current_request
from app.services import paging
from app.tables import AuditEvent, Person


@dataclass(frozen=True)
class Actor:
    """Who acts: a signed-in person, or the system (CLI, demo loader) when id is None."""

    id: int | None = None
    role: str = "system"


SYSTEM = Actor()
# The operator at the server's command line (`qianmo admin-link`): trusted like an administrator.
OPERATOR = Actor(role="operator")


def actor_of(principal) -> Actor:
    """The audit actor for a signed-in principal (app.domain.access.Principal)."""
    return Actor(id=principal.id, role=principal.role_label)


async def record(actor: Actor, action: str, object_type: str, object_id: object, changes: dict | None = None) -> None:
    meta = current_request.get()
    await insert_row(
        AuditEvent,
        actor_id=actor.id,
        actor_role=actor.role,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        changes=changes or {},
        ip=meta.ip,
        request_id=meta.request_id,
    )


async def record_many(actor: Actor, action: str, object_type: str, items: list[tuple[object, dict]]) -> None:
    """One row per (object id, changes), in one statement: for writes of many objects at once."""
    if not items:
        return
    meta = current_request.get()
    await AuditEvent.insert(
        *[
            AuditEvent(
                actor_id=actor.id,
                actor_role=actor.role,
                action=action,
                object_type=object_type,
                object_id=str(object_id),
                changes=changes,
                ip=meta.ip,
                request_id=meta.request_id,
            )
            for object_id, changes in items
        ]
    )


@dataclass(frozen=True)
class AuditFilter:
    person: int | None = None
    object_type: str = ""
    action: str = ""
    since: date | None = None
    until: date | None = None  # inclusive

    def apply(self, query):
        if self.person is not None:
            query = query.where(AuditEvent.actor_id == self.person)
        if self.object_type:
            query = query.where(AuditEvent.object_type == self.object_type)
        if self.action:
            query = query.where(AuditEvent.action == self.action)
        if self.since:
            query = query.where(AuditEvent.at >= datetime.combine(self.since, time.min, timezone.utc))
        if self.until:
            query = query.where(
                AuditEvent.at < datetime.combine(self.until + timedelta(days=1), time.min, timezone.utc)
            )
        return query


def _changes(row: dict) -> dict:
    value = row["changes"]
    return json.loads(value) if isinstance(value, str) else (value or {})


BY_ID = paging.newest_first(AuditEvent.id)  # ids follow the time of writing


async def search(criteria: AuditFilter, older: int | None = None) -> paging.Page:
    """One page of events, newest first (before the event `older`), with their changes decoded."""
    # Administrators alone read the log, all of it.
    found = await paging.page(
        BY_ID, lambda: paging.everything(criteria.apply(AuditEvent.select())), paging.everything, older
    )
    names = await _names({r["actor_id"] for r in found.rows if r["actor_id"]})
    for row in found.rows:
        row["changes"] = _changes(row)
        row["actor_name"] = names.get(row["actor_id"], "")
    return found


async def _names(person_ids: set[int]) -> dict[int, str]:
    if not person_ids:
        return {}
    rows = await Person.select(Person.id, Person.name).where(Person.id.is_in(list(person_ids)))
    return {r["id"]: r["name"] for r in rows}


EXPORT_COLUMNS = [
    "id",
    "at",
    "actor_id",
    "actor_role",
    "action",
    "object_type",
    "object_id",
    "changes",
    "ip",
    "request_id",
]


async def export_csv(criteria: AuditFilter, actor: Actor) -> str:
    """The filtered log as CSV (UTF-8 with BOM for Excel); the export itself is recorded."""
    rows = await criteria.apply(AuditEvent.select().order_by(AuditEvent.id))
    text = csv_export.render(
        EXPORT_COLUMNS,
        (
            [
                r["id"],
                r["at"].isoformat(),
                r["actor_id"] or "",
                r["actor_role"],
                r["action"],
                r["object_type"],
                r["object_id"],
                json.dumps(_changes(r), ensure_ascii=False, default=str),
                r["ip"],
                r["request_id"],
            ]
            for r in rows
        ),
    )
    await record(actor, "export", "audit_event", "", {"rows": [None, len(rows)]})
    return text


async def choices() -> dict[str, list[str]]:
    """Distinct actions and object types, for the filter's selects."""
    actions = await AuditEvent.select(AuditEvent.action).distinct().order_by(AuditEvent.action)
    types = await AuditEvent.select(AuditEvent.object_type).distinct().order_by(AuditEvent.object_type)
    return {"actions": [r["action"] for r in actions], "object_types": [r["object_type"] for r in types]}
