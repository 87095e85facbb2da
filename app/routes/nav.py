"""Bottom navigation: each area adds its entry here (label marked for translation)."""
from __future__ import annotations

from dataclasses import dataclass

from app.i18n import N_


@dataclass(frozen=True)
class NavItem:
    key: str
    href: str
    label: str
    icon: str


NAV = [
    NavItem("home", "/", N_("Home"), "home"),
    NavItem("org", "/admin/org", N_("Organisation"), "org"),
]


def nav_items() -> list[NavItem]:
    return NAV
