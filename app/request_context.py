"""What a request is, as the layers below the routes may know it: its id and client address,
and what its services have already looked up (`remembered`).

Set by middleware.RequestContext, read by the audit service (so a write records where it came
from) and the public rate limits. A module of its own, below both: services must not import
the middleware that calls them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RequestMeta:
    request_id: str = ""
    ip: str = ""
    # None outside a request (scripts, tests calling services): nothing is remembered there.
    lookups: dict[Hashable, Any] | None = field(default=None, compare=False)


current_request: ContextVar[RequestMeta] = ContextVar("qianmo_request", default=RequestMeta())  # noqa: B039 (frozen)


async def remembered(key: Hashable, look_up: Callable[[], Awaitable[Any]]) -> Any:
    """What `look_up` answers, asked once per request: a page asks several services for the
    reader's grids, each of which would run the same query again."""
    lookups = current_request.get().lookups
    if lookups is None:
        return await look_up()
    if key not in lookups:
        lookups[key] = await look_up()
    return lookups[key]
