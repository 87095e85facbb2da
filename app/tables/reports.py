"""Resident reports (群众诉求) by QR code: the categories an admin keeps, the posters (one
opaque code per place, grid or office), the reports, each resident who reported or joined one
(with their own tracking code), their photos, and the timeline of steps."""

from piccolo.columns import Boolean, DoublePrecision, ForeignKey, Integer, Real, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow

from app.tables.base import Table
from app.tables.org import Agency, Grid, Office, Place, Station
from app.tables.people import Person
from app.tables.routing import RoutingRule


class ReportCategory(Table):
    """What residents pick (噪音扰民, 治安隐患 …); its code is the Open311 service_code."""

    code = Varchar(length=32, unique=True)
    name_zh = Varchar(length=60)
    name_en = Varchar(length=60)
    hint_zh = Varchar(length=200, default="")
    hint_en = Varchar(length=200, default="")
    position = Integer(default=0)
    active = Boolean(default=True)


class ReportPoster(Table):
    """A printed QR poster: an unguessable code for one place, grid or office. Retiring it
    keeps the row (the old code then answers "no longer in use")."""

    code = Varchar(length=16, unique=True)
    station = ForeignKey(references=Station, index=True)
    office = ForeignKey(references=Office, null=True, default=None, index=True)
    grid = ForeignKey(references=Grid, null=True, default=None, index=True)
    place = ForeignKey(references=Place, null=True, default=None, index=True)
    created_at = Timestamptz(default=TimestamptzNow())
    created_by = Integer(null=True, default=None)
    retired_at = Timestamptz(null=True, default=None)
    retired_by = Integer(null=True, default=None)


class Report(Table):
    """One matter at one place; several residents may have reported it (ReportReporter).
    Where it is (station, office, grid, place) says which staff see it; `responsible_agency`
    is the seam for transfers to agencies (null: the police unit of the place handles it)."""

    category = ForeignKey(references=ReportCategory)  # no index: "report_category" is the table's name
    status = Varchar(length=16, default="received", index=True)
    source = Varchar(length=16, default="web")  # qr | web | open311
    poster = ForeignKey(references=ReportPoster, null=True, default=None)
    station = ForeignKey(references=Station, index=True)
    office = ForeignKey(references=Office, null=True, default=None, index=True)
    grid = ForeignKey(references=Grid, null=True, default=None, index=True)
    place = ForeignKey(references=Place, null=True, default=None, index=True)
    address = Varchar(length=200, default="")  # an Open311 address_string, as sent
    description = Text(default="")  # the first reporter's words
    reporters = Integer(default=1)  # how many residents reported it (the queue sorts by it)
    responsible_agency = ForeignKey(references=Agency, null=True, default=None, index=True)
    assignee = ForeignKey(references=Person, null=True, default=None, index=True)
    created_at = Timestamptz(default=TimestamptzNow(), index=True)
    updated_at = Timestamptz(default=TimestamptzNow())
    accepted_at = Timestamptz(null=True, default=None)
    done_at = Timestamptz(null=True, default=None)
    closed_at = Timestamptz(null=True, default=None)
    reopened_at = Timestamptz(null=True, default=None)  # a report reopens once, at most
    # Routing to an agency: the rule that routed it (null: by hand or not routed), the agency's
    # own state (new | accepted | answered; returned once it came back), and the deadlines.
    routing_rule = ForeignKey(references=RoutingRule, null=True, default=None)
    agency_state = Varchar(length=12, default="", index=True)
    routed_at = Timestamptz(null=True, default=None)
    accept_due = Timestamptz(null=True, default=None)
    finish_due = Timestamptz(null=True, default=None)
    agency_accepted_at = Timestamptz(null=True, default=None)
    answered_by = ForeignKey(references=Agency, null=True, default=None)  # the unit a rating rates
    returns = Integer(default=0)  # returns and transfers on (a metric)
    escalated_at = Timestamptz(null=True, default=None)
    overdue_told_for = Timestamptz(null=True, default=None)  # the missed deadline the handler was told of
    # The platform metrics' facts (services/matter_facts writes them with each step): deadlines
    # from receipt, first taken on, last completed, on time, durations, flags, ratings.
    receipt_accept_due = Timestamptz(null=True, default=None)
    receipt_finish_due = Timestamptz(null=True, default=None)
    taken_on_at = Timestamptz(null=True, default=None)
    completed_at = Timestamptz(null=True, default=None)
    accepted_on_time = Boolean(null=True, default=None)
    completed_on_time = Boolean(null=True, default=None)
    accept_hours = DoublePrecision(null=True, default=None)
    complete_hours = DoublePrecision(null=True, default=None)
    was_routed = Boolean(default=False)
    was_returned = Boolean(default=False)
    was_reopened = Boolean(default=False)
    ratings = Integer(default=0)
    satisfied = Integer(default=0)  # ratings of 4–5 stars
    last_agency = Integer(null=True, default=None)  # the agency that had it last (an Agency id)


class ReportReporter(Table):
    """One resident's submission: the first report or a join. The tracking code is theirs."""

    report = ForeignKey(references=Report, index=True)
    tracking = Varchar(length=8, unique=True)
    client_uuid = Varchar(length=36, unique=True, null=True, default=None)  # absent for Open311
    token = Varchar(length=32, unique=True, null=True, default=None)  # Open311 tokens/{token}
    api_key = Integer(null=True, default=None)  # the integration that filed it
    description = Text(default="")
    phone = Varchar(length=32, default="")  # for a call-back; masked except to handlers
    lat = Real(null=True, default=None)
    lon = Real(null=True, default=None)
    accuracy = Real(null=True, default=None)
    locale = Varchar(length=8, default="")
    created_at = Timestamptz(default=TimestamptzNow())
    rating = Integer(null=True, default=None)
    rating_comment = Varchar(length=500, default="")
    rated_at = Timestamptz(null=True, default=None)


class ReportPhoto(Table):
    """A resident's photo: a re-encoded JPEG on disk by content hash (EXIF removed)."""

    reporter = ForeignKey(references=ReportReporter, index=True)
    sha256 = Varchar(length=64, index=True)
    width = Integer()
    height = Integer()
    size = Integer()
    created_at = Timestamptz(default=TimestamptzNow())


class ReportStep(Table):
    """The timeline: received, accepted, assigned, in progress, transferred, reply, note, done,
    closed, joined, rated, reopened. Public steps are shown on the tracking page."""

    report = ForeignKey(references=Report, index=True)
    kind = Varchar(length=16)
    public = Boolean(default=True)
    text = Text(default="")
    actor = ForeignKey(references=Person, null=True, default=None)
    assignee = ForeignKey(references=Person, null=True, default=None)
    agency = ForeignKey(references=Agency, null=True, default=None)
    at = Timestamptz(default=TimestamptzNow(), index=True)


class ReportStepPhoto(Table):
    """A photo on an agency's internal note (the handling): for that agency's staff only, never
    on the resident's page. Stored like a resident's photo (re-encoded JPEG by content hash)."""

    step = ForeignKey(references=ReportStep, index=True)
    sha256 = Varchar(length=64, index=True)
    width = Integer()
    height = Integer()
    size = Integer()
    created_at = Timestamptz(default=TimestamptzNow())
