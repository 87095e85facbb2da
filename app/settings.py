"""Every setting in one place, read from the environment (see README)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

DEFAULT_SQLITE = "sqlite:///var/qianmo.sqlite3"
DEFAULT_CONNECT_TIMEOUT = 5.0


def database_url() -> str:
    return os.environ.get("QIANMO_DATABASE_URL") or DEFAULT_SQLITE


def db_connect_timeout() -> float:
    """Read here, not only in from_env: piccolo_conf builds the engine from the environment."""
    return float(os.environ.get("QIANMO_DB_CONNECT_TIMEOUT") or DEFAULT_CONNECT_TIMEOUT)


def tile_url(value: str) -> str:
    """A basemap's tile URL template, checked at start: http(s) or a path, with {z}, {x} and {y}."""
    value = value.strip()
    if not value:
        return ""
    parts = urlparse(value)
    if not (value.startswith("/") and not value.startswith("//")) and not (
        parts.scheme in ("http", "https") and parts.netloc
    ):
        raise SystemExit("QIANMO_MAP_TILE_URL must be an http(s) URL or a path starting with /.")
    if any(k not in value for k in ("{z}", "{x}", "{y}")) or any(c in value for c in "\"' <>"):
        raise SystemExit("QIANMO_MAP_TILE_URL must hold {z}, {x} and {y} (and no quotes, spaces or angle brackets).")
    return value


def replica_urls() -> list[str]:
    """QIANMO_DATABASE_REPLICA_URLS: PostgreSQL streaming replicas, comma-separated (read here:
    piccolo_conf builds the engine from the environment)."""
    return [u.strip() for u in os.environ.get("QIANMO_DATABASE_REPLICA_URLS", "").split(",") if u.strip()]


def replica_max_lag() -> float:
    """A replica further behind than this many seconds is skipped (reads go to the primary)."""
    return float(os.environ.get("QIANMO_REPLICA_MAX_LAG_SECONDS") or 10)


