"""Work that falls due by itself, done by each app process on a timer instead of by whichever
page is read next (a GET never writes): today, closing the patrols nobody checked out of.
Every job is safe to run in several processes at once (its writes are conditional updates)."""
from __future__ import annotations

import asyncio
import logging

from app.services import volunteers

log = logging.getLogger("qianmo.jobs")
JOBS = (volunteers.close_overdue,)


async def run_due() -> None:
    """Each job once; one that fails is logged and does not stop the others."""
    for job in JOBS:
        try:
            await job()
        except Exception:  # noqa: BLE001 - the next round tries again
            log.exception("job %s failed", job.__name__)


async def every(seconds: float) -> None:
    """Run the jobs now and then every `seconds`, until cancelled (the app's shutdown)."""
    while True:
        await run_due()
        await asyncio.sleep(seconds)
