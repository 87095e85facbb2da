"""Routing rules (分流转办清单) with their history, and the holiday calendar their working-day
deadlines follow. Rules are retired, never deleted: a matter keeps the rule that routed it."""

from piccolo.columns import Boolean, Date, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.tables.org import Agency, Grid, Office, Station
from app.tables.people import Person


class RoutingRule(Table):
    """(kind, category) × unit → agency. `kind`: report (a ReportCategory code) or call (a call
    category's text). The unit is the grid, else the office, else the station (always set)."""

    kind = Varchar(length=8, default="report")
    category = Varchar(length=60, index=True)
    station = ForeignKey(references=Station, index=True)
    office = ForeignKey(references=Office, null=True, default=None)
    grid = ForeignKey(references=Grid, null=True, default=None)
    agency = ForeignKey(references=Agency, index=True)
    accept_amount = Integer(default=1)
    accept_unit = Varchar(length=8, default="workdays")  # hours | workdays
    finish_amount = Integer(default=5)
    finish_unit = Varchar(length=8, default="workdays")
    note = Varchar(length=200, default="")
    created_at = Timestamptz(default=TimestamptzNow())
    created_by = ForeignKey(references=Person, null=True, default=None)
    retired_at = Timestamptz(null=True, default=None)
    retired_by = ForeignKey(references=Person, null=True, default=None)


class RoutingRuleChange(Table):
    """The rule's history: who created, changed or retired it, when, and what changed (JSON)."""

    rule = ForeignKey(references=RoutingRule, index=True)
    action = Varchar(length=16)  # create | update | retire
    changes = Text(default="{}")
    actor = ForeignKey(references=Person, null=True, default=None)
    at = Timestamptz(default=TimestamptzNow())


class Holiday(Table):
    """A day off (放假) or a make-up workday (调休上班) that differs from Monday–Friday."""

    day = Date(unique=True)
    workday = Boolean(default=False)
    name = Varchar(length=40, default="")
    provisional = Boolean(default=False)  # shipped before the year's notice: to be checked
    updated_by = ForeignKey(references=Person, null=True, default=None)
    updated_at = Timestamptz(default=TimestamptzNow())
