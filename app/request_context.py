"""What a request is, as the layers below the routes may know it: its id and client address.

Set by middleware.RequestContext, read by the audit service (so a write records where it came
from) and the public rate limits. A module of its own, below both: services must not import
the middleware that calls them."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestMeta:
    request_id: str = ""
    ip: str = ""


current_request: ContextVar[RequestMeta] = ContextVar("qianmo_request", default=RequestMeta())  # noqa: B039 (frozen)
