"""PostgreSQL: autovacuum follows the call table after 1 % of new rows, not 20 %. The period
counts (repeat share, weekly counts, the dashboard) are index-only scans, which read the table
for every page the visibility map does not mark; with the default a day's import of 3,000 calls
waits two months (200,000 rows) for its vacuum. SQLite: nothing to do. Written by hand: Piccolo
cannot declare storage parameters."""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.postgres import PostgresEngine
from piccolo.table import Table

ID = "2026-11-29T03:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "autovacuum of call after 1 % new rows (PostgreSQL)"


class Call(Table, tablename="call"):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="qianmo", description=DESCRIPTION)

    async def set_parameters():
        if isinstance(Call._meta.db, PostgresEngine):
            await Call.raw("ALTER TABLE call SET (autovacuum_vacuum_insert_scale_factor = 0.01, "
                           "autovacuum_analyze_scale_factor = 0.02)")

    async def reset_parameters():
        if isinstance(Call._meta.db, PostgresEngine):
            await Call.raw("ALTER TABLE call RESET (autovacuum_vacuum_insert_scale_factor, "
                           "autovacuum_analyze_scale_factor)")

    manager.add_raw(set_parameters)
    manager.add_raw_backwards(reset_parameters)
    return manager
