"""An index on call.batch: incremental detection finds an import's calls (their keys and
times) through it instead of reading every call."""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import ForeignKey

ID = "2026-11-29T03:33:02:311663"
VERSION = "1.38.0"
DESCRIPTION = "index on call.batch"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="qianmo", description=DESCRIPTION
    )

    manager.alter_column(
        table_class_name="Call",
        tablename="call",
        column_name="batch",
        db_column_name="batch",
        params={"index": True},
        old_params={"index": False},
        column_class=ForeignKey,
        old_column_class=ForeignKey,
        schema=None,
    )

    return manager
