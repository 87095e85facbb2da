"""Work orders: made by detection (or by hand for complex disputes), walked through the six
steps, listed for officers, supervisors and analysts, and read by the API."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from piccolo.columns.combination import Combinable

from app import metrics
from app.db import Prepared, after_bulk_write, write_transaction
from app.domain import calls as call_rules
from app.domain import orders as rules
from app.domain import phone as phones
from app.domain.access import Principal
from app.i18n import N_, too_long
from app.selects import Columns
from app.services import agency_calls, audit, detection, notifications, paging, scope
from app.services.auth import now
from app.tables import (
    Call,
    FieldLog,
    FieldLogLink,
    Grid,
    PersonRole,
    Place,
    WorkOrder,
    WorkOrderCall,
    WorkOrderStep,
)

IN_CHUNK = 500
LINK_CHUNK = 1000  # call ids per lookup of the orders holding them
# Detection looks back this far from the newest call: three of the rules' 30-day windows.
DETECTION_HORIZON = timedelta(days=90)
# Routed calls shown beside an order: from this long before its first call.
ROUTED_BEFORE = timedelta(days=30)
# A first detection over a district's history makes thousands of orders at once.
BULK_ORDERS = 1000


@dataclass
class Detection:
    created: int = 0
    attached: int = 0
    flags: int = 0
    order_ids: list[int] = field(default_factory=list)


# --- detection -------------------------------------------------------------------------------


@metrics.timed(metrics.DETECTION_SECONDS)
async def detect(
    actor: audit.Actor,
    stations: set[int] | None = None,
    batch: int | None = None,
    horizon: timedelta = DETECTION_HORIZON,
    recent_days: float = call_rules.RECENT_DAYS,
) -> Detection:
    """Run the three rules over the calls of the `horizon` before the newest call: all keys (on
    demand), or the keys an import touched (`batch`). Older patterns are history (rankings,
    place pages). Flags become work orders, or join the open order of the same rule and key,
    only when their newest call lies within `recent_days` of the station's newest call."""
    as_of = await detection.newest(batch)
    if as_of is None:
        return Detection()
    since = as_of - horizon
    flags: list[call_rules.Flag] = []
    grids: dict[int, int] = {}
    for found, found_grids in (
        await detection.repeats("repeat_caller", stations, batch, since),
        await detection.repeats("repeat_place", stations, batch, since),
        await detection.surges(stations, as_of),
    ):
        flags += found
        grids.update(found_grids)
    result = Detection(flags=len(flags))
    flags = await _recent(flags, stations, recent_days)
    if flags:
        async with write_transaction(WorkOrder._meta.db):
            await _orders_from(flags, grids, actor, result)
    if result.created >= BULK_ORDERS:
        await after_bulk_write(WorkOrder, WorkOrderCall)
    return result


def _window(setting_for, flag: call_rules.Flag) -> int:
    return setting_for(flag.station, call_rules.setting_category(flag.rule, flag.key), flag.rule).window_days


async def _recent(flags: list[call_rules.Flag], stations: set[int] | None, recent_days: float) -> list[call_rules.Flag]:
    """The flags that are today's work, each with only its calls that can be (the rest is
    history: call_rules.recent_calls)."""
    newest = await detection.newest_by_station(stations)
    setting_for = await detection.setting_lookup()
    kept = []
    for flag in flags:
        ids = call_rules.recent_calls(flag, newest.get(flag.station), recent_days, _window(setting_for, flag))
        if ids:
            kept.append(
                call_rules.Flag(
                    flag.rule, flag.key, flag.station, ids, {cid: flag.times[cid] for cid in ids if cid in flag.times}
                )
            )
    return kept


async def _orders_from(
    flags: list[call_rules.Flag], grids: dict[int, int], actor: audit.Actor, result: Detection
) -> None:
    """Only the calls no order of the same rule and key holds yet: into the open order of that
    rule and key, or into a new one. New orders are written together: a first detection over
    years of calls makes thousands."""
    open_by_key, attached = await _orders_of(
        {(f.rule, f.key) for f in flags}, [cid for f in flags for cid in f.call_ids]
    )
    starts = await _order_starts(flags, open_by_key)
    to_create: list[tuple[call_rules.Flag, list[int]]] = []
    to_attach: list[tuple[int, list[int]]] = []
    for flag in flags:
        key = (flag.rule, flag.key)
        new_ids = [cid for cid in flag.call_ids if cid not in attached[key]]
        if key in open_by_key:  # an open order takes no call from before its own time
            start = starts[open_by_key[key]]
            new_ids = [cid for cid in new_ids if cid not in flag.times or flag.times[cid] >= start]
        if not new_ids:
            continue
        if key in open_by_key:
            to_attach.append((open_by_key[key], new_ids))
            result.attached += len(new_ids)
        else:
            to_create.append((flag, new_ids))
        attached[key].update(new_ids)
    for i in range(0, len(to_attach), BATCH):
        await _attach_many(to_attach[i : i + BATCH], actor)
    for i in range(0, len(to_create), BATCH):
        result.order_ids += await _create_many(to_create[i : i + BATCH], grids, actor)
    result.created = len(result.order_ids)


