"""Field logs: contacts (走访), campaign drops (宣传) and on-the-spot mediations (现场调解),
in one table (the common part is most of it: who, where, when, note, follow-up), with the
parties of a mediation, links to calls or work orders, photos, and the admin-edited lists."""

from piccolo.columns import Boolean, Date, ForeignKey, Integer, Real, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow

from app.tables.base import Table
from app.tables.org import Grid, Place
from app.tables.people import Person


class Topic(Table):
    """Contact tags (kind "tag") and campaign topics (kind "campaign"), edited by admins."""

    kind = Varchar(length=16, index=True)
    code = Varchar(length=32)
    name_zh = Varchar(length=60)
    name_en = Varchar(length=60)
    position = Integer(default=0)
    active = Boolean(default=True)


class FieldLog(Table):
    client_uuid = Varchar(length=36, unique=True)  # made by the phone: a resend creates nothing
    kind = Varchar(length=16, index=True)
    author = ForeignKey(references=Person, index=True)
    grid = ForeignKey(references=Grid, index=True)
    place = ForeignKey(references=Place, null=True, default=None, index=True)
    occurred_at = Timestamptz(index=True)
    lat = Real(null=True, default=None)
    lon = Real(null=True, default=None)
    accuracy = Real(null=True, default=None)  # metres, as the phone reported it
    note = Text(default="")
    follow_up_on = Date(null=True, default=None, index=True)
    follow_up_done = Boolean(default=False)
    follows_up = Integer(null=True, default=None)  # the log whose follow-up this one is
    # contact
    subject_kind = Varchar(length=16, default="")
    subject_name = Varchar(length=100, default="")
    subject_phone = Varchar(length=32, default="")
    tags = Varchar(length=400, default="")  # ",fraud,safety,"
    # campaign drop
    topic = Varchar(length=32, default="")
    leaflets = Integer(null=True, default=None)
    reached = Integer(null=True, default=None)
    # mediation
    dispute_type = Varchar(length=16, default="")
    mediation_type = Varchar(length=16, default="")  # "police" 治安调解 | "people" 人民调解
    mediators = Text(default="")
    outcome = Varchar(length=16, default="")
    terms = Text(default="")
    # the written agreement's number 〔year〕第n号, given once when it is agreed (AgreementCounter)
    agreement_year = Integer(null=True, default=None)
    agreement_n = Integer(null=True, default=None)
    # life
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    voided_at = Timestamptz(null=True, default=None)
    voided_by = Integer(null=True, default=None)
    void_reason = Varchar(length=200, default="")


class MediationParty(Table):
    log = ForeignKey(references=FieldLog, index=True)
    position = Integer(default=0)
    name = Varchar(length=100)
    phone = Varchar(length=32, default="")
    role = Varchar(length=40, default="")
    address = Varchar(length=200, default="")
    id_number = Varchar(length=18, default="")  # a resident ID (GB 11643), optional
    sex = Varchar(length=8, default="")  # "male" | "female" | ""
    age = Integer(null=True, default=None)


class FieldLogLink(Table):
    """A link from a log to something of another issue: a 110 call (by its call number, kept
    even before calls are imported) or a work order. Calls and work orders attach here."""

    log = ForeignKey(references=FieldLog, index=True)
    target_type = Varchar(length=16)  # "call" | "work_order"
    target_ref = Varchar(length=64, index=True)


class Photo(Table):
    """A re-encoded JPEG on disk, named by its content hash; EXIF removed."""

    log = ForeignKey(references=FieldLog, null=True, default=None, index=True)
    sha256 = Varchar(length=64, index=True)
    width = Integer()
    height = Integer()
    size = Integer()
    created_at = Timestamptz(default=TimestamptzNow())


class AgreementTemplate(Table):
    """An admin's wording of the written agreement (书面和解协议) for one dispute type."""

    dispute_type = Varchar(length=16, unique=True)
    title = Varchar(length=100)
    preamble = Text(default="")
    closing = Text(default="")
    updated_at = Timestamptz(default=TimestamptzNow())


class AgreementCounter(Table):
    """The last agreement number given per station and year; key "station_id:year". One row
    is bumped by a single INSERT … ON CONFLICT … RETURNING, so two officers never share a number."""

    key = Varchar(length=40, unique=True)
    n = Integer(default=0)


class LogReview(Table):
    """A supervisor's mark that a log was read (审阅), with an optional comment for its author."""

    log = ForeignKey(references=FieldLog, index=True)
    reviewer = ForeignKey(references=Person)
    comment = Text(default="")
    at = Timestamptz(default=TimestamptzNow())
