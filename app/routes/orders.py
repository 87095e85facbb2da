"""Work orders (警单): the lists, a detail page with its timeline and the next step's form,
orders entered by hand, and bulk assignment."""

from __future__ import annotations

from datetime import timedelta

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, Parameter
from litestar.response import Redirect, Template

from app.domain import orders as rules
from app.domain.access import Principal
from app.domain.calls import RULES
from app.routes.forms import posted
from app.routes.guards import Me, requires
from app.services import agency_calls, orders, paging, scope
from app.services.auth import now

READERS = ("officer", "grid_worker", "analyst", "supervisor", "admin")
ASSIGNERS = ("analyst", "supervisor")


async def _detail(
    request: Request,
    me: Principal,
    order_id: int,
    refusal: orders.Refusal | None = None,
    values: dict | None = None,
    status_code: int = 200,
    caller_phone: str = "",
) -> Template:
    order = await orders.get(me, order_id)
    if order is None:
        raise NotFoundException()
    steps = [
        name
        for name, step in rules.STEPS.items()
        if rules.allowed(name, order["state"], me.roles, order["assignee"] == me.id) is None
    ]
    period = timedelta(days=request.app.state.settings.review_days)
    review_from = None
    if not rules.review_ready(order["handled_at"], now(), period):  # 问效 is offered once it is due
        review_from = rules.review_from(order["handled_at"], period) if {"close", "reopen"} & set(steps) else None
        steps = [name for name in steps if name not in ("close", "reopen")]
    values = values or {}
    return Template(
        "orders/detail.html",
        status_code=status_code,
        context={
            "order": order,
            "steps": steps,
            "step_rules": rules.STEPS,
            "step_titles": rules.STEP_TITLES,
            "step_actions": rules.STEP_ACTIONS,
            "call_states": agency_calls.STATES,
            "call_step_label": agency_calls.step_label,
            "states": rules.STATES,
            "rules": RULES,
            "next_step": rules.NEXT_STEP.get(order["state"]),
            "error": refusal.message if refusal else "",
            "review_from": review_from,
            "caller_phone": caller_phone,
            "may_split": me.has(*ASSIGNERS)
            and order["rule"] == "category_surge"
            and orders.GRID_PART not in order["rule_key"]
            and order["state"] in rules.OPEN_STATES,
            "may_reveal_caller": orders.may_reveal_caller(me, order),
            "values": values,
            "errors": {refusal.field: refusal.message} if refusal and refusal.field else {},
            "assignees": await orders.assignee_choices(me, order) if "reassign" in steps else [],
        },
    )


async def _list(
    request: Request,
    me: Principal,
    state: str = "open",
    rule: str = "",
    overdue: bool = False,
    mine: bool = False,
    after: int | None = None,
    errors: dict | None = None,
    values: dict | None = None,
    status_code: int = 200,
) -> Template:
    found, total = await orders.search(me, state, rule, overdue, mine, after)
    may_assign = me.has(*ASSIGNERS)
    return Template(
        "orders/list.html",
        status_code=status_code,
        context={
            "page": found,
            "total": total,
            "count_cap": paging.COUNT_CAP,
            "state": state,
            "rule": rule,
            "overdue": overdue,
            "mine": mine,
            "states": rules.STATES,
            "rules": RULES,
            "may_assign": may_assign,
            "errors": errors or {},
            "values": values or {},
            "assignees": await orders.assignee_choices(me) if may_assign else [],
        },
    )


class OrdersController(Controller):
    path = "/orders"

    @get("/", name="orders", guards=[requires(*READERS)])
    async def index(
        self,
        request: Request,
        me: Me,
        rule: FromQuery[str] = "",
        overdue: FromQuery[bool] = False,
        mine: FromQuery[bool] = False,
        order_state: str = Parameter(query="state", default="open"),
        after: FromQuery[int | None] = None,
    ) -> Template:
        # ("state" is a name Litestar keeps for the application state.)
        return await _list(request, me, order_state, rule, overdue, mine, after)

    @get("/new", name="order_new", guards=[requires(*ASSIGNERS)])
    async def new(self, request: Request, me: Me) -> Template:
        return await _form(request, me, {}, {})

    @post("/new", name="order_create", guards=[requires(*ASSIGNERS)], status_code=200)
    async def create(self, request: Request, me: Me) -> Template | Redirect:
        data = (await posted(request)).fields()
        grids = await scope.grid_ids(me)
        order_id, errors = await orders.create_manual(me, data, set(grids or []))
        if order_id is None:
            return await _form(request, me, data, errors, status_code=422)
        return Redirect(f"/orders/{order_id}", status_code=303)

    @post("/bulk-assign", name="orders_bulk_assign", guards=[requires(*ASSIGNERS)], status_code=200)
    async def bulk_assign(self, request: Request, me: Me) -> Template | Redirect:
        form = await posted(request)
        ids = form.ids("order")
        assignee, reason = form.text("assignee"), form.text("reason")
        values = {"assignee": assignee, "reason": reason, "orders": ids}
        done, errors = await orders.bulk_assign(me, ids, assignee, reason)
        if errors:
            return await _list(request, me, errors=errors, values=values, status_code=422)
        return Redirect(f"/orders?assigned={done}", status_code=303)

    @get("/{order_id:int}", name="order", guards=[requires(*READERS)])
    async def detail(self, request: Request, me: Me, order_id: FromPath[int]) -> Template:
        return await _detail(request, me, order_id)

    @post("/{order_id:int}/step", name="order_step", guards=[requires(*READERS)], status_code=200)
    async def step(self, request: Request, me: Me, order_id: FromPath[int]) -> Template | Redirect:
        form = await posted(request)
        values = {k: form.text(k) for k in ("step", "note", "assignee")}
        refusal = await orders.take_step(
            me,
            order_id,
            values["step"],
            values["note"],
            values["assignee"],
            timedelta(days=request.app.state.settings.review_days),
        )
        if refusal is orders.NOT_FOUND:
            raise NotFoundException()
        if refusal:
            return await _detail(request, me, order_id, refusal, values, status_code=422)
        return Redirect(f"/orders/{order_id}", status_code=303)

    @post("/{order_id:int}/split", name="order_split", guards=[requires(*ASSIGNERS)], status_code=303)
    async def split(self, me: Me, order_id: FromPath[int]) -> Redirect:
        if await orders.split_by_grid(me, order_id) is None:
            raise NotFoundException()
        return Redirect(f"/orders/{order_id}?split=1", status_code=303)

    @post("/{order_id:int}/caller", name="order_caller", guards=[requires(*orders.REVEALERS)], status_code=200)
    async def caller(self, request: Request, me: Me, order_id: FromPath[int]) -> Template:
        phone = await orders.reveal_caller(me, order_id)
        if phone is None:
            raise NotFoundException()
        return await _detail(request, me, order_id, caller_phone=phone)


async def _form(request: Request, me: Principal, values: dict, errors: dict, status_code: int = 200) -> Template:
    places = await scope.places(me)
    grids = sorted({(p["grid"], p["grid_name"]) for p in places}, key=lambda g: g[1])
    return Template(
        "orders/new.html",
        status_code=status_code,
        context={"values": values, "errors": errors, "grids": grids, "assignees": await orders.assignee_choices(me)},
    )
