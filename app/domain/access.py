"""Who is acting, and what their roles let them see: pure rules, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from app.domain.roles import ROLES
from app.i18n import N_


@dataclass(frozen=True)
class Principal:
    """A signed-in person with the units each role is held for."""

    id: int
    name: str
    roles: frozenset[str]
    station_ids: frozenset[int] = field(default_factory=frozenset)
    office_ids: frozenset[int] = field(default_factory=frozenset)
    grid_ids: frozenset[int] = field(default_factory=frozenset)
    agency_ids: frozenset[int] = field(default_factory=frozenset)
    session_id: int | None = None
    locale: str = ""

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def role_label(self) -> str:
        """What the audit log records as the acting role(s)."""
        return ",".join(sorted(self.roles))


def principal_from_rows(person: dict, role_rows: list[dict], session_id: int | None = None) -> Principal:
    units: dict[str, set[int]] = {"station": set(), "office": set(), "grid": set(), "agency": set()}
    for row in role_rows:
        for kind, ids in units.items():
            if row.get(kind):
                ids.add(row[kind])
    return Principal(
        id=person["id"],
        name=person["name"],
        roles=frozenset(r["role"] for r in role_rows if r["role"] in ROLES),
        station_ids=frozenset(units["station"]),
        office_ids=frozenset(units["office"]),
        grid_ids=frozenset(units["grid"]),
        agency_ids=frozenset(units["agency"]),
        session_id=session_id,
        locale=person.get("locale") or "",
    )


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta
    absolute: timedelta

    def is_live(self, created_at: datetime, last_seen_at: datetime, now: datetime) -> bool:
        return now - last_seen_at < self.idle and now - created_at < self.absolute


def sign_count_ok(stored: int, presented: int) -> bool:
    """WebAuthn: a counter that does not grow (when either is non-zero) means a cloned key."""
    if stored == 0 and presented == 0:
        return True
    return presented > stored


def invitation_refusal(*, issuer_is_admin: bool, holds_roles: bool, has_passkeys: bool) -> str | None:
    """An invitation link signs its holder in as the person. A person who already has an
    account (any role, any passkey, even a revoked one) gets one only from an administrator (or
    the operator at the server's command line); anyone else may invite only a person who has
    nothing yet, i.e. the one their own flow has just created. None: allowed."""
    if issuer_is_admin or not (holds_roles or has_passkeys):
        return None
    return N_("Only an administrator gives an invitation link to a person who already has an account.")


# The page of each role's daily work, most field-bound first: where a sign-in lands when no
# page was asked for (an officer on patrol opens the app to log, not to read a link list).
LANDINGS = (
    ("officer", "/field"),
    ("grid_worker", "/field"),
    ("supervisor", "/field"),
    ("agency_staff", "/agency"),
    ("volunteer", "/volunteers/my"),
)


def landing(roles: set[str]) -> str:
    return next((path for role, path in LANDINGS if role in roles), "/")
