"""create_app(settings) -> Litestar: plugins, middleware, routers."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from datetime import timedelta

import anyio
from litestar import Litestar
from litestar.config.compression import CompressionConfig
from litestar.config.csrf import CSRFConfig
from litestar.logging import LoggingConfig
from litestar.middleware import DefineMiddleware
from litestar.middleware.compression.brotli_facade import BrotliCompression
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.htmx import HTMXPlugin
from piccolo.engine import engine_finder
from piccolo.engine.postgres import PostgresEngine

from app import metrics
from app.browser import BrowserKey
from app.db import PooledSQLiteEngine
from app.errors import EXCEPTION_HANDLERS
from app.middleware import PrivateCache, RequestContext, SessionAuth
from app.replicas import ReplicaRouting, ReplicatedEngine
from app.routes.agency import AgencyController
from app.routes.alerts import AlertsController, NotificationsController, PushController
from app.routes.api.open311 import Open311Controller
from app.routes.api.platform_metrics import MetricsApiController
from app.routes.api.v1 import ApiV1Controller
from app.routes.api_keys import ApiKeysController
from app.routes.area import AreaController
from app.routes.audit import AuditController
from app.routes.auth import AuthController
from app.routes.calls import CallsController
from app.routes.dashboard import DashboardController, ReviewsController
from app.routes.fieldwork import FieldworkController
from app.routes.fieldwork_admin import FieldworkAdminController
from app.routes.guards import DEPENDENCIES
from app.routes.home import HomeController
from app.routes.map import MapController
from app.routes.metrics import MetricsController
from app.routes.orders import OrdersController
from app.routes.org import OrgController
from app.routes.outbox import OutboxController
from app.routes.people import PeopleController
from app.routes.platform_metrics import PlatformMetricsController
from app.routes.reports import ReportAdminController, ReportPublicController, ReportStaffController
from app.routes.routing_admin import RoutingAdminController
from app.routes.static import static_file
from app.routes.team import TeamController
from app.routes.volunteers import CertificateCheckController, VolunteerRegisterController, VolunteersController
from app.services import events, jobs, push
from app.settings import Settings
from app.static_files import assets
from app.templating import template_config

CSRF_COOKIE = "qianmo_csrf"
CSRF_HEADER = "x-csrftoken"
API_PATHS = ["^/api/", "^/open311/"]


class _BrotliFreedAtClose(BrotliCompression):
    """Drops the encoder (megabytes of native state) once a response is finished: the middleware
    leaves its facade in a reference cycle, which the raised gc threshold (freeze_startup_objects)
    collects late, so one process held 520 MB after the city bench (135 MB without compression)."""

    __slots__ = ()

    def close(self) -> None:
        super().close()
        del self.compressor


# Pages, fragments and JSON: brotli at a quality that costs well under a millisecond for a page
# (gzip for browsers without it). Not compressed here: static files (precompressed once,
# app/static_files.py), photos (JPEG gains nothing), and the event stream, which a compressor
# would hold back until its buffer fills.
COMPRESSION = CompressionConfig(
    backend="brotli",
    brotli_quality=4,
    brotli_lgwin=18,  # a 256 KB window (the default is 4 MB per response): pages are far smaller
    brotli_gzip_fallback=True,
    gzip_compress_level=6,
    minimum_size=512,
    exclude=["^/static/", "^/sw.js$", "/photos/", "^/events"],
)
COMPRESSION.compression_facade = _BrotliFreedAtClose  # the config sets its own class for "brotli"
# Largest request body accepted anywhere (a CSV of places, later a phone photo).
MAX_BODY = 12 * 1024 * 1024


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    app = Litestar(
        route_handlers=[
            HomeController,
            AuthController,
            AreaController,
            PeopleController,
            OrgController,
            AuditController,
            ApiKeysController,
            ApiV1Controller,
            MetricsApiController,
            PlatformMetricsController,
            CallsController,
            OrdersController,
            DashboardController,
            ReviewsController,
            FieldworkController,
            FieldworkAdminController,
            TeamController,
            MapController,
            VolunteerRegisterController,
            CertificateCheckController,
            VolunteersController,
            ReportPublicController,
            ReportStaffController,
            AgencyController,
            RoutingAdminController,
            ReportAdminController,
            Open311Controller,
            OutboxController,
            AlertsController,
            NotificationsController,
            PushController,
            MetricsController,
            static_file,
        ],
        dependencies=DEPENDENCIES,
        template_config=template_config(settings.time_zone),
        plugins=[HTMXPlugin()],
        middleware=[
            DefineMiddleware(SessionAuth, exclude=["^/static/", "^/sw.js$", "^/healthz$", "^/metrics$"]),
            BrowserKey(),
        ],
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            cookie_name=CSRF_COOKIE,
            header_name=CSRF_HEADER,
            cookie_secure=settings.secure_cookies,
            cookie_httponly=True,
            cookie_samesite="lax",
            # Other systems authenticate with an API key, not a browser cookie: no CSRF there.
            exclude=API_PATHS,
        ),
        exception_handlers=EXCEPTION_HANDLERS,
        # The schema documents the APIs for other systems; their controllers opt in, pages stay out.
        include_in_schema=False,
        openapi_config=OpenAPIConfig(
            title="Qianmo API",
            version="1",
            path="/schema",
            components=Components(
                security_schemes={
                    "bearer": SecurityScheme(
                        type="http", scheme="bearer", description="An API key issued by an administrator"
                    )
                }
            ),
        ),
        logging_config=LoggingConfig(
            # A plain stream handler: the queue listener's thread cost ~0.7 ms per request line.
            root={"level": settings.log_level, "handlers": ["console"]},
            formatters={"standard": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
            log_exceptions="never",
        ),
        compression_config=COMPRESSION,
        request_max_body_size=MAX_BODY,
        on_startup=([open_pool] if settings.db_pool else [])
        + [load_static_files, freeze_startup_objects, start_jobs, start_listening, metrics.start_sampler],
        on_shutdown=[metrics.stop_sampler, stop_jobs, stop_listening, stop_pushes]
        + ([close_pool] if settings.db_pool else []),
        debug=False,
    )
    app.state.settings = settings
    push.configure(settings.vapid_key_file, settings.vapid_contact, settings.public_base_url)
    handler = app.asgi_handler
    if isinstance(engine_finder(), ReplicatedEngine):
        handler = ReplicaRouting(handler, settings.secret_key, settings.replica_sticky_seconds, settings.secure_cookies)
    app.asgi_handler = RequestContext(
        PrivateCache(handler), https=settings.secure_cookies, tile_origin=settings.map_tile_origin
    )
    return app


async def open_pool(app: Litestar | None = None) -> None:
    """One pool per worker instead of a connection per query: PostgreSQL's pool, or SQLite's
    persistent reader connections and single writer (app/db.PooledSQLiteEngine)."""
    engine = engine_finder()
    if isinstance(engine, PostgresEngine):
        await engine.start_connection_pool(**pool_options(app.state.settings if app else Settings()))
    elif isinstance(engine, PooledSQLiteEngine):
        await engine.start_connection_pool()


def pool_options(settings: Settings) -> dict:
    """asyncpg's pool: its size, and how long a request waits for the server. The server cancels
    a statement running past db_statement_timeout; the client stops waiting then too, for a
    server that went silent, and the pool replaces the connection (asyncpg's default would wait
    for ever). A new connection waits db_connect_timeout."""
    timeout = settings.db_statement_timeout
    return {
        "min_size": 2,
        "max_size": settings.db_pool_size,
        "reset": keep_session_state,
        "timeout": settings.db_connect_timeout,
        "command_timeout": timeout,
        "server_settings": {"statement_timeout": str(int(timeout * 1000))},
    }


async def keep_session_state(_connection) -> None:
    """asyncpg's default reset (UNLISTEN, RESET ALL, advisory unlocks: a round trip on every
    release) undoes state this app never sets; an open transaction is still rolled back."""


async def load_static_files() -> None:
    """Hash and compress the static files now (in a thread), not in the first page's request."""
    await anyio.to_thread.run_sync(assets)


