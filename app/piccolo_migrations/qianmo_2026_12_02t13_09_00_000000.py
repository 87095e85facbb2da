"""The map's flag layers and its alerts layer (services/map) read these indexes alone: a flag
layer probes work_order_call by call for each call of the period (the rule's order found from
the covering (call, order) pair, not the row); the alerts layer groups a period's alerts by
grid and place. By hand, as the map's other covering indexes are."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-02T13:09:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "indexes for the map's flag and alerts layers (#18)"


class Call(Table, tablename="call"):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="qianmo", description=DESCRIPTION)

    async def create_indexes():
        await Call.raw('CREATE INDEX IF NOT EXISTS work_order_call_by_call ON work_order_call (call, "order")')
        await Call.raw("CREATE INDEX IF NOT EXISTS grid_alert_map_counts ON grid_alert (created_at, grid, place)")

    async def drop_indexes():
        await Call.raw("DROP INDEX IF EXISTS work_order_call_by_call")
        await Call.raw("DROP INDEX IF EXISTS grid_alert_map_counts")

    manager.add_raw(create_indexes)
    manager.add_raw_backwards(drop_indexes)
    return manager
