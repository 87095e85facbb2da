"""Covering indexes for what leaders read over a period (bench/district.py, a million-call
district with 50,000 matters):
- the 80/20 ranking's counts per place or caller (services/calls.ranking), whoever's scope
  (station or grid) filters them: 90 days are ~120,000 calls, which cost as many row lookups
  without it (0.5 s on SQLite). It holds call_map_counts' columns too, so it replaces that one.
- a place's page: all its calls counted, its newest listed, in the reader's scope: a busy place
  of such a district has ~70,000 calls (1 s on SQLite without it, 7 ms with it).
- the platform metrics' sums per unit (services/platform_metrics): a year is ~25,000 wide
  report rows; this index holds the stored facts they add up. It replaces report_metrics_period,
  its first two columns."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-03T13:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "covering indexes for the calls ranking, the map, a place's calls and the platform metrics (#18)"

FACTS = (
    "created_at, station, last_agency, grid, office, assignee, completed_at, taken_on_at, receipt_accept_due, "
    "receipt_finish_due, accepted_on_time, completed_on_time, was_routed, was_returned, was_reopened, ratings, "
    "satisfied, accept_hours, complete_hours"
)


class Call(Table, tablename="call"):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="qianmo", description=DESCRIPTION)

    async def create_indexes():
        await Call.raw(
            "CREATE INDEX IF NOT EXISTS call_period_keys ON call (received_at, station, grid, place, caller_key, batch)"
        )
        await Call.raw("DROP INDEX IF EXISTS call_map_counts")
        await Call.raw(
            "CREATE INDEX IF NOT EXISTS call_place_period ON call (place, received_at, station, grid, batch)"
        )
        await Call.raw(f"CREATE INDEX IF NOT EXISTS report_metrics_facts ON report ({FACTS})")
        await Call.raw("DROP INDEX IF EXISTS report_metrics_period")

    async def drop_indexes():
        await Call.raw("CREATE INDEX IF NOT EXISTS report_metrics_period ON report (created_at, station)")
        await Call.raw("DROP INDEX IF EXISTS report_metrics_facts")
        await Call.raw("DROP INDEX IF EXISTS call_place_period")
        await Call.raw("CREATE INDEX IF NOT EXISTS call_map_counts ON call (received_at, grid, place, batch)")
        await Call.raw("DROP INDEX IF EXISTS call_period_keys")

    manager.add_raw(create_indexes)
    manager.add_raw_backwards(drop_indexes)
    return manager
