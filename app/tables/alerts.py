"""Grid alerts (云上警格), their timeline and recipients, the stations' alert settings, and the
per-person notifications every area feeds."""

from piccolo.columns import ForeignKey, Integer, Real, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow

from app.tables.base import Table
from app.tables.fieldwork import FieldLog, Photo
from app.tables.orders import WorkOrder
from app.tables.org import Grid, Place, Station
from app.tables.people import Person


class GridAlert(Table):
    """Something happening in a grid that its officer must know now."""

    client_uuid = Varchar(length=36, unique=True)
    grid = ForeignKey(references=Grid, index=True)
    station = ForeignKey(references=Station, index=True)  # the grid's, for the setting and scoping
    place = ForeignKey(references=Place, null=True, default=None)
    place_text = Varchar(length=200, default="")
    person = ForeignKey(references=Person, index=True)  # who sent it
    text = Text(default="")
    urgency = Varchar(length=8, index=True)  # urgent | soon | info
    photo = ForeignKey(references=Photo, null=True, default=None)
    lat = Real(null=True, default=None)
    lon = Real(null=True, default=None)
    accuracy = Real(null=True, default=None)
    state = Varchar(length=12, default="open", index=True)  # open | acknowledged | closed
    created_at = Timestamptz(default=TimestamptzNow())
    acknowledged_at = Timestamptz(null=True, default=None)
    acknowledged_by = ForeignKey(references=Person, null=True, default=None)
    ack_kind = Varchar(length=12, default="")  # on_my_way | seen
    # Escalation: the chain step reached (0: the grid's officer) and when the next one is due;
    # None once acknowledged or closed, or when the chain has no further step.
    level = Integer(default=0)
    escalate_at = Timestamptz(null=True, default=None, index=True)
    closed_at = Timestamptz(null=True, default=None)
    closed_by = ForeignKey(references=Person, null=True, default=None)
    outcome = Text(default="")
    field_log = ForeignKey(references=FieldLog, null=True, default=None)
    work_order = ForeignKey(references=WorkOrder, null=True, default=None)


class AlertRecipient(Table):
    """Who the alert was sent to, at which step of the chain."""

    alert = ForeignKey(references=GridAlert, index=True)
    person = ForeignKey(references=Person, index=True)
    level = Integer(default=0)


class AlertStep(Table):
    """The alert's timeline: posted, sent, escalated, acknowledged, closed."""

    alert = ForeignKey(references=GridAlert, index=True)
    kind = Varchar(length=16)
    person = ForeignKey(references=Person, null=True, default=None)  # who acted (None: the system)
    note = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())


class AlertSetting(Table):
    """A station's alert settings (no row: the defaults)."""

    station = ForeignKey(references=Station, unique=True)
    escalate_minutes = Integer(default=5)


class Notification(Table):
    """One thing waiting for one person. The title is the kind's label, translated when shown;
    `text` is the subject's own words (an alert's text, a work order's title)."""

    person = ForeignKey(references=Person, index=True)
    kind = Varchar(length=32)
    text = Varchar(length=200, default="")
    url = Varchar(length=200, default="")
    urgent = Integer(default=0)  # 1: banner with sound
    created_at = Timestamptz(default=TimestamptzNow())
    read_at = Timestamptz(null=True, default=None)


class PushSubscription(Table):
    """One browser's Web Push subscription: a signed-in person's, a resident's for one report
    (no account: the tracking page's "notify me on this phone", by that tracking code), or both."""

    person = ForeignKey(references=Person, null=True, default=None, index=True)
    tracking = Varchar(length=8, default="", index=True)  # a ReportReporter's code ("": none)
    locale = Varchar(length=8, default="")  # the resident's page language when they subscribed
    endpoint = Varchar(length=1000, unique=True)  # the push service's URL for this browser
    p256dh = Varchar(length=200)
    auth = Varchar(length=64)
    user_agent = Varchar(length=300, default="")
    created_at = Timestamptz(default=TimestamptzNow())
    last_used_at = Timestamptz(null=True, default=None)
    last_status = Integer(default=0)  # the push service's last answer (0: unreachable or not yet)


class PushChoice(Table):
    """Which notification kinds a person also wants on the phone (no row: the defaults of
    domain/push.py). `kinds` is JSON, {kind: true/false}, the person's own ticks."""

    person = ForeignKey(references=Person, unique=True)
    kinds = Text(default="{}")
    updated_at = Timestamptz(default=TimestamptzNow())