BATCH = 500  # new orders per statement


async def _order_starts(flags: list[call_rules.Flag], open_by_key: dict[tuple, int]) -> dict[int, datetime]:
    """Open order -> the oldest call it may take (call_rules.order_start)."""
    setting_for = await detection.setting_lookup()
    windows = {open_by_key[(f.rule, f.key)]: _window(setting_for, f) for f in flags if (f.rule, f.key) in open_by_key}
    starts = {}
    ids = sorted(windows)
    for i in range(0, len(ids), IN_CHUNK):
        chunk = ids[i : i + IN_CHUNK]
        created = {
            o["id"]: o["created_at"]
            for o in await WorkOrder.select(WorkOrder.id, WorkOrder.created_at).where(WorkOrder.id.is_in(chunk))
        }
        held = {
            r["order"]: detection.as_datetime(r["newest"])
            for r in await WorkOrderCall.raw(
                'SELECT work_order_call."order" AS "order", MAX(call.received_at) AS newest FROM work_order_call '
                "JOIN call ON call.id = work_order_call.call WHERE "
                + detection.in_list('work_order_call."order"', chunk)
                + ' GROUP BY work_order_call."order"'
            )
            if r["newest"] is not None
        }
        for order_id in chunk:
            starts[order_id] = call_rules.order_start(created[order_id], held.get(order_id), windows[order_id])
    return starts


async def _create_many(
    batch: list[tuple[call_rules.Flag, list[int]]], grids: dict[int, int], actor: audit.Actor
) -> list[int]:
    officers = await _responsible_officers()
    places = await _place_names([f for f, _ids in batch])
    setting_for = await detection.setting_lookup()
    moment = now()
    orders = []
    for flag, call_ids in batch:
        grid = _most_common([grids.get(cid) for cid in call_ids])
        place = _place_of(flag) if flag.rule == "repeat_place" else None
        title = _title(flag, places, len(call_ids), _window(setting_for, flag))
        if flag.rule == "category_surge":  # the station's matter: the analysts' and supervisors' queue
            grid = None
        orders.append(
            WorkOrder(
                rule=flag.rule,
                rule_key=flag.key[:240],
                title=title[:200],
                station=flag.station,
                grid=grid,
                place=place,
                assignee=officers.get(grid) if grid else None,
                state="assigned",
                due_at=rules.deadline("assigned", moment),
            )
        )
    rows = await WorkOrder.insert(*orders).returning(WorkOrder.id, WorkOrder.rule, WorkOrder.rule_key)
    # Matched by rule and key (unique within a run), not by the order rows come back in.
    ids = {(r["rule"], r["rule_key"]): r["id"] for r in rows}
    links, steps, events = [], [], []
    for flag, call_ids in batch:
        order_id = ids[(flag.rule, flag.key[:240])]
        links += [(order_id, cid) for cid in call_ids]
        steps.append(
            WorkOrderStep(
                order=order_id, step="create", to_state="assigned", actor_role=actor.role[:40], note=str(len(call_ids))
            )
        )
        events.append((order_id, {"rule": [None, flag.rule], "calls": [None, len(call_ids)]}))
    await _link(links)
    await WorkOrderStep.insert(*steps)
    await audit.record_many(actor, "create", "work_order", events)
    return [order_id for order_id, _changes in events]


async def _place_names(flags: list[call_rules.Flag]) -> dict[int, str]:
    ids = sorted({place for f in flags if f.rule == "repeat_place" and (place := _place_of(f))})
    if not ids:
        return {}
    return {r["id"]: r["name"] for r in await Place.select(Place.id, Place.name).where(Place.id.is_in(ids))}


async def _orders_of(keys: set[tuple[str, str]], call_ids: list[int]) -> tuple[dict[tuple, int], dict[tuple, set[int]]]:
    """For these (rule, key) pairs: the open order's id, and which of these calls their orders
    hold already (looked up by call: a key's orders hold more calls every month)."""
    open_by_key: dict[tuple, int] = {}
    attached: dict[tuple, set[int]] = defaultdict(set)
    values = sorted({k for _rule, k in keys})
    for i in range(0, len(values), IN_CHUNK):
        for o in await WorkOrder.select(WorkOrder.id, WorkOrder.rule, WorkOrder.rule_key).where(
            WorkOrder.rule_key.is_in(values[i : i + IN_CHUNK]) & WorkOrder.state.is_in(list(rules.OPEN_STATES))
        ):
            open_by_key[(o["rule"], o["rule_key"])] = o["id"]
    ids = sorted(set(call_ids))
    for i in range(0, len(ids), LINK_CHUNK):
        for link in await WorkOrderCall.select(
            WorkOrderCall.call,
            WorkOrderCall.order.rule.as_alias("rule"),
            WorkOrderCall.order.rule_key.as_alias("rule_key"),
        ).where(WorkOrderCall.call.is_in(ids[i : i + LINK_CHUNK])):
            attached[(link["rule"], link["rule_key"])].add(link["call"])
    return open_by_key, attached


