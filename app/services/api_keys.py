"""API keys for other systems: issued by an admin (pages or `qianmo api-key create`), shown
once, stored as a hash, revocable. A key acts with one role, scoped to a station where the
role is scoped (see domain.roles.API_ROLES)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from app.db import write_transaction
from app.domain.access import Principal
from app.domain.roles import API_ROLES, SCOPED_API_ROLES
from app.i18n import N_, too_long
from app.services import audit
from app.services.auth import now, token_hash
from app.tables import ApiKey, Station

PREFIX = "qm_"
TOUCH_EVERY = timedelta(minutes=5)


@dataclass(frozen=True)
class ApiClient:
    key_id: int
    name: str
    role: str
    station_id: int | None

    @property
    def actor(self) -> audit.Actor:
        return audit.Actor(id=None, role=f"api_key:{self.key_id}")

    def principal(self) -> Principal:
        """The key as a principal, so that services scope its reads like a person's.
        The id is negative: it never matches a person."""
        stations = frozenset({self.station_id}) if self.station_id else frozenset()
        return Principal(id=-self.key_id, name=self.name, roles=frozenset({self.role}), station_ids=stations)


async def station_by_code(code: str) -> int | None:
    row = await Station.select(Station.id).where(Station.code == code.strip()).first()
    return row["id"] if row else None


async def form_errors(name: str, role: str, station_id: int | None) -> dict[str, str]:
    errors = {}
    if station_id is not None and station_id not in {i for i, _n in await station_choices()}:
        errors["station"] = N_("Choose from the list")
    if not name.strip():
        errors["name"] = N_("Required")
    elif len(name.strip()) > 100:
        errors["name"] = too_long(100)
    if role not in API_ROLES:
        errors["role"] = N_("Choose one")
    elif role in SCOPED_API_ROLES and station_id is None:
        errors["station"] = N_("Choose the station this key may read and write")
    return errors


async def create(name: str, role: str, station_id: int | None, actor: audit.Actor) -> tuple[int, str]:
    """(id, the key): the key is returned this once and never again."""
    key = PREFIX + secrets.token_urlsafe(32)
    async with write_transaction(ApiKey._meta.db):
        rows = await ApiKey.insert(
            ApiKey(
                name=name.strip(),
                role=role,
                station=station_id,
                key_hash=token_hash(key),
                prefix=key[:10],
                created_by=actor.id,
            )
        ).returning(ApiKey.id)
        key_id = rows[0]["id"]
        await audit.record(
            actor,
            "create",
            "api_key",
            key_id,
            {"name": [None, name.strip()], "role": [None, role], "station": [None, station_id]},
        )
    return key_id, key


async def authenticate(key: str) -> ApiClient | None:
    """The client a key belongs to, or None (unknown, revoked, or not ours at all)."""
    if not key or not key.startswith(PREFIX) or len(key) > 100:
        return None
    row = await ApiKey.select().where((ApiKey.key_hash == token_hash(key)) & ApiKey.revoked_at.is_null()).first()
    if row is None:
        return None
    moment = now()
    if row["last_used_at"] is None or moment - row["last_used_at"] > TOUCH_EVERY:
        await ApiKey.update({ApiKey.last_used_at: moment}).where(ApiKey.id == row["id"])
    return ApiClient(row["id"], row["name"], row["role"], row["station"])


async def revoke(key_id: int, actor: audit.Actor) -> bool:
    async with write_transaction(ApiKey._meta.db):
        if not await ApiKey.exists().where((ApiKey.id == key_id) & ApiKey.revoked_at.is_null()):
            return False
        await ApiKey.update({ApiKey.revoked_at: now()}).where(ApiKey.id == key_id)
        await audit.record(actor, "revoke", "api_key", key_id)
    return True


async def list_keys() -> list[dict]:
    return await ApiKey.select(ApiKey.all_columns(), ApiKey.station.name.as_alias("station_name")).order_by(
        ApiKey.id, ascending=False
    )


async def station_choices() -> list[tuple[int, str]]:
    return [
        (r["id"], r["name"])
        for r in await Station.select(Station.id, Station.name).where(Station.active.eq(True)).order_by(Station.name)
    ]
