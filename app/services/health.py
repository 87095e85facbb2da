from __future__ import annotations

import logging

from app.tables import Bureau

log = logging.getLogger("qianmo.health")


async def database_ok() -> bool:
    try:
        await Bureau.raw("SELECT 1")
        return True
    except Exception:
        log.exception("health check: database query failed")
        return False
