"""A person's own logs, newest first (My day, the form's recently used places, the list by
author) read this index: with the author index alone PostgreSQL walked a city's logs backwards by
id, 320 ms for an officer with few recent logs among 5M. By hand, as the map's indexes are."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-02T18:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "field logs by author and time (#16)"


class FieldLog(Table, tablename="field_log"):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="qianmo", description=DESCRIPTION)

    async def create_index():
        await FieldLog.raw("CREATE INDEX IF NOT EXISTS field_log_author_time ON field_log (author, occurred_at)")

    async def drop_index():
        await FieldLog.raw("DROP INDEX IF EXISTS field_log_author_time")

    manager.add_raw(create_index)
    manager.add_raw_backwards(drop_index)
    return manager
