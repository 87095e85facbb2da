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
