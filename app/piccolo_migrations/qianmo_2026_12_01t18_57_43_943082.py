"""Imports commit their calls in chunks: call_import.state (importing | done | failed) says
whether an import's calls count yet; rows already there are done. The period counts now also
check the call's import (services/detection.VISIBLE), so the covering index gains `batch` and
the counts still read the index alone. The state column is Piccolo's; the index by hand."""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Varchar
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-12-01T18:57:43:943082"
VERSION = "1.38.0"
DESCRIPTION = "import state; batch in the period counts index"


class Call(Table, tablename="call"):
    pass


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="qianmo", description=DESCRIPTION
    )

    manager.add_column(
        table_class_name="CallImport",
        tablename="call_import",
        column_name="state",
        db_column_name="state",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 10,
            "default": "done",
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": True,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    async def widen_index():
        await Call.raw("DROP INDEX IF EXISTS call_period_counts")
        await Call.raw("CREATE INDEX call_period_counts ON call (received_at, station, is_repeat, batch)")

    async def narrow_index():
        await Call.raw("DROP INDEX IF EXISTS call_period_counts")
        await Call.raw("CREATE INDEX call_period_counts ON call (received_at, station, is_repeat)")

    manager.add_raw(widen_index)
    manager.add_raw_backwards(narrow_index)
    return manager
