"""JSON API for other systems, authenticated with an API key (`Authorization: Bearer <key>`):
import calls, read work orders, read the repeat-call metrics. Keys are issued by an admin.
Every body and answer is typed (the OpenAPI document at /schema describes them), and so are
the errors: 400 a body that is not JSON of the documented shape, 401 no valid key, 403 a key
whose role may not, 422 a parameter of the right shape with a wrong value, 429 too many
requests from one key."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta

from litestar import Controller, Request, get, post
from litestar.connection import ASGIConnection
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    PermissionDeniedException,
    TooManyRequestsException,
)
from litestar.handlers import BaseRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import SecurityRequirement
from litestar.params import Parameter

from app.domain.calls import RULES
from app.services import api_keys, calls, orders, ratelimit

API_ROLES = ("analyst",)
MAX_ITEMS = 5000
BEARER: list[SecurityRequirement] = [{"bearer": []}]
# Per key: far above an import job's pace (5,000 calls a request), low enough to stop a loop.
PER_MINUTE = 120


@dataclass
class ApiError:
    status_code: int
    detail: str


ERRORS = {
    400: ResponseSpec(data_container=ApiError, description="The body is not JSON of the documented shape"),
    401: ResponseSpec(data_container=ApiError, description="No valid API key: Authorization: Bearer <key>"),
    403: ResponseSpec(data_container=ApiError, description="This key's role cannot use this endpoint"),
    422: ResponseSpec(data_container=ApiError, description="A parameter has a wrong value (the detail says which)"),
    429: ResponseSpec(data_container=ApiError, description="Too many requests from this key: wait a minute"),
}


class Unprocessable(HTTPException):
    status_code = 422


def key_guard(roles: tuple[str, ...]):
    """A guard that runs before anything else (so an anonymous request is a 401, never a 400):
    the API key, of one of `roles`, within its rate."""

    async def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        scheme, _sep, key = connection.headers.get("authorization", "").partition(" ")
        client = await api_keys.authenticate(key.strip()) if scheme.lower() == "bearer" else None
        if client is None:
            raise NotAuthorizedException(
                detail="A valid API key is needed: Authorization: Bearer <key>", headers={"WWW-Authenticate": "Bearer"}
            )
        if client.role not in roles:
            raise PermissionDeniedException(detail="This key's role cannot use this endpoint")
        if not await ratelimit.allow(f"api:{client.key_id}", PER_MINUTE, timedelta(minutes=1)):
            raise TooManyRequestsException(detail="Too many requests from this key: wait a minute")
        connection.state.api_client = client

    return guard


api_key_guard = key_guard(API_ROLES)


def client_of(request: Request) -> api_keys.ApiClient:
    return request.state.api_client


@dataclass
class CallItem:
    """One 110 call. `call_id`, `received_at`, `address` and `category` are needed; an item
    without one is rejected on its own (in `errors`), the others are imported."""

    call_id: str | int | None = None
    # ISO 8601 with an offset; or year-first local time in the server's time zone
    # (`2026/11/27 9:27`, `2026-11-27 09:27:30`, `2026年11月27日 9:27`); or an Excel serial number.
    received_at: str | float | None = None
    caller_phone: str | int | None = None
    address: str | None = None
    lat: float | str | None = None
    lon: float | str | None = None
    category: str | None = None
    summary: str | None = None
    disposition: str | None = None
    station: str | int | None = None  # the station's code or name (a key of one station: its own)


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
    rule: str  # repeat_caller | repeat_place | category_surge | manual
    key: str
    title: str
    place_id: int | None
    place: str | None  # the place's name
    grid_id: int | None
    call_ids: list[str]
    state: str  # the step it waits for (assigned, verified …) or closed
    assignee_id: int | None
    created_at: datetime
    due_at: datetime | None  # of the step due now
    overdue: bool


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
        raise Unprocessable(detail=f"{name} must be a date like 2026-03-01") from None


class ApiV1Controller(Controller):
    path = "/api/v1"
    tags = ["API v1"]
    include_in_schema = True
    security = BEARER
    guards = [api_key_guard]

    @post("/calls", name="api_calls", status_code=200, summary="Import 110 call records", responses=ERRORS)
    async def import_calls(self, request: Request, data: list[CallItem]) -> ImportAnswer:
        """At most 5,000 calls a request. `received_at`: ISO 8601 with an offset; or year-first
        local time in the server's time zone, such as `2026/11/27 9:27`, `2026-11-27 09:27:30`,
        `2026年11月27日 9:27`; or an Excel serial date number; a year written last is refused as
        ambiguous. Calls already imported count as duplicates; the same `call_id` with other
        content is a conflict and is not changed. Detection runs after the import."""
        client = client_of(request)
        if len(data) > MAX_ITEMS:
            raise Unprocessable(detail=f"At most {MAX_ITEMS} calls per request")
        settings = request.app.state.settings
        items = [{k: v for k, v in asdict(item).items() if v is not None} for item in data]
        result = await calls.import_objects(items, client.principal(), client.actor, settings.time_zone)
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

    @get("/work-orders", name="api_work_orders", summary="Work orders", responses=ERRORS)
    async def work_orders(
        self,
        request: Request,
        rule: str = Parameter(default="", description="repeat_caller, repeat_place or category_surge"),
        status: str = Parameter(default="", description="open or closed"),
    ) -> list[WorkOrderItem]:
        client = client_of(request)
        if rule and rule not in RULES:
            raise Unprocessable(detail=f"rule must be one of {', '.join(RULES)}")
        if status and status not in ("open", "closed"):
            raise Unprocessable(detail="status must be open or closed")
        return [WorkOrderItem(**row) for row in await orders.api_list(client.principal(), rule, status)]

    @get("/metrics/calls", name="api_call_metrics", summary="Repeat-call share", responses=ERRORS)
    async def call_metrics(
        self,
        request: Request,
        start: str = Parameter(description="first day, YYYY-MM-DD (inclusive)"),
        end: str = Parameter(description="last day, YYYY-MM-DD (inclusive)"),
    ) -> CallMetrics:
        client = client_of(request)
        first, last = _day(start, "start"), _day(end, "end")
        if last < first:
            raise Unprocessable(detail="end must not be before start")
        if (last - first).days > 3660:
            raise Unprocessable(detail="at most ten years at once")
        result = await calls.metrics(client.principal(), first, last, request.app.state.settings.time_zone)
        return CallMetrics(**result)
