"""A covering index for counts over a period: the repeat-call share, calls per week and the
dashboard read (received_at, station, is_repeat) from the index alone, never the table (on
SQLite a year of a district's calls went from seconds to a fraction of one). Written by hand:
Piccolo's columns cannot declare an index over several columns."""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-29T02:52:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "covering index for period counts"


class Call(Table, tablename="call"):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="qianmo", description=DESCRIPTION)

    async def create_index():
        await Call.raw("CREATE INDEX IF NOT EXISTS call_period_counts ON call (received_at, station, is_repeat)")

    async def drop_index():
        await Call.raw("DROP INDEX IF EXISTS call_period_counts")

    manager.add_raw(create_index)
    manager.add_raw_backwards(drop_index)
    return manager
