"""Every setting in one place, read from the environment (see README)."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

DEFAULT_SQLITE = "sqlite:///var/qianmo.sqlite3"


def database_url() -> str:
    return os.environ.get("QIANMO_DATABASE_URL") or DEFAULT_SQLITE


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
    # Resident reports: the public form takes a burst of report_burst per client IP, then
    # report_per_minute; tracking pages answer track_per_minute lookups per client IP; an
    # Open311 client (API key) may file open311_per_minute reports.
    report_burst: int = 5
    report_per_minute: float = 1
    track_per_minute: int = 30
    open311_per_minute: int = 60
    # Volunteers: sign-up opens this many days before a shift; a place may be given back until
    # this many hours before it; the public registration form accepts this many per client IP
    # an hour, and this many from everyone in a day.
    signup_open_days: float = 14
    cancel_hours: float = 12
    volunteer_register_per_hour: int = 5
    volunteer_register_per_day: int = 200
    # 110 call imports: CSV files one person may upload for a preview in an hour (each up to
    # 60 MB, kept on disk for an hour).
    call_uploads_per_hour: int = 20
    # PostgreSQL connection pool per worker (off in tests, whose code runs its own event loops).
    db_pool: bool = True
    # Its size: requests beyond it wait for a connection (a long tail under load). Workers ×
    # size must stay below PostgreSQL's max_connections (100 by default).
    db_pool_size: int = 20

    @classmethod
    def from_env(cls, require_secret: bool = True) -> "Settings":
        env = os.environ.get
        demo = _flag("QIANMO_DEMO")
        secret = env("QIANMO_SECRET_KEY", "")
        if not secret:
            if require_secret and not demo:
                raise SystemExit(
                    "QIANMO_SECRET_KEY is not set: set a long random value "
                    "(the same for every worker) before serving."
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
            volunteer_register_per_day=int(env("QIANMO_VOLUNTEER_REGISTER_PER_DAY", cls.volunteer_register_per_day)),
            review_days=float(env("QIANMO_REVIEW_DAYS", cls.review_days)),
            report_burst=int(env("QIANMO_REPORT_BURST", cls.report_burst)),
            report_per_minute=float(env("QIANMO_REPORT_PER_MINUTE", cls.report_per_minute)),
            track_per_minute=int(env("QIANMO_TRACK_PER_MINUTE", cls.track_per_minute)),
            open311_per_minute=int(env("QIANMO_OPEN311_PER_MINUTE", cls.open311_per_minute)),
            db_pool_size=int(env("QIANMO_DB_POOL_SIZE", cls.db_pool_size)),
            call_uploads_per_hour=int(env("QIANMO_CALL_UPLOADS_PER_HOUR", cls.call_uploads_per_hour)),
        )

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
