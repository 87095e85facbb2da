"""The roles of PRODUCT.md; `resident` is anonymous and never stored."""

from app.i18n import N_

ROLES = {
    "volunteer": N_("Volunteer"),
    "grid_worker": N_("Grid worker"),
    "officer": N_("Community officer"),
    "agency_staff": N_("Agency staff"),
    "analyst": N_("Analyst"),
    "supervisor": N_("Supervisor"),
    "admin": N_("Administrator"),
}

# Which kind of unit each role is held for (the first is the usual one).
ROLE_UNITS = {
    "volunteer": ("grid",),
    "grid_worker": ("grid",),
    "officer": ("office", "station", "grid"),
    "agency_staff": ("agency",),
    "analyst": ("station",),
    "supervisor": ("station",),
    "admin": ("station",),
}
UNIT_KINDS = ("station", "office", "grid", "agency")

# Roles an API key can carry; the scoped ones act for one station.
API_ROLES = {
    "open311": N_("Open311 client (files and reads resident reports)"),
    "analyst": N_("Analyst (imports calls, reads work orders and metrics)"),
    "supervisor": N_("Supervisor (reads the platform metrics of a station)"),
}
SCOPED_API_ROLES = {"analyst", "supervisor"}

QUALIFICATIONS = {
    "social_worker": N_("Social-worker certificate (社工师)"),
    "mediator": N_("People's mediator"),
    "first_aid": N_("First-aid certificate"),
    "other": N_("Other qualification"),
}


def parse_unit(value: str) -> tuple[str, int] | None:
    """'grid:3' -> ('grid', 3)."""
    kind, _sep, ident = (value or "").partition(":")
    if kind in UNIT_KINDS and ident.isdecimal():
        return kind, int(ident)
    return None


def role_unit_error(role: str, unit: tuple[str, int] | None) -> str | None:
    if role not in ROLES:
        return N_("Choose one")
    if unit is None:
        # The first administrator exists before any station does.
        return None if role == "admin" else N_("Choose the unit this role is held for")
    if unit[0] not in ROLE_UNITS[role]:
        return N_("This role cannot be held for that kind of unit")
    return None
