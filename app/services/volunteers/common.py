"""What the parts of the volunteers service share: the outcome of an action, whose grids a
person manages or patrols, row locks, the clock."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from piccolo.engine.postgres import PostgresEngine

from app.domain import volunteers as rules
from app.domain.access import Principal
from app.services import audit, auth, scope
from app.tables import (
    Grid,
    PatrolShift,
    ShiftSignup,
)

log = logging.getLogger("qianmo.volunteers")
STAFF = ("officer", "supervisor")
PUBLIC = audit.Actor(id=None, role="public")
ACTIVE = ("confirmed", "waiting")


@dataclass
class Outcome:
    """What an action did: ok, or a refusal (a message id with values) or form errors."""

    ok: bool = False
    refusal: rules.Refusal | None = None
    errors: dict[str, str] = field(default_factory=dict)
    status: str = ""  # sign-up: confirmed | waiting
    id: int | None = None
    link: str = ""  # approval: the invitation link


def refused(message: str, **params) -> Outcome:
    return Outcome(refusal=rules.Refusal(message, params))


def _is_postgres() -> bool:
    return isinstance(PatrolShift._meta.db, PostgresEngine)


async def _lock(table, row_id: int) -> None:
    """PostgreSQL: hold the row until the transaction ends. SQLite's BEGIN IMMEDIATE already
    lets only one writer in at a time."""
    if _is_postgres():
        await table.select(table.id).where(table.id == row_id).lock_rows()


def is_staff(principal: Principal) -> bool:
    return principal.has(*STAFF)


async def staff_grids(principal: Principal) -> set[int]:
    """Grids whose volunteers, shifts and applications the officer or supervisor manages."""
    if not is_staff(principal):
        return set()
    grids = await scope.grid_ids(principal)
    return await _all_grids() if grids is scope.ALL else set(grids)


async def _all_grids() -> set[int]:
    return {r["id"] for r in await Grid.select(Grid.id)}


async def _grid_names() -> dict[int, str]:
    return {r["id"]: r["name"] for r in await Grid.select(Grid.id, Grid.name)}


def volunteer_grids(principal: Principal) -> set[int]:
    return set(principal.grid_ids) if principal.has("volunteer") else set()


def zone(tz: str) -> ZoneInfo:
    return ZoneInfo(tz)


async def _confirmed_count(shift_id: int) -> int:
    return await ShiftSignup.count().where((ShiftSignup.shift == shift_id) & (ShiftSignup.status == "confirmed"))


def _visible_to_volunteer(row: dict, grids: set[int]) -> bool:
    return bool(set(rules.ids_list(row["grids"])) & grids)


def now() -> datetime:
    """The moment the volunteer rules compare with: one place for every part (and for tests)."""
    return auth.now()