async def freeze_startup_objects() -> None:
    """The app's own objects (routes, templates, tables) live as long as the process: out of
    the collector's sight, a full collection walks only what requests made (tail latency)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


async def start_jobs(app: Litestar) -> None:
    """The due work of services/jobs.py, in the background of this process."""
    every = app.state.settings.jobs_every_seconds
    escalate_after = timedelta(hours=app.state.settings.escalate_after_hours)
    app.state.jobs = asyncio.create_task(jobs.every(every, escalate_after)) if every > 0 else None


async def stop_jobs(app: Litestar) -> None:
    task = getattr(app.state, "jobs", None)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def stop_pushes(app: Litestar) -> None:
    """Pushes already under way finish (each waits at most pywebpush's timeout)."""
    await push.drain()


async def start_listening(app: Litestar) -> None:
    """PostgreSQL: this process LISTENs for other processes' news (services/events.py)."""
    url = app.state.settings.database_url
    listening = isinstance(engine_finder(), PostgresEngine) and url.startswith("postgres")
    app.state.listener = asyncio.create_task(events.listen(url)) if listening else None


async def stop_listening(app: Litestar) -> None:
    task = getattr(app.state, "listener", None)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def close_pool() -> None:
    engine = engine_finder()
    if isinstance(engine, (PostgresEngine, PooledSQLiteEngine)):
        await engine.close_connection_pool()


def app_factory() -> Litestar:
    """Entry point for uvicorn (`--factory`): settings from the environment."""
    logging.getLogger("uvicorn.access").disabled = True
    return create_app()
