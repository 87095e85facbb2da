"""Fixed-window rate limits kept in the database, so every worker process counts together."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from app.db import write_transaction
from app.tables import RateLimitHit


async def allow(bucket: str, limit: int, window: timedelta) -> bool:
    """Count one hit in `bucket`; False when the window already holds `limit` hits."""
    now = datetime.now(timezone.utc)
    async with write_transaction(RateLimitHit._meta.db):
        row = await RateLimitHit.select().where(RateLimitHit.bucket == bucket).first()
        if row is None:
            await RateLimitHit.insert(RateLimitHit(bucket=bucket, window_start=now, count=1))
            return True
        if now - row["window_start"] >= window:
            await RateLimitHit.update({RateLimitHit.window_start: now, RateLimitHit.count: 1}).where(
                RateLimitHit.id == row["id"])
            return True
        if row["count"] >= limit:
            return False
        await RateLimitHit.update({RateLimitHit.count: RateLimitHit.count + 1}).where(RateLimitHit.id == row["id"])
        return True


async def allow_burst(bucket: str, burst: int, per_minute: float) -> bool:
    """A token bucket: `burst` hits at once, then one every 60/per_minute seconds (GCRA: the row's
    window_start holds the theoretical arrival time of the next hit; count is unused)."""
    interval = timedelta(seconds=60 / max(per_minute, 0.001))
    for attempt in range(2):
        now = datetime.now(timezone.utc)
        try:
            async with write_transaction(RateLimitHit._meta.db):
                row = await RateLimitHit.select().where(RateLimitHit.bucket == bucket).first()
                arrival = max(row["window_start"], now) if row else now
                if arrival - now > interval * (max(burst, 1) - 1):
                    return False
                if row is None:
                    await RateLimitHit.insert(RateLimitHit(bucket=bucket, window_start=arrival + interval, count=0))
                else:
                    await RateLimitHit.update({RateLimitHit.window_start: arrival + interval}).where(
                        RateLimitHit.id == row["id"])
                return True
        except Exception:  # two first hits at once: the unique bucket let one insert through
            if attempt:
                raise
    return False
