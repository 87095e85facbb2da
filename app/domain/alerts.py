"""Grid alerts' pure rules: the urgencies, the escalation chain and its timing, the checks of
a posted alert."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from app.i18n import N_

URGENCIES = {
    "urgent": N_("Urgent: come now"),
    "soon": N_("Soon: today"),
    "info": N_("For information"),
}
ACKS = {"on_my_way": N_("On my way"), "seen": N_("Seen")}
STATES = {"open": N_("Waiting for an officer"), "acknowledged": N_("Acknowledged"), "closed": N_("Closed")}
STEPS = {
    "posted": N_("Posted"),
    "sent": N_("Sent to the grid's officer"),
    "escalated": N_("Nobody acknowledged: sent on"),
    "acknowledged": N_("Acknowledged"),
    "closed": N_("Closed"),
}
# What an officer may turn a closed alert into: nothing, a field log that followed, a work order.
MAX_TEXT = 500
MAX_OUTCOME = 1000
MAX_PLACE = 200
DEFAULT_ESCALATE_MINUTES = 5
MIN_ESCALATE_MINUTES, MAX_ESCALATE_MINUTES = 1, 240


@dataclass(frozen=True)
class Chain:
    """Who hears of an alert, step by step: level 0 is the grid's responsible officer, then
    the office's other officers, then the station's supervisors. Empty steps are skipped and
    nobody hears twice."""

    levels: tuple[tuple[int, ...], ...]

    def at(self, level: int) -> tuple[int, ...]:
        return self.levels[level] if 0 <= level < len(self.levels) else ()

    def has_after(self, level: int) -> bool:
        return level + 1 < len(self.levels)


def chain(officer: int | None, office_officers: list[int], supervisors: list[int], sender: int | None = None) -> Chain:
    """The sender (an officer alerting for their own grid) is never in it: their alert goes to
    the next people."""
    seen: set[int] = {sender} if sender else set()
    levels = []
    for people in ([officer] if officer else [], office_officers, supervisors):
        step = tuple(p for p in dict.fromkeys(people) if p not in seen)
        seen.update(step)
        if step:
            levels.append(step)
    return Chain(tuple(levels))


def escalates(urgency: str) -> bool:
    """Only urgent alerts climb the chain; the others wait for the officer."""
    return urgency == "urgent"


def next_escalation(urgency: str, chain_: Chain, level: int, since: datetime, minutes: int) -> datetime | None:
    """When the step after `level` falls due, counted from `since` (the moment `level` was
    sent); None when the alert does not escalate or the chain ends here."""
    if not escalates(urgency) or not chain_.has_after(level):
        return None
    return since + timedelta(minutes=minutes)


def is_due(escalate_at: datetime | None, now: datetime) -> bool:
    return escalate_at is not None and escalate_at <= now


def escalate_minutes(value: int | None) -> int:
    """A station's setting, or the default."""
    return value if value is not None else DEFAULT_ESCALATE_MINUTES


def check_minutes(text: str) -> tuple[int | None, str | None]:
    text = (text or "").strip()
    if not text.isdecimal() or not MIN_ESCALATE_MINUTES <= int(text) <= MAX_ESCALATE_MINUTES:
        return None, N_("A whole number of minutes from 1 to 240")
    return int(text), None


# --- notifications -----------------------------------------------------------------------------
# Each kind's title, translated when shown (the row keeps the kind, not a text in one language).
NOTIFICATION_KINDS = {
    "alert": N_("Grid alert"),
    "alert_escalated": N_("Grid alert nobody has acknowledged"),
    "alert_on_my_way": N_("On my way: an officer is coming for your alert"),
    "alert_seen": N_("An officer has seen your alert"),
    "alert_closed": N_("Your alert was closed"),
    "observation": N_("Urgent observation from a volunteer"),
    "observation_acknowledged": N_("An officer has seen your observation"),
    "work_order": N_("A work order was assigned to you"),
    "report": N_("A resident report was assigned to you"),
    "report_transferred": N_("A resident report was sent to your agency"),
    "report_returned": N_("An agency returned a resident report"),
    "shift_promoted": N_("You have a place on a patrol shift"),
    "shift_changed": N_("A patrol shift you signed up for changed"),
    "shift_cancelled": N_("A patrol shift you signed up for was cancelled"),
    "attendance_confirmed": N_("The leader confirmed your attendance on a patrol"),
    "work_order_overdue": N_("A work order of yours is overdue"),
    "report_overdue": N_("A resident report you handle is overdue"),
}
MAX_NOTIFICATION_TEXT = 200


def notification_text(text: str) -> str:
    """The subject's words, cut to fit the column."""
    text = " ".join((text or "").split())
    return text if len(text) <= MAX_NOTIFICATION_TEXT else text[: MAX_NOTIFICATION_TEXT - 1] + "…"
