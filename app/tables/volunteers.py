"""Volunteers (平安志愿者): applications from the public form, patrol shifts (one-off or a
weekly series), sign-ups with their check-in / check-out and attendance, and observations
made during a patrol."""

from piccolo.columns import Boolean, Date, ForeignKey, Integer, Real, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow

from app.tables.base import Table
from app.tables.fieldwork import Photo
from app.tables.org import Grid, Office, Place
from app.tables.people import Person


class VolunteerApplication(Table):
    """A registration from the public page, waiting for an officer of the chosen grids."""

    client_uuid = Varchar(length=36, null=True, default=None, unique=True)  # a replay answers the first

    name = Varchar(length=50)
    phone = Varchar(length=32, index=True)
    grids = Varchar(length=200, default="")  # ",3,4," preferred grids
    office = ForeignKey(references=Office, null=True, default=None)  # or "any grid of this office"
    availability = Varchar(length=60, default="")  # ",evenings,weekends,"
    skills = Varchar(length=60, default="")  # ",first_aid,driving,"
    skills_note = Varchar(length=100, default="")
    consent_at = Timestamptz()  # when the data-use notice was agreed to
    status = Varchar(length=12, default="pending", index=True)  # pending | approved | declined
    decided_by = ForeignKey(references=Person, null=True, default=None)
    decided_at = Timestamptz(null=True, default=None)
    decline_reason = Varchar(length=200, default="")
    person = ForeignKey(references=Person, null=True, default=None)  # the volunteer it became
    # Received beyond the usual number from one address or from everyone in a day (a flood):
    # stored all the same, and shown apart in the officers' queue for a careful look.
    held = Boolean(default=False)
    created_at = Timestamptz(default=TimestamptzNow())


class VolunteerProfile(Table):
    """What an approved volunteer told us, and whether they may lead a patrol."""

    person = ForeignKey(references=Person, unique=True)
    availability = Varchar(length=60, default="")
    skills = Varchar(length=60, default="")
    skills_note = Varchar(length=100, default="")
    senior = Boolean(default=False)  # a senior volunteer may lead a shift
    created_at = Timestamptz(default=TimestamptzNow())


class PatrolShift(Table):
    series = Varchar(length=36, default="", index=True)  # shared by the shifts of a weekly series
    grid = ForeignKey(references=Grid, index=True)  # the first grid: totals and scoping
    grids = Varchar(length=200, default="")  # ",3,4," every grid the patrol covers
    route = Text(default="")
    meeting_point = Varchar(length=200, default="")
    starts_at = Timestamptz(index=True)
    ends_at = Timestamptz()
    min_volunteers = Integer(default=1)
    max_volunteers = Integer(default=1)
    leader = ForeignKey(references=Person, null=True, default=None)
    notes = Text(default="")
    created_by = ForeignKey(references=Person, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    changed_at = Timestamptz(null=True, default=None)  # volunteers signed up earlier see "changed"
    cancelled_at = Timestamptz(null=True, default=None)
    cancel_reason = Varchar(length=200, default="")


class ShiftSignup(Table):
    """One volunteer on one shift: a place (confirmed), the waiting list, or cancelled; then
    what happened on the spot and the minutes it counts for in the hours ledger."""

    shift = ForeignKey(references=PatrolShift, index=True)
    person = ForeignKey(references=Person, index=True)
    status = Varchar(length=12, default="confirmed", index=True)  # confirmed | waiting | cancelled
    created_at = Timestamptz(default=TimestamptzNow())  # the waiting list is served in this order
    promoted_at = Timestamptz(null=True, default=None)  # moved up from the waiting list
    cancelled_at = Timestamptz(null=True, default=None)
    check_in_at = Timestamptz(null=True, default=None)
    check_in_lat = Real(null=True, default=None)
    check_in_lon = Real(null=True, default=None)
    check_in_accuracy = Real(null=True, default=None)
    check_out_at = Timestamptz(null=True, default=None)
    auto_closed = Boolean(default=False)  # not checked out: closed at the planned end, for the leader
    attendance = Varchar(length=12, default="")  # "" | present | no_show (the leader's marking)
    marked_by = ForeignKey(references=Person, null=True, default=None)
    minutes = Integer(default=0)  # what the hours ledger counts
    minutes_reason = Varchar(length=200, default="")  # why the leader corrected the minutes


class VolunteerCertificate(Table):
    """One issued certificate of service hours: its number (the public page /v/<code> checks
    it) and what it certified at the time, so a later correction does not change a printed copy."""

    code = Varchar(length=12, unique=True)
    person = ForeignKey(references=Person, index=True)
    since = Date(null=True, default=None)
    until = Date(null=True, default=None)
    served = Integer(default=0)  # shifts counted
    minutes = Integer(default=0)
    station = Varchar(length=100, default="")
    issued_by = ForeignKey(references=Person, null=True, default=None)
    issued_at = Timestamptz(default=TimestamptzNow())


class Observation(Table):
    """Something a volunteer noticed on patrol; urgent ones go to the grid's officers at once."""

    client_uuid = Varchar(length=36, unique=True)
    shift = ForeignKey(references=PatrolShift, index=True)
    person = ForeignKey(references=Person, index=True)
    grid = ForeignKey(references=Grid, index=True)
    place = ForeignKey(references=Place, null=True, default=None)
    note = Text(default="")
    urgent = Boolean(default=False, index=True)
    lat = Real(null=True, default=None)
    lon = Real(null=True, default=None)
    accuracy = Real(null=True, default=None)
    photo = ForeignKey(references=Photo, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    acknowledged_at = Timestamptz(null=True, default=None)
    acknowledged_by = ForeignKey(references=Person, null=True, default=None)
