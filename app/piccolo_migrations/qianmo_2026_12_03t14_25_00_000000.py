"""The keyset-paged lists' orders read an index each (app/services/paging.py). EXPLAIN ANALYZE
of a deep page on PostgreSQL 15 (1M calls, 1M logs, 300k reports, 200k orders, 2M audit rows;
bench/paging.py): work orders by deadline 28 ms (a station) / 104 ms (all) -> 1.1 / 0.4 ms, an
agency's queue by deadline 145 -> 0.5 ms, the report queue by reporters 600 -> 0.9 ms. The
calls, logs, reports by time and the audit log already had theirs. By hand, as the map's
indexes are."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-03T14:25:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "indexes of the keyset-paged lists (#16)"

INDEXES = {
    "work_order_due": "work_order (due_at, id)",
    "report_by_reporters": "report (reporters, created_at, id)",
    "report_agency_queue": "report (responsible_agency, agency_state, finish_due, id)",
}


class Call(Table, tablename="call"):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="qianmo", description=DESCRIPTION)

    async def create_indexes():
        for name, target in INDEXES.items():
            await Call.raw(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")

    async def drop_indexes():
        for name in INDEXES:
            await Call.raw(f"DROP INDEX IF EXISTS {name}")

    manager.add_raw(create_indexes)
    manager.add_raw_backwards(drop_indexes)
    return manager
