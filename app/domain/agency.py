"""An agency's steps on a routed matter (a report or a call), pure: which step is possible in
which state, what a step's form must hold, where a matter stands against its deadlines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.domain import reports as report_rules
from app.domain import routing as rules
from app.domain.photos import PhotoError, Processed
from app.i18n import N_

# An agency's steps: the agency states each may start from.
ACTIONS = {
    "accept": ("new",),
    "return": ("new", "accepted"),
    "note": ("new", "accepted", "answered"),
    "answer": ("new", "accepted"),
    "transfer": ("new", "accepted"),
}


@dataclass(frozen=True)
class Flags:
    """Where a matter stands against its deadlines at `moment`."""

    accept_overdue: bool
    finish_overdue: bool

    @property
    def overdue(self) -> bool:
        return self.accept_overdue or self.finish_overdue


def flags(report: dict, moment: datetime) -> Flags:
    state = report.get("agency_state")
    accept = state == "new" and report["accept_due"] is not None and moment > report["accept_due"]
    finish = state in ("new", "accepted") and report["finish_due"] is not None and moment > report["finish_due"]
    return Flags(accept, finish)


def check_step(
    action: str, raw: dict, own: int, active: set[int], photo: Processed | PhotoError | None
) -> tuple[dict, dict[str, str]]:
    text = str(raw.get("text", "")).replace("\r\n", "\n").strip()
    if action == "return":
        return rules.check_return(raw)
    errors: dict[str, str] = {}
    if isinstance(photo, PhotoError):
        errors["photo"] = str(photo)
    if action == "note" and not text and isinstance(photo, Processed):
        pass  # a photo says something on its own
    elif action in ("note", "answer", "transfer") and not text:
        errors["text"] = (
            N_("Write the public reply")
            if action == "answer"
            else N_("Write the message")
            if action == "note"
            else N_("Say why, so the next unit knows")
        )
    elif len(text) > report_rules.MAX_REPLY:
        errors["text"] = N_("At most 2,000 characters")
    values: dict = {"text": text}
    if action == "transfer":
        target = str(raw.get("agency", "")).strip()
        if target == str(own):
            errors["agency"] = N_("It is with this agency already: choose another one")
        elif not target.isdecimal() or int(target) not in active:
            errors["agency"] = N_("Choose the agency")
        else:
            values["agency"] = int(target)
    return values, errors


def state_message(state: str) -> str:
    if state == "returned" or state == "":
        return N_("This matter has already been returned: it is no longer with your agency")
    return N_("This step is not possible in the matter's present state")


def state_after(action: str) -> str:
    return {"accept": "accepted", "return": "returned", "answer": "answered", "transfer": "new"}.get(action, "")
