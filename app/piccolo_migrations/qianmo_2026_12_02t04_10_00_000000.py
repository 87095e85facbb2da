"""The map's counts per grid and place over a period (services/map) read these covering
indexes alone: a month of a million-call district is ~40,000 calls, which without them cost
as many row lookups (1 s on SQLite; bench/map.py). By hand, as call_period_counts is."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-02T04:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "covering indexes for the map's counts (#18)"


class Call(Table, tablename="call"):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="qianmo", description=DESCRIPTION)

    async def create_indexes():
        await Call.raw("CREATE INDEX IF NOT EXISTS call_map_counts ON call (received_at, grid, place, batch)")
        await Call.raw(
            "CREATE INDEX IF NOT EXISTS field_log_map_counts ON field_log (occurred_at, grid, place, voided_at)"
        )

    async def drop_indexes():
        await Call.raw("DROP INDEX IF EXISTS call_map_counts")
        await Call.raw("DROP INDEX IF EXISTS field_log_map_counts")

    manager.add_raw(create_indexes)
    manager.add_raw_backwards(drop_indexes)
    return manager
