"""Work that falls due by itself, done by each app process on a timer instead of by whichever
page is read next (a GET never writes): closing the patrols nobody checked out of, and marking
the routed matters that have escalated (QIANMO_ESCALATE_AFTER_HOURS past a missed deadline),
and sending on the urgent grid alerts nobody acknowledged (services/alerts.escalate_due), and
telling the assignee of an overdue work order and the handler of an overdue report (once each).
Every job is safe to run in several processes at once (its writes are conditional updates)."""

from __future__ import annotations

import asyncio
import functools
import logging
from datetime import timedelta

from app.services import alerts, orders, routing, volunteers

log = logging.getLogger("qianmo.jobs")
ESCALATE_AFTER = timedelta(hours=24)  # the setting's default


async def run_due(escalate_after: timedelta = ESCALATE_AFTER) -> None:
    """Each job once; one that fails is logged and does not stop the others."""
    jobs = (
        volunteers.close_overdue,
        functools.partial(routing.mark_escalated, escalate_after),
        alerts.escalate_due,
        orders.tell_overdue,
        routing.tell_overdue,
    )
    for job in jobs:
        try:
            await job()
        except Exception:  # noqa: BLE001 - the next round tries again
            log.exception("job %s failed", getattr(job, "__name__", getattr(job, "func", job)))


async def every(seconds: float, escalate_after: timedelta = ESCALATE_AFTER) -> None:
    """Run the jobs now and then every `seconds`, until cancelled (the app's shutdown)."""
    while True:
        await run_due(escalate_after)
        await asyncio.sleep(seconds)
