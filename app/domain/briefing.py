"""When the morning briefing (早会) is held, and so the time one briefing covers: from the
previous working day's briefing (the editable holiday calendar says which days are worked,
make-up days included) up to this one. Monday's briefing therefore covers the weekend, and
the first day after a holiday the whole holiday; every briefing includes the night's flags."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.domain.routing import Calendar

BRIEFING_AT = time(8, 30)  # local time of the daily briefing
LOOK_BACK_DAYS = 40  # the longest run of days off to look past (none is near this long)


def previous_workday(day: date, calendar: Calendar) -> date:
    for back in range(1, LOOK_BACK_DAYS + 1):
        earlier = day - timedelta(days=back)
        if calendar.is_workday(earlier):
            return earlier
    return day - timedelta(days=1)


def covered(day: date, calendar: Calendar, tz: str, now: datetime) -> tuple[datetime, datetime]:
    """[start, end) of the briefing of `day`: since the previous working day's briefing, up to
    this day's briefing (or now, when it is read before the briefing begins)."""
    zone = ZoneInfo(tz)
    start = datetime.combine(previous_workday(day, calendar), BRIEFING_AT, zone)
    end = datetime.combine(day, BRIEFING_AT, zone)
    return start, min(end, now) if now > start else end
