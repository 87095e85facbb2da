"""Work orders (警单) and the six-step closed loop: 交办 → 核查 → 处置 → 反馈 → 评价 → 问效.
Pure: which step may follow which, who may take it, and when each step is due.

The state is the last step done. "Unsatisfied" at 评价 sends the order back to 处置 (state
`verified`: handling is due again); "reopen" at 问效 sends it back to 核查 (`assigned`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from app.i18n import N_

STATES = {
    "assigned": N_("Assigned (交办)"),
    "verified": N_("Verified (核查)"),
    "handled": N_("Handled (处置)"),
    "fed_back": N_("Fed back (反馈)"),
    "evaluated": N_("Evaluated (评价)"),
    "closed": N_("Closed (问效)"),
}
OPEN_STATES = ("assigned", "verified", "handled", "fed_back", "evaluated")
# The step due in each state, its label, and how long it may take.
NEXT_STEP = {
    "assigned": ("verify", N_("Verify on the spot"), timedelta(days=2)),
    "verified": ("handle", N_("Handle"), timedelta(days=7)),
    "handled": ("feed_back", N_("Tell the caller / residents"), timedelta(days=3)),
    "fed_back": ("evaluate", N_("Evaluate"), timedelta(days=3)),
    "evaluated": ("review", N_("Review the effect"), timedelta(days=30)),
}
REVIEW_PERIOD = timedelta(days=30)


@dataclass(frozen=True)
class Step:
    name: str
    from_states: tuple[str, ...]
    to_state: str
    roles: tuple[str, ...]  # who may take it ("assignee" = the order's assignee)
    label: str


STEPS = {
    "verify": Step("verify", ("assigned",), "verified", ("assignee",), N_("Facts found on the spot")),
    "handle": Step("handle", ("verified",), "handled", ("assignee",), N_("Actions taken")),
    "feed_back": Step(
        "feed_back", ("handled",), "fed_back", ("assignee",), N_("What the caller or residents were told")
    ),
    "evaluate": Step("evaluate", ("fed_back",), "evaluated", ("supervisor",), N_("Evaluation")),
    "unsatisfied": Step("unsatisfied", ("fed_back",), "verified", ("supervisor",), N_("Why it is not satisfactory")),
    "close": Step("close", ("evaluated",), "closed", ("analyst", "supervisor"), N_("Review")),
    "reopen": Step("reopen", ("evaluated",), "assigned", ("analyst", "supervisor"), N_("Why it is reopened")),
    "reassign": Step("reassign", OPEN_STATES, "", ("analyst", "supervisor"), N_("Reason for reassigning")),
}


# What a step's button says: an action ("Reopen"), never the state it leads to ("Reopened"),
# which reads as already done.
STEP_ACTIONS = {
    "verify": N_("Record the check"),
    "handle": N_("Record the handling"),
    "feed_back": N_("Record the feedback"),
    "evaluate": N_("Satisfied"),
    "unsatisfied": N_("Not satisfied: back to handling"),
    "close": N_("Close after review"),
    "reopen": N_("Reopen"),
    "split": N_("Split into orders per grid"),
}

# The step as a line of the timeline.
STEP_TITLES = {
    "create": N_("Assigned"),
    "attach": N_("More calls attached"),
    "verify": N_("Verified"),
    "handle": N_("Handled"),
    "feed_back": N_("Fed back"),
    "evaluate": N_("Satisfied"),
    "unsatisfied": N_("Not satisfied: back to handling"),
    "close": N_("Closed after review"),
    "reopen": N_("Reopened"),
    "reassign": N_("Reassigned"),
    "split": N_("Split into orders per grid"),
}


def allowed(step: str, state: str, roles: frozenset[str], is_assignee: bool) -> str | None:
    """None when the step may be taken, else why not (a message id)."""
    rule = STEPS.get(step)
    if rule is None:
        return N_("Unknown step")
    if state not in rule.from_states:
        return N_("This step does not follow the order's current state")
    if ("assignee" in rule.roles and is_assignee) or roles.intersection(rule.roles):
        return None
    return N_("Your role cannot take this step")


def next_state(step: str, state: str) -> str:
    return STEPS[step].to_state or state


def deadline(state: str, since: datetime) -> datetime | None:
    """When the step due in `state` must be done (None once closed)."""
    due = NEXT_STEP.get(state)
    return since + due[2] if due else None


def review_ready(handled_at: datetime | None, now: datetime, period: timedelta = REVIEW_PERIOD) -> bool:
    """问效 looks at the calls since handling: only after the review period."""
    return handled_at is not None and now - handled_at >= period


def review_from(handled_at: datetime | None, period: timedelta = REVIEW_PERIOD) -> datetime | None:
    """When 问效 (close or reopen) may be done: the review period after handling."""
    return handled_at + period if handled_at is not None else None


# Words in a call's summary that put its order first on the officer's day: a life at risk.
SELF_HARM_WORDS = (
    "自杀",
    "轻生",
    "跳楼",
    "跳河",
    "割腕",
    "寻死",
    "不想活",
    "服毒",
    "喝药",
    "自残",
    "suicide",
    "self-harm",
)


def at_risk(summaries: list[str]) -> bool:
    text = " ".join(summaries).lower()
    return any(word in text for word in SELF_HARM_WORDS)


def urgency(overdue: bool, urgent: bool, created_at: datetime) -> tuple:
    """My day's order: overdue first, then a life at risk (self-harm words in the calls),
    then the oldest."""
    return (not overdue, not urgent, created_at)


def overdue(state: str, due_at: datetime | None, now: datetime) -> bool:
    return state in OPEN_STATES and due_at is not None and now > due_at


def median_step_hours(timelines: list[list[tuple[str, datetime]]]) -> dict[str, float]:
    """Median hours each loop step took (from the step before it), over many orders' timelines
    of (step, time) in order."""
    spans: dict[str, list[float]] = {}
    for timeline in timelines:
        for (_prev, before), (step, at) in zip(timeline, timeline[1:]):
            if step in NEXT_STEP_NAMES:
                spans.setdefault(step, []).append((at - before).total_seconds() / 3600)
    return {step: _median(values) for step, values in spans.items()}


NEXT_STEP_NAMES = ("verify", "handle", "feed_back", "evaluate", "close")


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return round(ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2, 1)
