"""Prometheus metrics (prometheus-client) for the operator's /metrics.

Requests are counted by the route's pattern (`/t/{code}`), never the path, which carries
tracking codes and tokens; an unknown path counts as "(no route)". With several worker
processes (`qianmo serve --workers N`) each process writes its numbers to files in
PROMETHEUS_MULTIPROC_DIR and a scrape of any worker adds them all up. The variable must be set
before prometheus_client is first imported: `qianmo serve` does it (cli.metrics_folder) before
anything imports this module.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from piccolo.engine import engine_finder
from piccolo.engine.postgres import PostgresEngine
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, multiprocess
from prometheus_client import generate_latest as _generate

P = ParamSpec("P")
T = TypeVar("T")
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# The classic text format (what generate_latest writes), read by every Prometheus; Litestar adds
# the charset.
CONTENT_TYPE = "text/plain; version=0.0.4"
# Seconds; from a cached page (~1 ms) to the statement timeout (15 s).
LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15)
# A call import or a detection run: from a handful of rows to a year's backfill.
JOB_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
POOL_SAMPLE_SECONDS = 5

REQUESTS = Counter("qianmo_http_requests", "HTTP requests answered", ["method", "route", "status"])
LATENCY = Histogram(
    "qianmo_http_request_duration_seconds",
    "Time to answer, by route pattern",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)
OUTBOX_REPLAYS = Counter("qianmo_outbox_replays", "Forms sent again from a phone's offline outbox", ["route", "status"])
IMPORT_SECONDS = Histogram("qianmo_call_import_duration_seconds", "110 call imports", ["source"], buckets=JOB_BUCKETS)
IMPORT_ROWS = Counter("qianmo_call_import_rows", "110 call rows imported (new calls)", ["source"])
DETECTION_SECONDS = Histogram(
    "qianmo_detection_duration_seconds", "Repeat-call detection runs (flags to work orders)", buckets=JOB_BUCKETS
)
POOL_CONNECTIONS = Gauge(
    "qianmo_db_pool_connections",
    "PostgreSQL connections of the pools, in use or idle",
    ["state"],
    multiprocess_mode="livesum",
)
POOL_MAX = Gauge("qianmo_db_pool_max_connections", "PostgreSQL pool sizes, added up", multiprocess_mode="livesum")
SSE_CONNECTIONS = Gauge("qianmo_sse_connections", "Live streams (/events) open", multiprocess_mode="livesum")
# The same count in every process (it is the database's): the largest, not the sum.
PENDING_ESCALATIONS = Gauge(
    "qianmo_pending_escalations", "Open urgent grid alerts waiting for their next step", multiprocess_mode="livemax"
)
REPLICA_LAG = Gauge(
    "qianmo_db_replica_lag_seconds",
    "Replay lag of each read replica (NaN: down or not a replica)",
    ["replica"],
    multiprocess_mode="livemax",
)
REPLICA_UP = Gauge(
    "qianmo_db_replica_in_service",
    "1 when the replica takes reads (answers, and within QIANMO_REPLICA_MAX_LAG_SECONDS)",
    ["replica"],
    multiprocess_mode="livemin",
)


def observe_request(method: str, route: str, status: int, seconds: float, replay: bool) -> None:
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(method, route).observe(seconds)
    if replay:
        OUTBOX_REPLAYS.labels(route, str(status)).inc()


def timed(histogram: Histogram) -> Callable[[Callable[P, Awaitable[T]]], Callable[P, Awaitable[T]]]:
    """Observe how long each call of an async function takes (exceptions included)."""

    def wrap(function: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
        @functools.wraps(function)
        async def timing(*args: P.args, **kwargs: P.kwargs) -> T:
            with histogram.time():
                return await function(*args, **kwargs)

        return timing

    return wrap


def sample_pool() -> None:
    from app.services.events import HUB

    SSE_CONNECTIONS.set(HUB.count())
    engine = engine_finder()
    pool = getattr(engine, "pool", None) if isinstance(engine, PostgresEngine) else None
    if pool is None:
        return
    size, idle = pool.get_size(), pool.get_idle_size()
    POOL_CONNECTIONS.labels("in_use").set(size - idle)
    POOL_CONNECTIONS.labels("idle").set(idle)
    POOL_MAX.set(pool.get_max_size())


async def sample_database() -> None:
    """What needs a query: pending escalations, and each replica's lag (read afresh here, so it
    is current even when no page asks for a replica)."""
    from app.replicas import ReplicatedEngine
    from app.tables import GridAlert

    engine = engine_finder()
    if isinstance(engine, ReplicatedEngine):
        for state in engine.replicas:
            lag = await engine.check(state)
            REPLICA_LAG.labels(state.name).set(float("nan") if lag is None else lag)
            REPLICA_UP.labels(state.name).set(1 if lag is not None and lag <= engine.max_lag else 0)
    pending = GridAlert.count().where((GridAlert.state == "open") & GridAlert.escalate_at.is_not_null())
    PENDING_ESCALATIONS.set(await pending)


async def _sample_pool_every(seconds: float) -> None:
    while True:
        sample_pool()
        try:
            await sample_database()
        except Exception:  # a database that is down: the gauges wait for the next round
            pass
        await asyncio.sleep(seconds)


async def start_sampler(app) -> None:
    """The pool's gauges, written every few seconds by each process (a scrape reaches one)."""
    app.state.metrics_sampler = asyncio.create_task(_sample_pool_every(POOL_SAMPLE_SECONDS))


async def stop_sampler(app) -> None:
    task = getattr(app.state, "metrics_sampler", None)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def render() -> bytes:
    """The text exposition: this process's numbers, or every worker's added up."""
    sample_pool()
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return _generate(registry)
    return _generate(REGISTRY)
