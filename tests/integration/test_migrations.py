"""The session started from an empty database and applied every migration (conftest)."""

from pathlib import Path

from piccolo.apps.migrations.tables import Migration

from app.cli import migrate
from app.tables import ALL_TABLES
from tests.conftest import run

MIGRATIONS = list((Path(__file__).parents[2] / "app/piccolo_migrations").glob("qianmo_*.py"))


def test_every_table_exists_after_migrating_from_empty():
    missing = [t._meta.tablename for t in ALL_TABLES if not run(t.table_exists())]
    assert missing == []


def test_every_migration_is_recorded_and_a_second_run_changes_nothing():
    assert run(Migration.count()) == len(MIGRATIONS) > 0
    migrate()
    assert run(Migration.count()) == len(MIGRATIONS)


def test_the_tables_match_the_migrations(db):
    """A column added to a Table without a migration fails here on insert/select."""
    for table in ALL_TABLES:
        run(table.select().limit(1))
