"""The unique index on a volunteer registration's client UUID (added by the previous migration):
by hand, as SQLite cannot add a UNIQUE column; several NULLs (older rows) are allowed."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-02T13:21:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "unique index on volunteer_application.client_uuid"


class VolunteerApplication(Table, tablename="volunteer_application"):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="qianmo", description=DESCRIPTION)

    async def unique_uuid():
        await VolunteerApplication.raw(
            "CREATE UNIQUE INDEX volunteer_application_client_uuid ON volunteer_application (client_uuid)"
        )

    async def drop_uuid_index():
        await VolunteerApplication.raw("DROP INDEX IF EXISTS volunteer_application_client_uuid")

    manager.add_raw(unique_uuid)
    manager.add_raw_backwards(drop_uuid_index)
    return manager
