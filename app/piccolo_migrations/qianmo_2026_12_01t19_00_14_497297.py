"""Rate limits count in one upsert (services/ratelimit.py): the window's end or a token bucket's
theoretical arrival time is a number of seconds (resets_at), not a timestamp, so the statement's
arithmetic is the same on both engines. The counters start over (nothing else reads them)."""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import DoublePrecision
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-01T19:00:14:497297"
VERSION = "1.38.0"
DESCRIPTION = "rate_limit_hit.resets_at (seconds) instead of window_start"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="qianmo", description=DESCRIPTION
    )

    manager.drop_column(
        table_class_name="RateLimitHit",
        tablename="rate_limit_hit",
        column_name="window_start",
        db_column_name="window_start",
        schema=None,
    )

    manager.add_column(
        table_class_name="RateLimitHit",
        tablename="rate_limit_hit",
        column_name="resets_at",
        db_column_name="resets_at",
        column_class_name="DoublePrecision",
        column_class=DoublePrecision,
        params={
            "default": 0.0,
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    return manager
