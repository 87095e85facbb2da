"""Bottom navigation: each area adds its entry here (label marked for translation)."""

from __future__ import annotations

from dataclasses import dataclass

from app.domain.access import Principal
from app.i18n import N_

FIELD_ROLES = ("officer", "grid_worker", "volunteer", "supervisor", "analyst", "admin")


@dataclass(frozen=True)
class NavItem:
    key: str
    href: str
    label: str
    icon: str
    roles: tuple[str, ...] = ()  # empty: everyone signed in; ("anonymous",): only the signed out


NAV = [
    NavItem("home", "/", N_("Home"), "home", ("anonymous", "signed_in")),
    NavItem("today", "/field", N_("Today"), "reports", ("officer", "grid_worker", "supervisor")),
    NavItem("logs", "/field/logs", N_("Field logs"), "reports", ("analyst",)),
    NavItem("calls", "/calls", N_("110 calls"), "orders", ("analyst",)),
    NavItem("area", "/area", N_("My area"), "fieldwork", FIELD_ROLES),
    # The map: the desk roles' bar has room; officers reach it from My area and My day.
    NavItem("map", "/map", N_("Grid map"), "org", ("analyst", "supervisor", "admin")),
    # Resident reports: grid workers here; officers' bar is full (home page links it for them).
    NavItem("reports", "/reports", N_("Reports"), "requests", ("grid_worker",)),
    NavItem("agency", "/agency", N_("Matters"), "requests", ("agency_staff",)),
    NavItem("my_shifts", "/volunteers/my", N_("My shifts"), "volunteers", ("volunteer",)),
    NavItem("volunteers", "/volunteers", N_("Volunteers"), "volunteers", ("officer",)),
    NavItem("people", "/people", N_("People"), "volunteers", ("admin", "supervisor")),
    NavItem("org", "/admin/org", N_("Units"), "org", ("admin",)),  # short: six tabs share a phone
    NavItem("me", "/me", N_("Me"), "me", ("signed_in",)),
    NavItem("signin", "/signin", N_("Sign in"), "me", ("anonymous",)),
]


def nav_items(user: Principal | None) -> list[NavItem]:
    def shown(item: NavItem) -> bool:
        if user is None:
            return "anonymous" in item.roles
        return "signed_in" in item.roles or user.has(*item.roles)

    return [item for item in NAV if shown(item)]