def _most_common(values: list) -> int | None:
    counts: dict = defaultdict(int)
    for v in values:
        if v:
            counts[v] += 1
    return max(counts, key=counts.get) if counts else None


async def _responsible_officers() -> dict[int, int | None]:
    """grid -> the community officer responsible: held for the grid, else for its office,
    else for its station (the lowest id when several)."""
    grids = await Grid.select(Grid.id, Grid.office, Grid.office.station.as_alias("station"))
    holders = (
        await PersonRole.select(PersonRole.person, PersonRole.grid, PersonRole.office, PersonRole.station)
        .where((PersonRole.role == "officer") & PersonRole.person.active.eq(True))
        .order_by(PersonRole.person)
    )
    by: dict[str, dict[int, int]] = {"grid": {}, "office": {}, "station": {}}
    for h in holders:
        for unit in by:
            if h[unit]:
                by[unit].setdefault(h[unit], h["person"])
    return {
        g["id"]: by["grid"].get(g["id"]) or by["office"].get(g["office"]) or by["station"].get(g["station"])
        for g in grids
    }


def _place_of(flag: call_rules.Flag) -> int | None:
    base, _family = call_rules.split_place_key(flag.key)
    kind, _sep, rest = base.partition(":")
    return int(rest) if kind == "place" and rest.isdecimal() else None


def _title(flag: call_rules.Flag, places: dict[int, str], calls: int, window_days: int) -> str:
    """The order's title, in Chinese like the 110 records it comes from: 一地多起 马赛公馆：30天内
    盗窃5起."""
    if flag.rule == "repeat_caller":
        return f"一人多次 {phones.mask(flag.key)}"
    if flag.rule == "repeat_place":
        base, family = call_rules.split_place_key(flag.key)
        kind, _sep, rest = base.partition(":")
        name = places.get(int(rest), base) if kind == "place" else rest
        if not family:
            return f"一地多起 {name}"
        return f"一地多起 {name}：{window_days}天内{call_rules.FAMILY_TITLES[family]}{calls}起"
    return f"一类多发 {flag.key.partition(':')[2]}"


async def _attach_many(items: list[tuple[int, list[int]]], actor: audit.Actor) -> None:
    """Calls into open orders, with one step and one audit row per order: a day's import adds
    to hundreds of orders, so each kind of row goes in one statement."""
    await _link([(order_id, cid) for order_id, call_ids in items for cid in call_ids])
    await WorkOrderStep.insert(
        *[
            WorkOrderStep(order=order_id, step="attach", actor_role=actor.role[:40], note=str(len(call_ids)))
            for order_id, call_ids in items
        ]
    )
    await audit.record_many(
        actor,
        "attach_calls",
        "work_order",
        [(order_id, {"calls": [None, len(call_ids)]}) for order_id, call_ids in items],
    )


LINK_ROWS = 2000  # per statement: SQLite takes at most 32,766 values in one


async def _link(links: list[tuple[int, int]]) -> None:
    """(order, call) rows written as plain multi-row inserts: a Table object per row made a
    full detection spend its time in Python."""
    for i in range(0, len(links), LINK_ROWS):
        part = links[i : i + LINK_ROWS]
        await WorkOrderCall.raw(
            'INSERT INTO work_order_call ("order", call) VALUES ' + ", ".join(["({}, {})"] * len(part)),
            *[v for link in part for v in link],
        )


# --- by hand ---------------------------------------------------------------------------------


