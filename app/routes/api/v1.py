"""JSON API for other systems, authenticated with an API key (`Authorization: Bearer <key>`):
import calls, read work orders, read the repeat-call metrics. Keys are issued by an admin."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from litestar import Controller, Request, get, post
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException, ValidationException
from litestar.handlers import BaseRouteHandler
from litestar.openapi.spec import SecurityRequirement
from litestar.params import Parameter

from app.domain.calls import RULES
from app.services import api_keys, calls, orders

API_ROLES = ("analyst",)
MAX_ITEMS = 5000
BEARER: list[SecurityRequirement] = [{"bearer": []}]


def key_guard(roles: tuple[str, ...]):
    """A guard that runs before anything else (so an anonymous request is a 401, never a 400):
    the API key, of one of `roles`."""

    async def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        scheme, _sep, key = connection.headers.get("authorization", "").partition(" ")
        client = await api_keys.authenticate(key.strip()) if scheme.lower() == "bearer" else None
        if client is None:
            raise NotAuthorizedException(
                detail="A valid API key is needed: Authorization: Bearer <key>", headers={"WWW-Authenticate": "Bearer"}
            )
        if client.role not in roles:
            raise PermissionDeniedException(detail="This key's role cannot use this endpoint")
        connection.state.api_client = client

    return guard


api_key_guard = key_guard(API_ROLES)


def client_of(request: Request) -> api_keys.ApiClient:
    return request.state.api_client


@dataclass
class ItemError:
    index: int
    call_id: str
    field: str
    message: str


@dataclass
class ImportAnswer:
    created: int
    duplicate: int
    conflict: int
    rejected: int
    errors: list[ItemError] = field(default_factory=list)
    work_orders_created: int = 0
    calls_attached_to_open_orders: int = 0


@dataclass
class WorkOrderItem:
    id: int
    rule: str
    key: str
    call_ids: list[str]
    state: str
    assignee_id: int | None


@dataclass
class CallMetrics:
    start: str
    end: str
    total_calls: int
    repeat_calls: int
    repeat_share: float | None
    # The repeat share now less the share in the same dates a year earlier (points, a fraction).
    repeat_share_change_yoy: float | None
    # (repeat calls now - repeat calls a year earlier) / the latter; null when that is 0.
    repeat_calls_change_yoy: float | None


def _day(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationException(detail=f"{name} must be a date like 2026-03-01") from None


class ApiV1Controller(Controller):
    path = "/api/v1"
    tags = ["API v1"]
    security = BEARER
    guards = [api_key_guard]

    @post("/calls", name="api_calls", status_code=200, summary="Import 110 call records")
    async def import_calls(self, request: Request, data: list[dict[str, Any]]) -> ImportAnswer:
        """A list of call objects with the fields `call_id`, `received_at` (ISO 8601
        with an offset; or year-first local time in the server's time zone, such as
        `2026/11/27 9:27`, `2026-11-27 09:27:30`, `2026年11月27日 9:27`; or an Excel serial
        date number; a year written last is refused as ambiguous), `caller_phone`, `address`, `lat`,
        `lon`, `category`, `summary`, `disposition`, `station` (code or name). Calls already
        imported count as duplicates; the same `call_id` with other content is a conflict and
        is not changed. Detection runs after the import."""
        client = client_of(request)
        if len(data) > MAX_ITEMS:
            raise ValidationException(detail=f"At most {MAX_ITEMS} calls per request")
        settings = request.app.state.settings
        result = await calls.import_objects(data, client.principal(), client.actor, settings.time_zone)
        detection = (
            await orders.detect(
                client.actor,
                {client.station_id} if client.station_id else None,
                batch=result.batch_id,
                recent_days=settings.detection_recent_days,
            )
            if result.created
            else orders.Detection()
        )
        return ImportAnswer(
            result.created,
            result.duplicates,
            result.conflicts,
            result.rejected,
            [ItemError(e["row"], e["call_id"], e["column"], e["message"]) for e in result.errors],
            detection.created,
            detection.attached,
        )

    @get("/work-orders", name="api_work_orders", summary="Work orders")
    async def work_orders(
        self,
        request: Request,
        rule: str = Parameter(default="", description="repeat_caller, repeat_place or category_surge"),
        status: str = Parameter(default="", description="open or closed"),
    ) -> list[WorkOrderItem]:
        client = client_of(request)
        if rule and rule not in RULES:
            raise ValidationException(detail=f"rule must be one of {', '.join(RULES)}")
        if status and status not in ("open", "closed"):
            raise ValidationException(detail="status must be open or closed")
        return [WorkOrderItem(**row) for row in await orders.api_list(client.principal(), rule, status)]

    @get("/metrics/calls", name="api_call_metrics", summary="Repeat-call share")
    async def call_metrics(
        self,
        request: Request,
        start: str = Parameter(description="first day, YYYY-MM-DD (inclusive)"),
        end: str = Parameter(description="last day, YYYY-MM-DD (inclusive)"),
    ) -> CallMetrics:
        client = client_of(request)
        first, last = _day(start, "start"), _day(end, "end")
        if last < first:
            raise ValidationException(detail="end must not be before start")
        if (last - first).days > 3660:
            raise ValidationException(detail="at most ten years at once")
        result = await calls.metrics(client.principal(), first, last, request.app.state.settings.time_zone)
        return CallMetrics(**result)
