"""The platform metrics' facts stored on each report (services/matter_facts): written with each
step from now on; the next migration fills them for the reports that exist (#18)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Boolean, DoublePrecision, Integer, Timestamptz
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-02T14:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "platform metrics facts on report (#18)"

COLUMNS = [
    ("receipt_accept_due", Timestamptz, None, True),
    ("receipt_finish_due", Timestamptz, None, True),
    ("taken_on_at", Timestamptz, None, True),
    ("completed_at", Timestamptz, None, True),
    ("accepted_on_time", Boolean, None, True),
    ("completed_on_time", Boolean, None, True),
    ("accept_hours", DoublePrecision, None, True),
    ("complete_hours", DoublePrecision, None, True),
    ("was_routed", Boolean, False, False),
    ("was_returned", Boolean, False, False),
    ("was_reopened", Boolean, False, False),
    ("ratings", Integer, 0, False),
    ("satisfied", Integer, 0, False),
    ("last_agency", Integer, None, True),
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="qianmo", description=DESCRIPTION)
    for name, kind, default, null in COLUMNS:
        manager.add_column(
            table_class_name="Report",
            tablename="report",
            column_name=name,
            db_column_name=name,
            column_class_name=kind.__name__,
            column_class=kind,
            params={
                "default": default,
                "null": null,
                "primary_key": False,
                "unique": False,
                "index": False,
                "index_method": IndexMethod.btree,
                "choices": None,
                "db_column_name": None,
                "secret": False,
            },
            schema=None,
        )
    return manager
