"""Routed 110 calls as the agency's matters: a call whose category has a rule reaches the agency
on import (services/routing.open_routed_calls) and is worked with the same steps as a routed
report — accept, internal note, answer, return, transfer on — with the same deadlines and
flags. What differs: the caller has no page on Qianmo (the answer is for the police), and a
return gives the call back to the police, where it counts in the repeat-call detection again."""

from __future__ import annotations

from datetime import datetime

from app.db import write_transaction
from app.domain import routing as rules
from app.domain.access import Principal
from app.domain.agency import ACTIONS, check_step, flags, state_after, state_message
from app.i18n import N_, gettext
from app.selects import Columns
from app.services import audit, detection, routing
from app.services.auth import now
from app.tables import Agency, Call, CallStep

QUEUE_LIMIT = 200
STEP_LABELS = {
    "routed": N_("Routed to %(agency)s"),
    "agency_accepted": N_("Accepted by %(agency)s"),
    "agency_note": N_("Internal note"),
    "answered": N_("Answered by %(agency)s"),
    "returned": N_("Returned by %(agency)s"),
    "transferred": N_("Transferred to %(agency)s"),
}
STATES = {
    "new": N_("New"),
    "accepted": N_("Accepted"),
    "answered": N_("Answered"),
    "returned": N_("Returned"),
    "": N_("For information"),
}


_COLUMNS = Columns(  # built and compiled once (app.selects)
    Call,
    Call.id,
    Call.call_id,
    Call.received_at,
    Call.category,
    Call.address,
    Call.summary,
    Call.station,
    Call.grid,
    Call.grid.office.as_alias("office"),
    Call.responsible_agency,
    Call.responsible_agency.name.as_alias("agency_name"),
    Call.agency_state,
    Call.routed_at,
    Call.accept_due,
    Call.finish_due,
    Call.agency_accepted_at,
    Call.place.name.as_alias("place_name"),
    Call.grid.name.as_alias("grid_name"),
)


def _select():
    return _COLUMNS.select().where(detection.visible())


def _mine(principal: Principal):
    return Call.responsible_agency.is_in(list(principal.agency_ids) or [-1])


def _decorate(rows: list[dict], moment: datetime) -> list[dict]:
    for row in rows:
        row["flags"] = flags(row, moment)
        row["where"] = row["place_name"] or row["address"]
    return rows


async def queue(principal: Principal, moment: datetime | None = None) -> list[dict]:
    """The agency's calls: open ones first by deadline, then the rest newest first (the
    caller's number is never read)."""
    moment = moment or now()
    open_rows = await (
        _select()
        .where(_mine(principal) & Call.agency_state.is_in(["new", "accepted"]))
        .order_by(Call.finish_due)
        .order_by(Call.id)
        .limit(QUEUE_LIMIT)
    )
    rest = await (
        _select()
        .where(_mine(principal) & Call.agency_state.not_in(["new", "accepted"]))
        .order_by(Call.received_at, ascending=False)
        .limit(QUEUE_LIMIT)
    )
    return _decorate([*open_rows, *rest], moment)


async def overdue(principal: Principal, moment: datetime | None = None) -> list[dict]:
    moment = moment or now()
    rows = await _select().where(_mine(principal) & Call.agency_state.is_in(["new", "accepted"]))
    return [r for r in _decorate(rows, moment) if r["flags"].overdue]


async def counts(principal: Principal, moment: datetime | None = None) -> dict[str, int]:
    """Open calls, and how many of them are overdue (for the tabs)."""
    moment = moment or now()
    rows = await Call.select(Call.agency_state, Call.accept_due, Call.finish_due).where(
        _mine(principal) & Call.agency_state.is_in(["new", "accepted"]) & detection.visible()
    )
    return {"calls": len(rows), "calls_overdue": sum(flags(r, moment).overdue for r in rows)}


_STEP_COLUMNS = Columns(
    CallStep,
    *CallStep.all_columns(),
    CallStep.actor.name.as_alias("actor_name"),
    CallStep.agency.name.as_alias("agency_name"),
)


async def steps(call_ids: list[int]) -> dict[int, list[dict]]:
    """The timelines of these calls (staff only), by call."""
    rows = (
        await _STEP_COLUMNS.select()
        .where(CallStep.call.is_in(call_ids or [-1]))
        .order_by(CallStep.at)
        .order_by(CallStep.id)
    )
    result: dict[int, list[dict]] = {}
    for row in rows:
        result.setdefault(row["call"], []).append(row)
    return result


def step_label(step: dict) -> str:
    return gettext(STEP_LABELS.get(step["kind"], step["kind"]), agency=step.get("agency_name") or "")


