"""Audit rows, written inside the caller's transaction so a write and its trace land together."""
from __future__ import annotations

from dataclasses import dataclass

from app.middleware import current_request
from app.tables import AuditEvent


@dataclass(frozen=True)
class Actor:
    """Who acts: a signed-in person, or the system (CLI, demo loader) when id is None."""

    id: int | None = None
    role: str = "system"


SYSTEM = Actor()


async def record(actor: Actor, action: str, object_type: str, object_id: object, changes: dict | None = None) -> None:
    meta = current_request.get()
    await AuditEvent.insert(
        AuditEvent(
            actor_id=actor.id,
            actor_role=actor.role,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            changes=changes or {},
            ip=meta.ip,
            request_id=meta.request_id,
        )
    )