def _flag(name: str) -> bool:
    return os.environ.get(name, "").lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    database_url: str = field(default_factory=database_url)
    # Signs CSRF tokens; must be set (and stable across workers) in production.
    secret_key: str = ""
    # The address residents and invitees reach, used in links and QR posters.
    public_base_url: str = "http://localhost:8000"
    time_zone: str = "Asia/Shanghai"
    upload_dir: Path = Path("var/uploads")
    default_locale: str = "zh_CN"
    # Demo mode: only `qianmo demo`, only on localhost.
    demo: bool = False
    log_level: str = "INFO"
    # A session ends after this much inactivity (a shift) and at the latest after max days.
    session_idle_hours: float = 12
    session_max_days: float = 7
    invitation_hours: float = 48
    # Work orders: 问效 (review the effect) comes this many days after handling.
    review_days: float = 30
    # Routed matters: this many hours past a missed deadline (to accept or to finish) a matter
    # escalates to the station's supervisor.
    escalate_after_hours: float = 24
    # Detection: a pattern becomes work (a new order, or calls joining an open one) only when
    # its newest call is at most this many days older than the station's newest call; older
    # ones (a backfill of last year's calls) are history for the rankings and place pages.
    detection_recent_days: float = 30
    # Public limits count per browser (app/browser.py) and, generously, per client address,
    # which a carrier's CGNAT or an estate's Wi-Fi gives to thousands of phones at once
    # (docs/decisions.md, issue 12). Resident reports: the public form takes a burst of
    # report_burst per browser (and per Open311 device), then report_per_minute; per address a
    # burst of report_address_burst, then report_address_per_minute. Tracking pages answer
    # track_per_minute look-ups per browser and track_address_per_minute per address. An Open311
    # client (API key: a whole city app) may file open311_per_minute reports.
    report_burst: int = 5
    report_per_minute: float = 1
    report_address_burst: int = 50
    report_address_per_minute: float = 10
    track_per_minute: int = 30
    track_address_per_minute: int = 300
    open311_per_minute: int = 600
    # Volunteers: sign-up opens this many days before a shift; a place may be given back until
    # this many hours before it; the public registration form accepts volunteer_register_per_hour
    # per browser an hour (then refuses); beyond volunteer_register_address_per_hour from one
    # address, or volunteer_register_per_day from everyone in a day, it still stores them, held
    # apart for a careful look (a flood must not shut the form).
    signup_open_days: float = 14
    cancel_hours: float = 12
    volunteer_register_per_hour: int = 5
    volunteer_register_address_per_hour: int = 50
    volunteer_register_per_day: int = 200
    # Work that falls due by itself (services/jobs.py) runs this often in each process; 0 turns
    # it off (tests run the jobs themselves, when they mean to).
    jobs_every_seconds: float = 60
    # 110 call imports: CSV files one person may upload for a preview in an hour (each up to
    # 60 MB, kept on disk for an hour).
    call_uploads_per_hour: int = 20
    # PostgreSQL connection pool per worker (off in tests, whose code runs its own event loops).
    db_pool: bool = True
    # Its size: requests beyond it wait for a connection (a long tail under load). Workers ×
    # size must stay below PostgreSQL's max_connections (100 by default).
    db_pool_size: int = 20
    # PostgreSQL: seconds to wait for a new connection (every connection, the CLI's too) and for
    # one statement (the app's pool: the server cancels it, and the client stops waiting for a
    # server that went silent). Past either the page answers 503, and the next request tries
    # again: the pool replaces broken connections, so the app recovers by itself.
    db_connect_timeout: float = field(default_factory=db_connect_timeout)
    db_statement_timeout: float = 15
    # Live stream (/events): a comment ping this often keeps proxies from closing an idle
    # stream, and each ping also re-reads the table (a missed wake-up costs at most this long).
    events_ping_seconds: float = 15
    # GET /metrics (Prometheus): with a token, only `Authorization: Bearer <token>`; without one,
    # only a request made on this machine straight to the app (loopback, no proxy's headers).
    metrics_token: str = ""
    # An optional street basemap under the map's SVG: an XYZ tile URL template with {z}, {x} and
    # {y} (the district's own tile server, or a path Qianmo serves). Empty (the default): no
    # tiles, no request to any tile server. map_tiles_gcj02: the tiles are drawn in GCJ-02 (most
    # Chinese basemaps), so the map's WGS-84 positions are shifted to be drawn over them.
    map_tile_url: str = ""
    map_tiles_gcj02: bool = False
    # Read replicas (PostgreSQL): a person's reads stay on the primary this long after their own
    # write, so they see what they just saved (a signed cookie: every process knows).
    replica_sticky_seconds: float = 5
    # Web Push (VAPID): the application server's private key, a PEM file; made on first use
    # when it does not exist (every process and host must read the same file). vapid_contact is
    # the `sub` the push services may write to (mailto: or https:); empty: the public address.
    # A contact at localhost or .local turns phone notifications off (Apple refuses them).
    vapid_key_file: Path = Path("var/vapid_private.pem")
    vapid_contact: str = ""

    @classmethod
    def from_env(cls, require_secret: bool = True) -> "Settings":
        env = os.environ.get
        demo = _flag("QIANMO_DEMO")
        secret = env("QIANMO_SECRET_KEY", "")
        if not secret:
            if require_secret and not demo:
                raise SystemExit(
                    "QIANMO_SECRET_KEY is not set: set a long random value (the same for every worker) before serving."
                )
            secret = secrets.token_urlsafe(32)
        return cls(
            database_url=database_url(),
            secret_key=secret,
            public_base_url=env("QIANMO_PUBLIC_BASE_URL", cls.public_base_url).rstrip("/"),
            time_zone=env("QIANMO_TIME_ZONE", cls.time_zone),
            upload_dir=Path(env("QIANMO_UPLOAD_DIR", str(cls.upload_dir))),
            demo=demo,
            log_level=env("QIANMO_LOG_LEVEL", cls.log_level).upper(),
            session_idle_hours=float(env("QIANMO_SESSION_IDLE_HOURS", cls.session_idle_hours)),
            session_max_days=float(env("QIANMO_SESSION_MAX_DAYS", cls.session_max_days)),
            invitation_hours=float(env("QIANMO_INVITATION_HOURS", cls.invitation_hours)),
            signup_open_days=float(env("QIANMO_SIGNUP_OPEN_DAYS", cls.signup_open_days)),
            cancel_hours=float(env("QIANMO_CANCEL_HOURS", cls.cancel_hours)),
            volunteer_register_per_hour=int(env("QIANMO_VOLUNTEER_REGISTER_PER_HOUR", cls.volunteer_register_per_hour)),
            volunteer_register_address_per_hour=int(
                env("QIANMO_VOLUNTEER_REGISTER_ADDRESS_PER_HOUR", cls.volunteer_register_address_per_hour)
            ),
            volunteer_register_per_day=int(env("QIANMO_VOLUNTEER_REGISTER_PER_DAY", cls.volunteer_register_per_day)),
            review_days=float(env("QIANMO_REVIEW_DAYS", cls.review_days)),
            escalate_after_hours=float(env("QIANMO_ESCALATE_AFTER_HOURS", cls.escalate_after_hours)),
            detection_recent_days=float(env("QIANMO_DETECTION_RECENT_DAYS", cls.detection_recent_days)),
            report_burst=int(env("QIANMO_REPORT_BURST", cls.report_burst)),
            report_per_minute=float(env("QIANMO_REPORT_PER_MINUTE", cls.report_per_minute)),
            report_address_burst=int(env("QIANMO_REPORT_ADDRESS_BURST", cls.report_address_burst)),
            report_address_per_minute=float(env("QIANMO_REPORT_ADDRESS_PER_MINUTE", cls.report_address_per_minute)),
            track_per_minute=int(env("QIANMO_TRACK_PER_MINUTE", cls.track_per_minute)),
            track_address_per_minute=int(env("QIANMO_TRACK_ADDRESS_PER_MINUTE", cls.track_address_per_minute)),
            open311_per_minute=int(env("QIANMO_OPEN311_PER_MINUTE", cls.open311_per_minute)),
            db_pool_size=int(env("QIANMO_DB_POOL_SIZE", cls.db_pool_size)),
            jobs_every_seconds=float(env("QIANMO_JOBS_EVERY_SECONDS", cls.jobs_every_seconds)),
            db_connect_timeout=db_connect_timeout(),
            db_statement_timeout=float(env("QIANMO_DB_STATEMENT_TIMEOUT", cls.db_statement_timeout)),
            call_uploads_per_hour=int(env("QIANMO_CALL_UPLOADS_PER_HOUR", cls.call_uploads_per_hour)),
            events_ping_seconds=float(env("QIANMO_EVENTS_PING_SECONDS", cls.events_ping_seconds)),
            metrics_token=env("QIANMO_METRICS_TOKEN", ""),
            map_tile_url=tile_url(env("QIANMO_MAP_TILE_URL", "")),
            map_tiles_gcj02=_flag("QIANMO_MAP_TILES_GCJ02"),
            replica_sticky_seconds=float(env("QIANMO_REPLICA_STICKY_SECONDS", cls.replica_sticky_seconds)),
            vapid_key_file=Path(env("QIANMO_VAPID_KEY_FILE", str(cls.vapid_key_file))),
            vapid_contact=env("QIANMO_VAPID_CONTACT", ""),
        )

    @property
    def map_tile_origin(self) -> str:
        """The tile server's origin for the CSP's img-src ("" when none, or when Qianmo serves them)."""
        parts = urlparse(self.map_tile_url)
        return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""

    @property
    def secure_cookies(self) -> bool:
        return self.public_base_url.startswith("https://")

    @property
    def rp_id(self) -> str:
        """The WebAuthn relying party: the public host name."""
        return urlparse(self.public_base_url).hostname or "localhost"

    @property
    def origin(self) -> str:
        parts = urlparse(self.public_base_url)
        return f"{parts.scheme}://{parts.netloc}"
