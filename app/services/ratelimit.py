"""Rate limits kept in the database, so every worker process counts together.

Each hit is ONE statement, an upsert that inserts the bucket or updates it and returns the
outcome (INSERT … ON CONFLICT … DO UPDATE … RETURNING, the same text on SQLite ≥ 3.35 and
PostgreSQL). The database applies it atomically: two workers counting the same bucket at the
same moment are served one after the other, so exactly `limit` hits get through and a first
hit racing another never meets the unique index. In DO UPDATE, `rate_limit_hit.x` is the row
as it was before this hit (every SET expression reads the old row)."""

from __future__ import annotations

import itertools
import time
from datetime import timedelta

from app.db import Statement
from app.tables import RateLimitHit

# A fixed window: a window that has ended starts over with this hit; otherwise the hit counts,
# up to limit + 1 (a refused hit: the count needs no further growth).
_WINDOW = Statement(
    "INSERT INTO rate_limit_hit (bucket, resets_at, count) VALUES ({}, {}, 1) "
    "ON CONFLICT (bucket) DO UPDATE SET "
    "count = CASE WHEN rate_limit_hit.resets_at <= {} THEN 1 "
    "WHEN rate_limit_hit.count > {} THEN rate_limit_hit.count ELSE rate_limit_hit.count + 1 END, "
    "resets_at = CASE WHEN rate_limit_hit.resets_at <= {} THEN excluded.resets_at ELSE rate_limit_hit.resets_at END "
    "RETURNING count"
)

# A token bucket (GCRA): resets_at is the theoretical arrival time (TAT). A hit at `now` is let
# through unless TAT > now + (burst - 1) × interval; then TAT becomes max(TAT, now) + interval.
_BUCKET = Statement(
    "INSERT INTO rate_limit_hit (bucket, resets_at, count) VALUES ({}, {}, 1) "
    "ON CONFLICT (bucket) DO UPDATE SET "
    "count = CASE WHEN rate_limit_hit.resets_at > {} THEN 0 ELSE 1 END, "
    "resets_at = CASE WHEN rate_limit_hit.resets_at > {} THEN rate_limit_hit.resets_at "
    "WHEN rate_limit_hit.resets_at < {} THEN excluded.resets_at "
    "ELSE rate_limit_hit.resets_at + {} END "
    "RETURNING count"
)


# A bucket whose resets_at has passed is as good as none (a new window, a full bucket), so it
# can go: every SWEEP_EVERY hits a process deletes them, or one row per browser would stay.
_SWEEP = Statement("DELETE FROM rate_limit_hit WHERE resets_at < {}")
SWEEP_EVERY = 1000
_hits = itertools.count(1)


async def allow(bucket: str, limit: int, window: timedelta) -> bool:
    """Count one hit in `bucket`; False when the window already holds `limit` hits. A window
    starts with its first hit and lasts `window`."""
    now = time.time()
    return await _count(_WINDOW, bucket, now + window.total_seconds(), now, limit, now) <= limit


async def allow_burst(bucket: str, burst: int, per_minute: float) -> bool:
    """A token bucket: `burst` hits at once, then one every 60/per_minute seconds."""
    now = time.time()
    interval = 60 / max(per_minute, 0.001)
    tolerance = interval * (max(burst, 1) - 1)
    return await _count(_BUCKET, bucket, now + interval, now + tolerance, now + tolerance, now, interval) == 1


async def _count(statement: Statement, *args) -> int:
    engine = RateLimitHit._meta.db
    rows = await statement.fetch(engine, *args)
    if next(_hits) % SWEEP_EVERY == 0:
        await _SWEEP.fetch(engine, time.time())
    return rows[0]["count"]
