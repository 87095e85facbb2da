"""Fills the platform metrics' facts of every existing report (services/matter_facts, the same
rules the metrics replayed from the steps before), and the index their GROUP BY reads: the
period (created_at) first, then the station a key is scoped to. By hand."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-02T14:30:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "backfill the platform metrics facts (#18)"


class Report(Table, tablename="report"):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="qianmo", description=DESCRIPTION)

    async def backfill():
        from app.services import matter_facts

        await Report.raw("CREATE INDEX IF NOT EXISTS report_metrics_period ON report (created_at, station)")
        await matter_facts.refresh_all()

    async def drop_index():
        await Report.raw("DROP INDEX IF EXISTS report_metrics_period")

    manager.add_raw(backfill)
    manager.add_raw_backwards(drop_index)
    return manager