async def create_manual(principal: Principal, data: dict[str, str], grid_choices: set[int]) -> tuple[int | None, dict]:
    """A complex dispute entered by hand by an analyst or supervisor."""
    errors: dict[str, str] = {}
    title, instructions = data.get("title", "").strip(), data.get("instructions", "").strip()
    if not title:
        errors["title"] = N_("Required")
    elif len(title) > 200:
        errors["title"] = too_long(200)
    if len(instructions) > 2000:
        errors["instructions"] = too_long(2000)
    grid = int(data["grid"]) if data.get("grid", "").isdecimal() else None
    if grid not in grid_choices:
        errors["grid"] = N_("Choose a grid")
    if errors:
        return None, errors
    station = (await Grid.select(Grid.office.station.as_alias("station")).where(Grid.id == grid).first())["station"]
    assignee, error = await _chosen_assignee(principal, data.get("assignee", ""), {"grid": grid, "station": station})
    if error:
        return None, {"assignee": error}
    officers = await _responsible_officers()
    moment = now()
    async with write_transaction(WorkOrder._meta.db):
        rows = await WorkOrder.insert(
            WorkOrder(
                rule="manual",
                rule_key=f"manual:{moment.timestamp():.0f}",
                title=title,
                instructions=instructions,
                station=station,
                grid=grid,
                assignee=assignee or officers.get(grid),
                state="assigned",
                due_at=rules.deadline("assigned", moment),
            )
        ).returning(WorkOrder.id)
        order_id = rows[0]["id"]
        await WorkOrderStep.insert(
            WorkOrderStep(
                order=order_id,
                step="create",
                to_state="assigned",
                actor=principal.id,
                actor_role=principal.role_label[:40],
                note=instructions,
            )
        )
        await audit.record(audit.actor_of(principal), "create", "work_order", order_id, {"rule": [None, "manual"]})
        await _tell_assignee(principal, assignee or officers.get(grid), order_id, title)
    return order_id, {}


async def _tell_assignee(principal: Principal, assignee: int | None, order_id: int, title: str) -> None:
    """Inside the transaction: the person a work order was given to hears of it (not when they
    gave it to themselves)."""
    if assignee and assignee != principal.id:
        await notifications.add(
            [notifications.New(person=assignee, kind="work_order", text=title, url=f"/orders/{order_id}")]
        )


# --- the loop --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    """Why a step was not taken (a message id) and the form field it is about, if one."""

    message: str
    field: str = ""


NOT_FOUND = Refusal(N_("Not found"))


async def take_step(
    principal: Principal,
    order_id: int,
    step: str,
    note: str,
    assignee: str = "",
    review_period: timedelta = rules.REVIEW_PERIOD,
) -> Refusal | None:
    """Take one step of the loop; None when done. `assignee` (reassign) is the form's text: one
    of assignee_choices for the order, or a refusal about that field."""
    order = await get(principal, order_id)
    if order is None:
        return NOT_FOUND
    refusal = await _step_refusal(principal, order, step, note.strip(), review_period)
    if refusal:
        return refusal
    person = None
    if step == "reassign":
        person, error = await _chosen_assignee(principal, assignee, order, required=True)
        if error:
            return Refusal(error, "assignee")
    await _apply(principal, order, step, note.strip(), person)
    return None


async def _step_refusal(
    principal: Principal, order: dict, step: str, note: str, review_period: timedelta
) -> Refusal | None:
    refusal = rules.allowed(step, order["state"], principal.roles, order["assignee"] == principal.id)
    if refusal:
        return Refusal(refusal)
    if not note and step not in ("evaluate", "close"):
        return Refusal(N_("Write what was done (a sentence is enough)"), "note")
    if len(note) > 2000:
        return Refusal(too_long(2000), "note")
    if step in ("close", "reopen") and not rules.review_ready(order["handled_at"], now(), review_period):
        return Refusal(N_("The review is due after the review period since handling"))
    return None


async def _chosen_assignee(
    principal: Principal, text: str, order: dict, required: bool = False
) -> tuple[int | None, str | None]:
    """(person id, None) when the text names one of the order's assignee choices; (None, None)
    when left empty and not required; else (None, why)."""
    text = (text or "").strip()
    if not text:
        return None, N_("Choose who takes the order over") if required else None
    choices = {person for person, _name in await assignee_choices(principal, order)}
    if not text.isdecimal() or int(text) not in choices:
        return None, N_("Choose someone from the list: an officer or grid worker of the order's grid")
    return int(text), None


async def _apply(principal: Principal, order: dict, step: str, note: str, assignee: int | None) -> None:
    moment = now()
    to_state = rules.next_state(step, order["state"])
    values: dict = {
        WorkOrder.state: to_state,
        WorkOrder.updated_at: moment,
        WorkOrder.due_at: rules.deadline(to_state, moment),
    }
    if step == "handle":
        values[WorkOrder.handled_at] = moment
    if step == "close":
        values[WorkOrder.closed_at] = moment
    if step == "reassign":
        values = {WorkOrder.assignee: assignee, WorkOrder.updated_at: moment}
    async with write_transaction(WorkOrder._meta.db):
        await WorkOrder.update(values).where(WorkOrder.id == order["id"])
        await WorkOrderStep.insert(
            WorkOrderStep(
                order=order["id"],
                step=step,
                from_state=order["state"],
                to_state=to_state,
                actor=principal.id,
                actor_role=principal.role_label[:40],
                note=note,
            )
        )
        await audit.record(
            audit.actor_of(principal),
            step,
            "work_order",
            order["id"],
            {"state": [order["state"], to_state]}
            if step != "reassign"
            else {"assignee": [order["assignee"], assignee]},
        )
        if step == "reassign":
            await _tell_assignee(principal, assignee, order["id"], order["title"])
    return None


