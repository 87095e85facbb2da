"""110 call records (警情) as imported, the imports themselves, the address mappings an
analyst makes once, and the settings of the detection rules."""

from piccolo.columns import JSON, Boolean, ForeignKey, Integer, Real, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow

from app.tables.base import Table
from app.tables.org import Agency, Grid, Place, Station
from app.tables.people import Person
from app.tables.routing import RoutingRule


class CallImport(Table):
    """One import (a CSV file or an API request): what it did, who did it. Its calls are
    written in chunks, each committed on its own; they count only once the import is `done`
    (services/detection.VISIBLE), so nobody sees half an import and a failed one is discarded."""

    source = Varchar(length=8)  # csv | api
    state = Varchar(length=10, default="done", index=True)  # importing | done | failed
    filename = Varchar(length=200, default="")
    created = Integer(default=0)
    duplicates = Integer(default=0)
    conflicts = Integer(default=0)
    rejected = Integer(default=0)
    actor_id = Integer(null=True, default=None)
    actor_role = Varchar(length=40, default="")
    errors = JSON(default=[])  # the first few hundred row errors, for the import's page
    at = Timestamptz(default=TimestamptzNow())


class Call(Table):
    call_id = Varchar(length=64, unique=True)
    received_at = Timestamptz(index=True)
    caller_phone = Varchar(length=32, default="")  # as received
    caller_key = Varchar(length=32, null=True, default=None, index=True)  # normalised; None if withheld
    address = Varchar(length=200)
    address_key = Varchar(length=200, index=True)
    lat = Real(null=True, default=None)
    lon = Real(null=True, default=None)
    category = Varchar(length=60, index=True)
    summary = Text(default="")
    disposition = Varchar(length=500, default="")
    station = ForeignKey(references=Station, null=True, default=None, index=True)
    place = ForeignKey(references=Place, null=True, default=None, index=True)
    grid = ForeignKey(references=Grid, null=True, default=None, index=True)
    non_police = Boolean(default=False)  # a category an admin listed: to transfer, not a work order
    # The caller's previous call is at most 30 days older: kept up to date by every import, so
    # that the repeat-call share of any period is a plain count.
    is_repeat = Boolean(default=False)
    batch = ForeignKey(
        references=CallImport, null=True, default=None, index=True
    )  # an import's calls, for incremental detection
    # A category with a routing rule: the agency it went to on import, and the rule.
    responsible_agency = ForeignKey(references=Agency, null=True, default=None, index=True)
    routing_rule = ForeignKey(references=RoutingRule, null=True, default=None)
    # The agency's handling, as for a routed report: new | accepted | answered | returned, or ""
    # (not a matter: never routed, or routed as history, received long before its import).
    agency_state = Varchar(length=12, default="", index=True)
    routed_at = Timestamptz(null=True, default=None)
    accept_due = Timestamptz(null=True, default=None)
    finish_due = Timestamptz(null=True, default=None)
    agency_accepted_at = Timestamptz(null=True, default=None)
    escalated_at = Timestamptz(null=True, default=None)
    returns = Integer(default=0)  # returns and transfers on (a metric)


class CallStep(Table):
    """The timeline of a routed call: the agency's steps (accepted, note, answered, returned,
    transferred). Staff only: the caller has no page on Qianmo."""

    call = ForeignKey(references=Call, index=True)
    kind = Varchar(length=16)
    text = Text(default="")
    actor = ForeignKey(references=Person, null=True, default=None)
    agency = ForeignKey(references=Agency, null=True, default=None)
    at = Timestamptz(default=TimestamptzNow(), index=True)


class AddressMapping(Table):
    """An unmatched address an analyst mapped to a place, remembered for later imports."""

    address_key = Varchar(length=200, unique=True)
    address = Varchar(length=200)
    place = ForeignKey(references=Place)
    created_by = Integer(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class CallColumnAlias(Table):
    """A column name of someone's 110 export (接警单编号 …) mapped once by an analyst to a field
    (call_id …), remembered for every later import."""

    header = Varchar(length=100, unique=True)  # as the file writes it, trimmed, lower case
    field = Varchar(length=20)
    created_by = Integer(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class CategoryFamily(Table):
    """An analyst's choice of a call category's family (what 一地多起 counts a place's repeats
    by), where the family the category's words give is wrong for this 110 system."""

    call_category = Varchar(length=60, unique=True)  # not "category": the SQL reads it beside call.category
    family = Varchar(length=16)
    changed_by = Integer(null=True, default=None)
    changed_at = Timestamptz(default=TimestamptzNow())


class NonPoliceCategory(Table):
    """Call categories that belong to another agency (e.g. 噪音扰民 → urban management)."""

    category = Varchar(length=60, unique=True)


class DetectionSetting(Table):
    """A rule's threshold and window for a station (and, for surges, a category)."""

    station = ForeignKey(references=Station, null=True, default=None)
    category = Varchar(length=60, default="")
    rule = Varchar(length=20)
    threshold = Integer()
    window_days = Integer()
