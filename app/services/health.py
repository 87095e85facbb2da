from __future__ import annotations

import logging

from app.db import unavailable
from app.tables import Bureau

log = logging.getLogger("qianmo.health")


async def database_ok() -> bool:
    try:
        await Bureau.raw("SELECT 1")
        return True
    except Exception as exc:
        if unavailable(exc):  # down or too slow (the engine's timeouts): a line, not a traceback
            log.warning("health check: database unavailable: %r", exc)
        else:
            log.exception("health check: database query failed")
        return False
