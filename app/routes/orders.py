"""Work orders (警单): the lists, a detail page with its timeline and the next step's form,
orders entered by hand, and bulk assignment."""
from __future__ import annotations

from datetime import timedelta

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, Parameter
from litestar.response import Redirect, Template

from app.domain import orders as rules
from app.domain.calls import RULES
from app.routes.guards import principal, requires
from app.services import orders, scope
from app.services.auth import now

READERS = ("officer", "grid_worker", "analyst", "supervisor", "admin")
ASSIGNERS = ("analyst", "supervisor")


async def _detail(request: Request, order_id: int, refusal: orders.Refusal | None = None,
                  values: dict | None = None, status_code: int = 200, caller_phone: str = "") -> Template:
    user = principal(request)
    order = await orders.get(user, order_id)  # type: ignore[arg-type]
    if order is None:
        raise NotFoundException()
    steps = [name for name, step in rules.STEPS.items()
             if rules.allowed(name, order["state"], user.roles, order["assignee"] == user.id) is None]  # type: ignore[union-attr]
    period = timedelta(days=request.app.state.settings.review_days)
    review_from = None
    if not rules.review_ready(order["handled_at"], now(), period):  # 问效 is offered once it is due
        review_from = rules.review_from(order["handled_at"], period) if {"close", "reopen"} & set(steps) else None
        steps = [name for name in steps if name not in ("close", "reopen")]
    values = values or {}
    return Template("orders/detail.html", status_code=status_code, context={
        "order": order, "steps": steps, "step_rules": rules.STEPS, "step_titles": rules.STEP_TITLES, "states": rules.STATES, "rules": RULES,
        "next_step": rules.NEXT_STEP.get(order["state"]), "error": refusal.message if refusal else "",
        "review_from": review_from, "caller_phone": caller_phone,
        "may_split": user.has(*ASSIGNERS) and order["rule"] == "category_surge"  # type: ignore[union-attr]
        and orders.GRID_PART not in order["rule_key"] and order["state"] in rules.OPEN_STATES,
        "may_reveal_caller": orders.may_reveal_caller(user, order),  # type: ignore[arg-type]
        "values": values, "errors": {refusal.field: refusal.message} if refusal and refusal.field else {},
        "assignees": await orders.assignee_choices(user, order) if "reassign" in steps else []})  # type: ignore[arg-type]


async def _list(request: Request, state: str = "open", rule: str = "", overdue: bool = False, mine: bool = False,
                errors: dict | None = None, values: dict | None = None, status_code: int = 200) -> Template:
    user = principal(request)
    rows = await orders.search(user, state, rule, overdue, mine)  # type: ignore[arg-type]
    may_assign = user.has(*ASSIGNERS)  # type: ignore[union-attr]
    return Template("orders/list.html", status_code=status_code, context={
        "rows": rows, "state": state, "rule": rule, "overdue": overdue, "mine": mine, "states": rules.STATES,
        "rules": RULES, "may_assign": may_assign, "errors": errors or {}, "values": values or {},
        "assignees": await orders.assignee_choices(user) if may_assign else []})  # type: ignore[arg-type]


class OrdersController(Controller):
    path = "/orders"

    @get("/", name="orders", guards=[requires(*READERS)])
    async def index(self, request: Request, rule: FromQuery[str] = "", overdue: FromQuery[bool] = False,
                    mine: FromQuery[bool] = False,
                    order_state: str = Parameter(query="state", default="open")) -> Template:
        # ("state" is a name Litestar keeps for the application state.)
        return await _list(request, order_state, rule, overdue, mine)

    @get("/new", name="order_new", guards=[requires(*ASSIGNERS)])
    async def new(self, request: Request) -> Template:
        return await _form(request, {}, {})

    @post("/new", name="order_create", guards=[requires(*ASSIGNERS)], status_code=200)
    async def create(self, request: Request) -> Template | Redirect:
        user = principal(request)
        data = {k: str(v) for k, v in (await request.form()).items()}
        grids = await scope.grid_ids(user)  # type: ignore[arg-type]
        order_id, errors = await orders.create_manual(user, data, set(grids or []))  # type: ignore[arg-type]
        if order_id is None:
            return await _form(request, data, errors, status_code=422)
        return Redirect(f"/orders/{order_id}", status_code=303)

    @post("/bulk-assign", name="orders_bulk_assign", guards=[requires(*ASSIGNERS)], status_code=200)
    async def bulk_assign(self, request: Request) -> Template | Redirect:
        form = await request.form()
        ids = [int(v) for v in form.getall("order") if str(v).isdigit() and len(str(v)) < 10] if "order" in form else []
        values = {"assignee": str(form.get("assignee", "")), "reason": str(form.get("reason", "")), "orders": ids}
        done, errors = await orders.bulk_assign(principal(request), ids, values["assignee"], values["reason"])  # type: ignore[arg-type]
        if errors:
            return await _list(request, errors=errors, values=values, status_code=422)
        return Redirect(f"/orders?assigned={done}", status_code=303)

    @get("/{order_id:int}", name="order", guards=[requires(*READERS)])
    async def detail(self, request: Request, order_id: FromPath[int]) -> Template:
        return await _detail(request, order_id)

    @post("/{order_id:int}/step", name="order_step", guards=[requires(*READERS)], status_code=200)
    async def step(self, request: Request, order_id: FromPath[int]) -> Template | Redirect:
        form = await request.form()
        values = {k: str(form.get(k, "")) for k in ("step", "note", "assignee")}
        refusal = await orders.take_step(principal(request), order_id, values["step"], values["note"],  # type: ignore[arg-type]
                                         values["assignee"], timedelta(days=request.app.state.settings.review_days))
        if refusal is orders.NOT_FOUND:
            raise NotFoundException()
        if refusal:
            return await _detail(request, order_id, refusal, values, status_code=422)
        return Redirect(f"/orders/{order_id}", status_code=303)


    @post("/{order_id:int}/split", name="order_split", guards=[requires(*ASSIGNERS)], status_code=303)
    async def split(self, request: Request, order_id: FromPath[int]) -> Redirect:
        if await orders.split_by_grid(principal(request), order_id) is None:  # type: ignore[arg-type]
            raise NotFoundException()
        return Redirect(f"/orders/{order_id}?split=1", status_code=303)

    @post("/{order_id:int}/caller", name="order_caller", guards=[requires(*orders.REVEALERS)], status_code=200)
    async def caller(self, request: Request, order_id: FromPath[int]) -> Template:
        phone = await orders.reveal_caller(principal(request), order_id)  # type: ignore[arg-type]
        if phone is None:
            raise NotFoundException()
        return await _detail(request, order_id, caller_phone=phone)


async def _form(request: Request, values: dict, errors: dict, status_code: int = 200) -> Template:
    user = principal(request)
    places = await scope.places(user)  # type: ignore[arg-type]
    grids = sorted({(p["grid"], p["grid_name"]) for p in places}, key=lambda g: g[1])
    return Template("orders/new.html", status_code=status_code, context={
        "values": values, "errors": errors, "grids": grids,
        "assignees": await orders.assignee_choices(user)})  # type: ignore[arg-type]
