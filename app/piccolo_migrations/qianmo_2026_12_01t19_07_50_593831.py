"""volunteer_application.held: an application received beyond the usual number from one address
or from everyone in a day is stored all the same, held apart for the officers' careful look."""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Boolean
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-01T19:07:50:593831"
VERSION = "1.38.0"
DESCRIPTION = "volunteer_application.held"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="qianmo", description=DESCRIPTION
    )

    manager.add_column(
        table_class_name="VolunteerApplication",
        tablename="volunteer_application",
        column_name="held",
        db_column_name="held",
        column_class_name="Boolean",
        column_class=Boolean,
        params={
            "default": False,
            "null": False,
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