async def get(principal: Principal, call_id: int, moment: datetime | None = None) -> dict | None:
    """A call of the principal's agency with its timeline (the agency's own notes only)."""
    row = await _select().where((Call.id == call_id) & _mine(principal)).first()
    if row is None:
        return None
    call = _decorate([row], moment or now())[0]
    routed = {"kind": "routed", "at": call["routed_at"], "agency_name": call["agency_name"], "text": ""}
    timeline = (await steps([call_id])).get(call_id, [])
    call["steps"] = [
        *([routed] if call["routed_at"] else []),
        *[s for s in timeline if s["kind"] != "agency_note" or s["agency"] in principal.agency_ids],
    ]
    call["actions"] = [a for a, states in ACTIONS.items() if call["agency_state"] in states]
    return call


async def act(principal: Principal, call_id: int, action: str, raw: dict) -> dict[str, str] | None:
    """One agency step on a call; {} when done, the errors otherwise, None when not theirs."""
    if action not in ACTIONS:
        return {"form": N_("Unknown action")}
    call = await get(principal, call_id)
    if call is None:
        return None
    own = call["responsible_agency"]
    active = {a["id"] for a in await Agency.select(Agency.id).where(Agency.active.eq(True))}
    values, errors = check_step(action, raw, own, active, None)
    if call["agency_state"] not in ACTIONS[action]:
        errors = {"form": state_message(call["agency_state"])}
    if errors:
        return errors
    moment = now()
    changes, step = await _changes(action, values, call, own, moment)
    async with write_transaction(Call._meta.db):
        current = await Call.select(Call.agency_state, Call.responsible_agency).where(Call.id == call_id).first()
        if current["responsible_agency"] != own or current["agency_state"] not in ACTIONS[action]:
            return {"form": state_message(current["agency_state"])}  # someone moved it meanwhile
        if changes:  # a note changes nothing on the call itself
            await Call.update(changes).where(Call.id == call_id)
        await CallStep.insert(CallStep(call=call_id, actor=principal.id, **step))
        await audit.record(
            audit.actor_of(principal),
            f"agency_{action}",
            "call",
            call_id,
            {
                "agency_state": [current["agency_state"], state_after(action)],
                "agency": [own, values.get("agency") or (None if action == "return" else own)],
            },
        )
    return {}


async def _changes(action: str, values: dict, call: dict, own: int, moment: datetime) -> tuple[dict, dict]:
    """(the call's changes, the timeline step) for an agency step."""
    if action == "accept":
        return {Call.agency_state: "accepted", Call.agency_accepted_at: moment}, {
            "kind": "agency_accepted",
            "agency": own,
        }
    if action == "note":
        return {}, {"kind": "agency_note", "agency": own, "text": values["text"]}
    if action == "answer":
        return {Call.agency_state: "answered"}, {"kind": "answered", "agency": own, "text": values["text"]}
    if action == "return":
        reason = gettext(rules.RETURN_REASONS[values["reason"]])
        back = {
            Call.agency_state: "returned",
            Call.responsible_agency: None,
            Call.non_police: False,  # the police's again: it counts in the detection
            Call.accept_due: None,
            Call.finish_due: None,
            Call.returns: Call.returns + 1,
        }
        return back, {"kind": "returned", "agency": own, "text": f"{reason}: {values['text']}"}
    target = values["agency"]
    found = await routing.rule_for("call", call["category"], call["station"], call["office"], call["grid"])
    rule = found if found and found["agency"] == target else None
    accept_due, finish_due = await routing.deadlines(rule, moment)
    on = {
        Call.responsible_agency: target,
        Call.routing_rule: rule["id"] if rule else None,
        Call.agency_state: "new",
        Call.routed_at: moment,
        Call.accept_due: accept_due,
        Call.finish_due: finish_due,
        Call.agency_accepted_at: None,
        Call.escalated_at: None,
        Call.returns: Call.returns + 1,
    }
    return on, {"kind": "transferred", "agency": target, "text": values["text"]}


async def for_orders(call_filter, limit: int = 50) -> list[dict]:
    """Routed calls (with an agency now or returned by one) matching `call_filter`, with their
    steps: what the police see of the agencies' handling beside a work order."""
    rows = await (
        _select()
        .where(call_filter & (Call.responsible_agency.is_not_null() | (Call.agency_state == "returned")))
        .order_by(Call.received_at, ascending=False)
        .limit(limit)
    )
    timelines = await steps([r["id"] for r in rows])
    moment = now()
    for row in _decorate(rows, moment):
        row["steps"] = timelines.get(row["id"], [])
    return rows
