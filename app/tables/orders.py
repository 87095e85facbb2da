"""Work orders (警单) and every step of their closed loop."""

from piccolo.columns import Boolean, ForeignKey, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow

from app.tables.base import Table
from app.tables.calls import Call
from app.tables.org import Grid, Place, Station
from app.tables.people import Person


class WorkOrder(Table):
    rule = Varchar(length=20, index=True)  # repeat_caller | repeat_place | category_surge | manual
    rule_key = Varchar(length=240, index=True)  # phone, place:ID / address:…, station:category
    title = Varchar(length=200)
    instructions = Text(default="")
    station = ForeignKey(references=Station, null=True, default=None, index=True)
    grid = ForeignKey(references=Grid, null=True, default=None, index=True)
    place = ForeignKey(references=Place, null=True, default=None)
    assignee = ForeignKey(references=Person, null=True, default=None, index=True)
    state = Varchar(length=16, index=True)
    due_at = Timestamptz(null=True, default=None)  # of the step due now
    overdue_told_for = Timestamptz(null=True, default=None)  # the missed due_at the assignee was told of
    handled_at = Timestamptz(null=True, default=None)
    transfer = Boolean(default=False)  # non-police: for an agency (routing comes later)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    closed_at = Timestamptz(null=True, default=None)


class WorkOrderCall(Table):
    order = ForeignKey(references=WorkOrder, index=True)
    call = ForeignKey(references=Call, index=True)


class WorkOrderStep(Table):
    """The timeline: every step with its actor, time and words."""

    order = ForeignKey(references=WorkOrder, index=True)
    step = Varchar(
        length=16
    )  # create | verify | handle | feed_back | evaluate | unsatisfied | close | reopen | reassign | attach
    from_state = Varchar(length=16, default="")
    to_state = Varchar(length=16, default="")
    actor = ForeignKey(references=Person, null=True, default=None)
    actor_role = Varchar(length=40, default="")
    note = Text(default="")
    at = Timestamptz(default=TimestamptzNow())
