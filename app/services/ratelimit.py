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
