"""People and their roles; a role is held for a unit (station, office, grid or agency)."""
from piccolo.columns import Boolean, ForeignKey, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.tables.org import Agency, Grid, Office, Station


class Person(Table):
    name = Varchar(length=100, index=True)
    phone = Varchar(length=32, default="")
    badge_no = Varchar(length=32, default="")
    locale = Varchar(length=8, default="")
    active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())


class PersonRole(Table):
    """One row per role and unit: a grid worker of two grids holds two rows."""

    person = ForeignKey(references=Person, index=True)
    role = Varchar(length=20, index=True)
    station = ForeignKey(references=Station, null=True, default=None)
    office = ForeignKey(references=Office, null=True, default=None)
    grid = ForeignKey(references=Grid, null=True, default=None)
    agency = ForeignKey(references=Agency, null=True, default=None)
