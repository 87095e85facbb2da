"""Volunteers: public registration, the officers' approval queue, patrol shifts (one-off or a
weekly series), sign-up with a waiting list, check-in / check-out, the leader's attendance,
observations, the hours ledger, the certificate and the CSV export. The only code that writes
the volunteer tables; each write and its audit row share one transaction.

One module per part of the area (common, applications, shifts, signups, observations, hours,
team); this package names what the routes and jobs use, so they say `volunteers.sign_up`
wherever the code lives. The parts import one another in one direction (common below all;
shifts above signups and observations); a name with an underscore stays inside the package.

Races: every sign-up, cancellation and promotion runs in `write_transaction`. On SQLite that is
BEGIN IMMEDIATE, so writers take turns; on PostgreSQL the transaction first locks the shift's
row (SELECT … FOR UPDATE; at sign-up the person's row before it, for the overlap check), so two
volunteers taking the last place at the same moment are served one after the other: exactly
one gets it and the other finds the shift full and joins the waiting list.

Sign-ups nobody checked out of are closed by `close_overdue`, which each app process runs every
minute (services/jobs.py): reading a page never writes."""

from __future__ import annotations

from app.services.volunteers import common
from app.services.volunteers.applications import (
    EXISTING_PHONE,
    application,
    applications,
    applications_for_person,
    approve,
    decline,
    link,
    pending_count,
    people_with_phone,
    register,
    registration_choices,
)
from app.services.volunteers.common import (
    ACTIVE,
    PUBLIC,
    STAFF,
    Outcome,
    is_staff,
    refused,
    staff_grids,
    volunteer_grids,
    zone,
)
from app.services.volunteers.hours import (
    EXPORT_COLUMNS,
    certificate,
    export_csv,
    issue_certificate,
    ledger,
    may_see_person,
    station_of_volunteer,
    totals,
    verify_certificate,
)
from app.services.volunteers.observations import (
    acknowledge,
    notify_urgent_observation,
    observation,
    observe,
    photo_file,
    urgent_observations,
)
from app.services.volunteers.shifts import (
    cancel_shift,
    create_shifts,
    leader_choices,
    my_shifts,
    shift,
    shift_form_choices,
    shift_form_values,
    upcoming,
    update_shift,
)
from app.services.volunteers.signups import (
    check_in,
    check_out,
    close_overdue,
    correct_minutes,
    mark,
    sign_up,
    withdraw,
)
from app.services.volunteers.team import set_senior, staff_overview, volunteers_list

__all__ = [
    "common",
    "ACTIVE",
    "EXISTING_PHONE",
    "EXPORT_COLUMNS",
    "Outcome",
    "PUBLIC",
    "STAFF",
    "acknowledge",
    "application",
    "applications",
    "applications_for_person",
    "approve",
    "cancel_shift",
    "certificate",
    "check_in",
    "check_out",
    "close_overdue",
    "correct_minutes",
    "create_shifts",
    "decline",
    "export_csv",
    "is_staff",
    "issue_certificate",
    "leader_choices",
    "ledger",
    "link",
    "mark",
    "may_see_person",
    "my_shifts",
    "notify_urgent_observation",
    "observation",
    "observe",
    "pending_count",
    "people_with_phone",
    "photo_file",
    "refused",
    "register",
    "registration_choices",
    "set_senior",
    "shift",
    "shift_form_choices",
    "shift_form_values",
    "sign_up",
    "staff_grids",
    "staff_overview",
    "station_of_volunteer",
    "totals",
    "upcoming",
    "update_shift",
    "urgent_observations",
    "verify_certificate",
    "volunteer_grids",
    "volunteers_list",
    "withdraw",
    "zone",
]