async def bulk_assign(
    principal: Principal, order_ids: list[int], assignee: str, reason: str
) -> tuple[int, dict[str, str]]:
    """Reassign several orders at once: all of them, or none when the assignee is not a choice
    for every one of them (or the reason is missing). (How many, errors by field.)"""
    errors: dict[str, str] = {}
    reason = reason.strip()
    orders = [o for o in [await get(principal, i) for i in dict.fromkeys(order_ids)] if o is not None]
    orders = [o for o in orders if rules.allowed("reassign", o["state"], principal.roles, False) is None]
    if not orders:
        errors["order"] = N_("Select at least one open order")
    if not reason:
        errors["reason"] = N_("Required")
    elif len(reason) > 500:
        errors["reason"] = too_long(500)
    person = None
    for order in orders:
        person, error = await _chosen_assignee(principal, assignee, order, required=True)
        if error:
            errors["assignee"] = error
            break
    if not orders and not assignee.strip():
        errors["assignee"] = N_("Choose who takes the order over")
    if errors:
        return 0, errors
    async with write_transaction(WorkOrder._meta.db):
        for order in orders:
            await _apply(principal, order, "reassign", reason, person)
    return len(orders), {}


# --- reading ---------------------------------------------------------------------------------


_COLUMNS = Columns(  # built and compiled once, as fieldwork's: walking a foreign key copies columns
    WorkOrder,
    *WorkOrder.all_columns(),
    WorkOrder.assignee.name.as_alias("assignee_name"),
    WorkOrder.grid.name.as_alias("grid_name"),
    WorkOrder.place.name.as_alias("place_name"),
)


_STEP_COLUMNS = Columns(WorkOrderStep, *WorkOrderStep.all_columns(), WorkOrderStep.actor.name.as_alias("actor_name"))
_LINKED_LOG_COLUMNS = Columns(
    FieldLog,
    FieldLog.id,
    FieldLog.kind,
    FieldLog.occurred_at,
    FieldLog.outcome,
    FieldLog.author.name.as_alias("author_name"),
)


def _select():
    return _COLUMNS.select()


async def _visible(principal: Principal, query):
    """Analysts and supervisors: their station's orders; officers and grid workers: their
    own and their grids'; admins: all."""
    if principal.has("admin"):
        return query
    if principal.has("analyst", "supervisor"):
        return query.where(WorkOrder.station.is_in(list(await scope.station_ids(principal)) or [-1]))
    grids = await scope.grid_ids(principal) or set()
    return query.where((WorkOrder.assignee == principal.id) | WorkOrder.grid.is_in(list(grids) or [-1]))


async def get(principal: Principal, order_id: int) -> dict | None:
    order = await (await _visible(principal, _select().where(WorkOrder.id == order_id))).first()
    if order is None:
        return None
    order["steps"] = await _STEP_COLUMNS.select().where(WorkOrderStep.order == order_id).order_by(WorkOrderStep.id)
    links = await WorkOrderCall.select(WorkOrderCall.call).where(WorkOrderCall.order == order_id)
    ids = [link["call"] for link in links] or [-1]
    order["calls"] = await Call.select().where(Call.id.is_in(ids)).order_by(Call.received_at)
    order["call_ids"] = [c["id"] for c in order["calls"]]
    order["overdue"] = rules.overdue(order["state"], order["due_at"], now())
    order["since_handling"] = await _calls_since(order) if order["handled_at"] else []
    order["field_logs"] = await _linked_logs(order)
    order["routed_calls"] = await _routed_calls(order)
    order["grids_touched"] = await _grids_touched(order["calls"]) if order["rule"] == "category_surge" else []
    return order


async def _grids_touched(calls: list[dict]) -> list[dict]:
    """A surge's grids, most calls first: {"id", "name", "calls"}."""
    counts: dict[int, int] = defaultdict(int)
    for c in calls:
        if c["grid"]:
            counts[c["grid"]] += 1
    names = {
        g["id"]: g["name"] for g in await Grid.select(Grid.id, Grid.name).where(Grid.id.is_in(list(counts) or [-1]))
    }
    return [{"id": g, "name": names.get(g, ""), "calls": n} for g, n in sorted(counts.items(), key=lambda kv: -kv[1])]


GRID_PART = "@grid:"  # a surge's per-grid order: its key is the surge's and this


