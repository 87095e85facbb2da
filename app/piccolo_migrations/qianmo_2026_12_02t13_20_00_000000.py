"""Volunteers and overdue notices (#14, #15): a registration's client UUID (a replay from the
phone's outbox answers the first one; its unique index is the next migration: SQLite cannot
add a UNIQUE column, and raw SQL runs before a migration's columns), the reason a leader corrected a sign-up's minutes, the issued certificates of
service hours (numbered, checked at /v/<code>), and the stamps that tell an overdue work order's
assignee and an overdue report's handler once per missed deadline."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import Date, ForeignKey, Integer, Serial, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-12-02T13:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "registration client uuid, minutes reason, volunteer certificates, overdue stamps"


class Person(Table, tablename="person", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


def _params(**extra) -> dict:
    return {
        "null": False,
        "primary_key": False,
        "unique": False,
        "index": False,
        "index_method": IndexMethod.btree,
        "choices": None,
        "db_column_name": None,
        "secret": False,
        **extra,
    }


def _person(**extra) -> dict:
    return _params(
        references=Person, on_delete=OnDelete.cascade, on_update=OnUpdate.cascade, target_column=None, **extra
    )


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="qianmo", description=DESCRIPTION)

    def add(table_class: str, table: str, name: str, column_class, params: dict) -> None:
        manager.add_column(
            table_class_name=table_class,
            tablename=table,
            column_name=name,
            db_column_name=name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params=params,
            schema=None,
        )

    add("VolunteerApplication", "volunteer_application", "client_uuid", Varchar, _params(length=36, null=True, default=None))
    add("ShiftSignup", "shift_signup", "minutes_reason", Varchar, _params(length=200, default=""))
    add("WorkOrder", "work_order", "overdue_told_for", Timestamptz, _params(null=True, default=None))
    add("Report", "report", "overdue_told_for", Timestamptz, _params(null=True, default=None))

    manager.add_table(class_name="VolunteerCertificate", tablename="volunteer_certificate", schema=None, columns=None)
    cert = ("VolunteerCertificate", "volunteer_certificate")
    add(*cert, "code", Varchar, _params(length=12, default="", unique=True))
    add(*cert, "person", ForeignKey, _person(null=True, index=True))
    add(*cert, "since", Date, _params(null=True, default=None))
    add(*cert, "until", Date, _params(null=True, default=None))
    add(*cert, "served", Integer, _params(default=0))
    add(*cert, "minutes", Integer, _params(default=0))
    add(*cert, "station", Varchar, _params(length=100, default=""))
    add(*cert, "issued_by", ForeignKey, _person(null=True))
    add(*cert, "issued_at", Timestamptz, _params(default=TimestamptzNow()))

    return manager
