"""JSON API: the platform metrics (三率) of the key's station, the same numbers as the page
/metrics/platform (one service computes both). Definitions: docs/metrics.md."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Annotated

from litestar import Controller, Request, get
from litestar.params import QueryParameter

from app.domain import platform_metrics as rules
from app.routes.api.v1 import BEARER, ERRORS, Unprocessable, client_of, key_guard
from app.services import platform_metrics

API_GROUPS = ("station", "agency", "grid")


@dataclass
class GroupMetrics:
    type: str
    id: int
    name: str
    received: int
    completed: int
    completion_rate: float | None
    on_time_rate: float | None
    response_rate: float | None
    satisfaction_rate: float | None
    rated: int
    # Ranked by the Wilson lower bound of the on-time rate; null: too few matters to rank.
    rank: int | None = None


@dataclass
class PlatformMetrics:
    start: str
    end: str
    received: int
    completed: int
    completion_rate: float | None
    on_time_rate: float | None
    response_rate: float | None
    satisfaction_rate: float | None
    rated: int
    groups: list[GroupMetrics] = field(default_factory=list)


def numbers(t: rules.Tally) -> dict:
    return {
        "received": t.received,
        "completed": t.completed,
        "completion_rate": t.completion.value,
        "on_time_rate": t.on_time.value,
        "response_rate": t.response.value,
        "satisfaction_rate": t.satisfaction.value,
        "rated": t.rated,
    }


def _day(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Unprocessable(detail=f"{name} must be a date like 2026-03-01") from None


class MetricsApiController(Controller):
    path = "/api/v1/metrics"
    tags = ["API v1"]
    security = BEARER
    guards = [key_guard(("analyst", "supervisor"))]
    include_in_schema = True

    @get("/platform", name="api_platform_metrics", summary="Platform metrics (三率)", responses=ERRORS)
    async def platform(
        self,
        request: Request,
        start: Annotated[str, QueryParameter(description="first day of receipt, YYYY-MM-DD (inclusive, Beijing time)")],
        end: Annotated[str, QueryParameter(description="last day of receipt, YYYY-MM-DD (inclusive)")],
        group: Annotated[str, QueryParameter(description="station, agency or grid")] = "station",
    ) -> PlatformMetrics:
        """Resident reports and routed matters received in the period, judged as of now: counts,
        rates (fractions 0–1, null when nothing to count) and the same per unit. Units with fewer
        than 10 matters whose finish deadline is due have no rank."""
        first, last = _day(start, "start"), _day(end, "end")
        if last < first:
            raise Unprocessable(detail="end must not be before start")
        if (last - first).days > rules.MAX_DAYS:
            raise Unprocessable(detail="at most ten years at once")
        if group not in API_GROUPS:
            raise Unprocessable(detail=f"group must be one of {', '.join(API_GROUPS)}")
        period = platform_metrics.Period(first, last, request.app.state.settings.time_zone)
        data = await platform_metrics.platform(
            client_of(request).principal(), period, group, extras=False, hours="none"
        )
        return PlatformMetrics(
            start=first.isoformat(),
            end=last.isoformat(),
            **numbers(data.total),
            groups=[
                GroupMetrics(type=g.type, id=g.id, name=g.name, rank=g.rank, **numbers(g.tally))
                for g in [*data.ranked, *data.apart]
            ],
        )