async def split_by_grid(principal: Principal, order_id: int) -> int | None:
    """An open surge order split into one order per grid it touches, each with that grid's
    calls, for the grid's officer; the surge stays open with the station. Calls already in a
    grid's order are not added twice. None when not allowed; else the orders made or added to."""
    order = await get(principal, order_id)
    if (
        order is None
        or order["rule"] != "category_surge"
        or GRID_PART in order["rule_key"]
        or order["state"] not in rules.OPEN_STATES
        or not principal.has("analyst", "supervisor")
    ):
        return None
    by_grid: dict[int, list[int]] = defaultdict(list)
    for c in order["calls"]:
        if c["grid"]:
            by_grid[c["grid"]].append(c["id"])
    if not by_grid:
        return 0
    officers, names = await _responsible_officers(), {g["id"]: g["name"] for g in order["grids_touched"]}
    actor, moment, touched = audit.actor_of(principal), now(), 0
    async with write_transaction(WorkOrder._meta.db):
        for grid, call_ids in sorted(by_grid.items()):
            key = f"{order['rule_key']}{GRID_PART}{grid}"[:240]
            existing = (
                await WorkOrder.select(WorkOrder.id)
                .where((WorkOrder.rule_key == key) & WorkOrder.state.is_in(list(rules.OPEN_STATES)))
                .first()
            )
            if existing:
                held = {
                    r["call"]
                    for r in await WorkOrderCall.select(WorkOrderCall.call).where(WorkOrderCall.order == existing["id"])
                }
                new = [cid for cid in call_ids if cid not in held]
                if new:
                    await _attach_many([(existing["id"], new)], actor)
                    touched += 1
                continue
            rows = await WorkOrder.insert(
                WorkOrder(
                    rule="category_surge",
                    rule_key=key,
                    title=f"{order['title']} · {names.get(grid, '')}"[:200],
                    station=order["station"],
                    grid=grid,
                    assignee=officers.get(grid),
                    state="assigned",
                    due_at=rules.deadline("assigned", moment),
                )
            ).returning(WorkOrder.id)
            await _link([(rows[0]["id"], cid) for cid in call_ids])
            await WorkOrderStep.insert(
                WorkOrderStep(
                    order=rows[0]["id"],
                    step="create",
                    to_state="assigned",
                    actor=principal.id,
                    actor_role=principal.role_label[:40],
                    note=str(len(call_ids)),
                )
            )
            await audit.record(
                actor,
                "create",
                "work_order",
                rows[0]["id"],
                {"rule": [None, "category_surge"], "split_from": [None, order_id]},
            )
            touched += 1
        await WorkOrderStep.insert(
            WorkOrderStep(
                order=order_id,
                step="split",
                actor=principal.id,
                actor_role=principal.role_label[:40],
                note=str(len(by_grid)),
            )
        )
        await audit.record(actor, "split", "work_order", order_id, {"grids": [None, len(by_grid)]})
    return touched


REVEALERS = ("officer", "grid_worker", "supervisor")


def may_reveal_caller(principal: Principal, order: dict) -> bool:
    """一人多次: the officer calls the caller back. The assignee and supervisors may see the
    number (as with a resident report's call-back number)."""
    return order["rule"] == "repeat_caller" and (order["assignee"] == principal.id or principal.has("supervisor"))


async def reveal_caller(principal: Principal, order_id: int) -> str | None:
    """The caller's full number, to those who may call back; every view is audited."""
    order = await (await _visible(principal, _select().where(WorkOrder.id == order_id))).first()
    if order is None or not may_reveal_caller(principal, order):
        return None
    async with write_transaction(WorkOrder._meta.db):
        await audit.record(
            audit.actor_of(principal), "view_personal_data", "work_order", order_id, {"caller_phone": [None, "shown"]}
        )
    return order["rule_key"]


async def _linked_logs(order: dict) -> list[dict]:
    """Mediations and contacts that name one of the order's calls (or the order itself)."""
    refs = [c["call_id"] for c in order["calls"]]
    condition: Combinable = (FieldLogLink.target_type == "work_order") & (FieldLogLink.target_ref == str(order["id"]))
    if refs:
        condition = condition | ((FieldLogLink.target_type == "call") & FieldLogLink.target_ref.is_in(refs))
    links = await FieldLogLink.select(FieldLogLink.log).where(condition)
    ids = sorted({link["log"] for link in links}) or [-1]
    return (
        await _LINKED_LOG_COLUMNS.select()
        .where(FieldLog.id.is_in(ids) & FieldLog.voided_at.is_null())
        .order_by(FieldLog.occurred_at)
    )


def _same_key(order: dict):
    """The condition on calls that share the order's key (its caller, place, address or the
    category of a surge), and the category family of a place key; (None, "") for none."""
    key, family = order["rule_key"], ""
    if order["rule"] == "repeat_place":
        key, family = call_rules.split_place_key(key)
    if order["rule"] == "repeat_caller":
        return Call.caller_key == key, family
    if order["rule"] == "repeat_place" and key.startswith("place:"):
        return Call.place == int(key.split(":", 1)[1]), family
    if order["rule"] == "repeat_place":
        return Call.address_key == key.split(":", 1)[1], family
    if order["rule"] == "category_surge":
        station, _sep, category = key.partition(GRID_PART)[0].partition(":")
        return (Call.category == category) & (Call.station == int(station or 0)), family
    if order["place"]:
        return Call.place == order["place"], family
    return None, family


