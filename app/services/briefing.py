"""The morning briefing's look at repeats (早会): what came in since the last briefing (calls
and the flags detection raised overnight), and yesterday's repeat callers and places with
their counts and the repeat share. Read-only; the rest of the page is services/dashboard."""

from __future__ import annotations

from datetime import date, timedelta

from app.domain import briefing as rules
from app.domain import calls as call_rules
from app.domain import phone as phones
from app.domain.access import Principal
from app.services import detection, routing, scope
from app.services.auth import now
from app.tables import Call, WorkOrder

LIST_MAX = 20


async def _where(principal: Principal) -> str:
    """The stations' condition on call rows (none for administrators)."""
    if principal.has("admin"):
        return ""
    stations = await scope.station_ids(principal)
    return f" AND station IN ({', '.join(str(int(s)) for s in stations) or 'NULL'})"


async def since_last(principal: Principal, day: date, tz: str) -> dict:
    start, end = rules.covered(day, await routing.calendar(), tz, now())
    where = await _where(principal)
    [row] = await Call.raw(
        "SELECT COUNT(*) AS n, COALESCE(SUM(CASE WHEN is_repeat THEN 1 ELSE 0 END), 0) AS repeats FROM call "
        f"WHERE received_at >= {{}} AND received_at < {{}} AND {detection.VISIBLE}{where}",
        start,
        end,
    )
    flags = WorkOrder.select(
        WorkOrder.id,
        WorkOrder.title,
        WorkOrder.rule,
        WorkOrder.created_at,
        WorkOrder.assignee.name.as_alias("assignee_name"),
    ).where((WorkOrder.created_at >= start) & (WorkOrder.created_at < end) & (WorkOrder.rule != "manual"))
    if not principal.has("admin"):
        flags = flags.where(WorkOrder.station.is_in(list(await scope.station_ids(principal)) or [-1]))
    return {
        "start": start,
        "end": end,
        "calls": int(row["n"]),
        "repeats": int(row["repeats"]),
        "flags": await flags.order_by(WorkOrder.created_at),
        **await yesterdays_repeats(principal, day, tz),
    }


async def yesterdays_repeats(principal: Principal, day: date, tz: str) -> dict:
    """The callers who called again yesterday (a call within 30 days of their previous one) and
    the places called about more than once in the 30 days to yesterday, at least once yesterday;
    each with yesterday's calls and the 30 days'; and yesterday's repeat share."""
    yesterday = day - timedelta(days=1)
    low, high = call_rules.period_bounds(yesterday, yesterday, tz)
    month_low, _ = call_rules.period_bounds(yesterday - timedelta(days=29), yesterday, tz)
    where = await _where(principal)
    visible = f"received_at >= {{}} AND received_at < {{}} AND {detection.VISIBLE}{where}"
    [row] = await Call.raw(
        f"SELECT COUNT(*) AS n, COALESCE(SUM(CASE WHEN is_repeat THEN 1 ELSE 0 END), 0) AS repeats FROM call WHERE {visible}",
        low,
        high,
    )
    callers = await Call.raw(
        "SELECT caller_key, SUM(CASE WHEN received_at >= {} THEN 1 ELSE 0 END) AS day_n, COUNT(*) AS month_n "
        f"FROM call WHERE {visible} AND caller_key IS NOT NULL AND caller_key IN "
        f"(SELECT caller_key FROM call WHERE is_repeat AND {visible}) "
        "GROUP BY caller_key ORDER BY day_n DESC, month_n DESC, caller_key",
        low,
        month_low,
        high,
        low,
        high,
    )
    places = await Call.raw(
        "SELECT c.place AS place, p.name AS name, SUM(CASE WHEN c.received_at >= {} THEN 1 ELSE 0 END) AS day_n, "
        f"COUNT(*) AS month_n FROM call c JOIN place p ON p.id = c.place WHERE {visible.replace('received_at', 'c.received_at').replace(' station', ' c.station')} "
        "GROUP BY c.place, p.name HAVING COUNT(*) >= 2 AND SUM(CASE WHEN c.received_at >= {} THEN 1 ELSE 0 END) >= 1 "
        "ORDER BY day_n DESC, month_n DESC, p.name",
        low,
        month_low,
        high,
        low,
    )
    total, repeats = int(row["n"]), int(row["repeats"])
    return {
        "yesterday": yesterday,
        "yesterday_calls": total,
        "yesterday_repeats": repeats,
        "repeat_share": repeats / total if total else None,
        "repeat_callers": [
            {"phone": phones.mask(r["caller_key"]), "day": int(r["day_n"]), "month": int(r["month_n"])}
            for r in callers[:LIST_MAX]
        ],
        "repeat_places": [
            {"id": r["place"], "name": r["name"], "day": int(r["day_n"]), "month": int(r["month_n"])}
            for r in places[:LIST_MAX]
        ],
    }
