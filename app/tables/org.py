"""The organisation: bureau → station → office → grid → place; agencies beside it."""

from piccolo.columns import (
    Boolean,
    DoublePrecision,
    ForeignKey,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow

from app.tables.base import Table


class Bureau(Table):
    name = Varchar(length=100)
    code = Varchar(length=32, unique=True)
    active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())


class Station(Table):
    bureau = ForeignKey(references=Bureau)
    name = Varchar(length=100, index=True)
    code = Varchar(length=32, unique=True)
    address = Varchar(length=200, default="")
    phone = Varchar(length=32, default="")
    # The people's mediation committee (人民调解委员会) that issues this station's 人民调解 agreements.
    committee_name = Varchar(length=100, default="")
    active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())


class Office(Table):
    """A community police office or workstation (警务室 / 警网融合工作站)."""

    station = ForeignKey(references=Station)
    name = Varchar(length=100, index=True)
    code = Varchar(length=32, unique=True)
    address = Varchar(length=200, default="")
    active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())


class Grid(Table):
    office = ForeignKey(references=Office)
    name = Varchar(length=100, index=True)
    code = Varchar(length=32, unique=True)
    # Optional GeoJSON Polygon/MultiPolygon geometry, validated by domain.org.
    boundary = Text(null=True, default=None)
    active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())


class Place(Table):
    grid = ForeignKey(references=Grid)
    name = Varchar(length=100, index=True)
    kind = Varchar(length=20)
    address = Varchar(length=200, default="")
    lat = DoublePrecision(null=True, default=None)
    lon = DoublePrecision(null=True, default=None)
    # Other names people use for the place, one per line (matched against addresses).
    aliases = Text(default="")
    active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())


class Agency(Table):
    """An agency outside the police tree that receives transferred matters."""

    name = Varchar(length=100, index=True)
    code = Varchar(length=32, unique=True)
    kind = Varchar(length=20)
    contact = Varchar(length=100, default="")
    phone = Varchar(length=32, default="")
    active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())