async def _calls_since(order: dict) -> list[dict]:
    """问效: the calls of the same key since the order was handled."""
    condition, family = _same_key(order)
    if condition is None:
        return []
    found = await (
        Call.select(Call.id, Call.call_id, Call.received_at, Call.category, Call.address)
        .where((Call.received_at > order["handled_at"]) & detection.visible() & condition)
        .order_by(Call.received_at)
    )
    if not family:
        return found
    mapped = await detection.families()
    return [c for c in found if call_rules.family_of(c["category"], mapped) == family]


async def _routed_calls(order: dict) -> list[dict]:
    """The agencies' handling of calls at the order's place (or by its caller) routed to them:
    a noisy shop's calls went to 城管 while the police worked the fights."""
    if order["rule"] == "category_surge":
        return []  # a station-wide category: no one place
    by_place = order["place"] and order["rule"] != "repeat_caller"
    condition = Call.place == order["place"] if by_place else _same_key(order)[0]
    if condition is None:
        return []
    first = min((c["received_at"] for c in order["calls"]), default=order["created_at"])
    return await agency_calls.for_orders(condition & (Call.received_at >= first - ROUTED_BEFORE))


SOONEST = paging.soonest_first(WorkOrder.due_at)  # closed orders (no deadline) last


async def search(
    principal: Principal,
    state: str = "",
    rule: str = "",
    overdue: bool = False,
    mine: bool = False,
    after: int | None = None,
) -> tuple[paging.Page, int]:
    """A page of orders, the soonest deadline first (after the order `after`), and the number
    matching counted up to paging.COUNT_CAP + 1."""
    moment = now()
    where = []
    if state == "open":
        where.append(WorkOrder.state.is_in(list(rules.OPEN_STATES)))
    elif state in rules.STATES:
        where.append(WorkOrder.state == state)
    if rule:
        where.append(WorkOrder.rule == rule)
    if mine:
        where.append(WorkOrder.assignee == principal.id)
    if overdue:
        where.append(WorkOrder.state.is_in(list(rules.OPEN_STATES)) & (WorkOrder.due_at < moment))

    def filtered(query):
        return _visible(principal, paging.narrowed(query, where))

    total = await paging.count_upto(await filtered(WorkOrder.select(WorkOrder.id)))
    found = await paging.page(SOONEST, lambda: filtered(_select()), lambda query: _visible(principal, query), after)
    for row in found.rows:
        row["overdue"] = rules.overdue(row["state"], row["due_at"], moment)
    return found, total


def _open_and_assigned(p) -> Combinable:
    return WorkOrder.state.is_in(list(rules.OPEN_STATES)) & (WorkOrder.assignee == p.person)


# My day's orders: the person's open ones, with their calls' summaries (built once: joins).
_MINE_OPEN = Prepared(lambda p: _select().where(_open_and_assigned(p)).order_by(WorkOrder.due_at).limit(200))
_SUMMARIES = Prepared(
    lambda p: WorkOrderCall.select(WorkOrderCall.order, WorkOrderCall.call.summary.as_alias("summary")).where(
        WorkOrderCall.order.is_in(WorkOrder.select(WorkOrder.id).where(_open_and_assigned(p)))
    )
)


async def for_my_day(principal: Principal) -> list[dict]:
    """The person's open orders by urgency (rules.urgency), each marked `urgent` when a call's
    summary speaks of self-harm."""
    rows = await _MINE_OPEN.rows(person=principal.id)
    summaries: dict[int, list[str]] = defaultdict(list)
    if rows:
        for link in await _SUMMARIES.rows(person=principal.id):
            summaries[link["order"]].append(link["summary"] or "")
    moment = now()
    for r in rows:
        r["overdue"] = rules.overdue(r["state"], r["due_at"], moment)
        r["urgent"] = rules.at_risk(summaries[r["id"]])
    return sorted(rows, key=lambda r: rules.urgency(r["overdue"], r["urgent"], r["created_at"]))


async def api_list(principal: Principal, rule: str, status: str) -> list[dict]:
    query = WorkOrder.select(
        WorkOrder.id,
        WorkOrder.rule,
        WorkOrder.rule_key,
        WorkOrder.title,
        WorkOrder.place,
        WorkOrder.place.name.as_alias("place_name"),
        WorkOrder.grid,
        WorkOrder.state,
        WorkOrder.assignee,
        WorkOrder.created_at,
        WorkOrder.due_at,
    )
    if rule:
        query = query.where(WorkOrder.rule == rule)
    if status == "open":
        query = query.where(WorkOrder.state.is_in(list(rules.OPEN_STATES)))
    elif status == "closed":
        query = query.where(WorkOrder.state == "closed")
    rows = await (await _visible(principal, query)).order_by(WorkOrder.id)
    calls: dict[int, list[int]] = defaultdict(list)
    ids = [r["id"] for r in rows]
    for i in range(0, len(ids), IN_CHUNK):
        links = (
            await WorkOrderCall.select(WorkOrderCall.order, WorkOrderCall.call.call_id.as_alias("call_id"))
            .where(WorkOrderCall.order.is_in(ids[i : i + IN_CHUNK]))
            .order_by(WorkOrderCall.id)
        )
        for link in links:
            calls[link["order"]].append(link["call_id"])
    moment = now()
    return [
        {
            "id": r["id"],
            "rule": r["rule"],
            "key": r["rule_key"],
            "title": r["title"],
            "place_id": r["place"],
            "place": r["place_name"],
            "grid_id": r["grid"],
            "call_ids": calls[r["id"]],
            "state": r["state"],
            "assignee_id": r["assignee"],
            "created_at": r["created_at"],
            "due_at": r["due_at"],
            "overdue": rules.overdue(r["state"], r["due_at"], moment),
        }
        for r in rows
    ]


async def assignee_choices(principal: Principal, order: dict | None = None) -> list[tuple[int, str]]:
    """Officers and grid workers who may take orders: those of the principal's station(s) (every
    station for an admin); for one order (its `grid` and `station`), only those whose role
    covers the order's grid (held for the grid, its office or its station) or, for an order
    without a grid, its station."""
    stations = None if principal.has("admin") else await scope.station_ids(principal)
    rows = await PersonRole.select(
        PersonRole.person,
        PersonRole.person.name.as_alias("name"),
        PersonRole.grid,
        PersonRole.office,
        PersonRole.station,
        PersonRole.office.station.as_alias("office_station"),
        PersonRole.grid.office.station.as_alias("grid_station"),
    ).where(PersonRole.role.is_in(["officer", "grid_worker"]) & PersonRole.person.active.eq(True))
    covers = await _covering(order) if order is not None else None
    chosen = {}
    for r in rows:
        station = r["station"] or r["office_station"] or r["grid_station"]
        if (stations is None or station in stations) and (covers is None or covers(r, station)):
            chosen[r["person"]] = r["name"]
    return sorted(chosen.items(), key=lambda kv: kv[1])


async def _covering(order: dict):
    """A test of whether a role row (and its station) covers the order's grid, or its station."""
    if not order.get("grid"):
        return lambda _row, station: station == order["station"]
    grid = (
        await Grid.select(Grid.id, Grid.office, Grid.office.station.as_alias("station"))
        .where(Grid.id == order["grid"])
        .first()
    )
    return lambda row, _station: (
        bool(grid)
        and (row["grid"] == grid["id"] or row["office"] == grid["office"] or row["station"] == grid["station"])
    )


async def tell_overdue(moment: datetime | None = None) -> int:
    """A job: an open work order past the due time of its step is news for its assignee, once
    per missed due time (a new step's due time can be missed again). The conditional update
    stamping `overdue_told_for` decides who tells: safe with several processes at once."""
    moment = moment or now()
    rows = await WorkOrder.select(
        WorkOrder.id, WorkOrder.assignee, WorkOrder.title, WorkOrder.due_at, WorkOrder.overdue_told_for
    ).where(
        WorkOrder.state.is_in(list(rules.OPEN_STATES))
        & WorkOrder.assignee.is_not_null()
        & WorkOrder.due_at.is_not_null()
        & (WorkOrder.due_at < moment)
    )
    told = 0
    for r in rows:
        if r["overdue_told_for"] == r["due_at"]:
            continue
        async with write_transaction(WorkOrder._meta.db):
            stamped = (
                await WorkOrder.update({WorkOrder.overdue_told_for: r["due_at"]})
                .where(
                    (WorkOrder.id == r["id"])
                    & (WorkOrder.due_at == r["due_at"])
                    & WorkOrder.state.is_in(list(rules.OPEN_STATES))
                    & (WorkOrder.overdue_told_for.is_null() | (WorkOrder.overdue_told_for != r["due_at"]))
                )
                .returning(WorkOrder.id)
            )
            if not stamped:
                continue  # another process told them, or the order moved on
            await notifications.add(
                [
                    notifications.New(
                        person=r["assignee"], kind="work_order_overdue", text=r["title"], url=f"/orders/{r['id']}"
                    )
                ]
            )
            await audit.record(
                audit.SYSTEM,
                "overdue_notice",
                "work_order",
                r["id"],
                {"overdue_told_for": [None, r["due_at"].isoformat()]},
            )
            told += 1
    return told
