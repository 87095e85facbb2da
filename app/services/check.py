"""`qianmo check`: the facts an operator must know before opening, judged by domain/check.py.

Reads only: it connects to the database (never migrates or creates it) and writes one
temporary file into the upload folder to see that it can.
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
from pathlib import Path
from urllib.parse import urlparse

from app.domain.check import (
    BLOCKER,
    INFO,
    OK,
    WARN,
    Finding,
    base_url_finding,
    connections_finding,
    migrations_finding,
    replica_finding,
    secret_problem,
)
from app.services import backup
from app.settings import Settings, replica_max_lag, replica_urls


def run(settings: Settings, workers: int) -> list[Finding]:
    findings = [Finding(INFO, "settings", line) for line in _settings_lines(settings, workers)]
    problem = secret_problem(settings.secret_key)
    findings.append(Finding(BLOCKER, "secret key", problem) if problem else Finding(OK, "secret key", "strong"))
    findings.append(base_url_finding(settings.public_base_url))
    findings.append(_upload_dir(settings.upload_dir))
    if backup.engine_of(settings.database_url) == "sqlite":
        findings += _sqlite(backup.sqlite_path(settings.database_url))
    else:
        findings += _postgres(settings, workers)
    return findings


def _settings_lines(settings: Settings, workers: int) -> list[str]:
    url = urlparse(settings.database_url)
    where = settings.database_url if url.scheme == "sqlite" else f"{url.hostname}:{url.port or 5432}{url.path}"
    return [
        f"database {url.scheme} {where}",
        f"time zone {settings.time_zone}, default locale {settings.default_locale}",
        f"upload folder {settings.upload_dir.resolve()}",
        f"{workers} worker(s), pool {settings.db_pool_size} each, statement timeout {settings.db_statement_timeout:g} s",
        "metrics: bearer token" if settings.metrics_token else "metrics: this machine only (no QIANMO_METRICS_TOKEN)",
    ]


def _upload_dir(folder: Path) -> Finding:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".check-", suffix=backup.SKIPPED_SUFFIX):
            pass
    except OSError as exc:
        return Finding(BLOCKER, "upload folder", f"{folder} is not writable: {exc.strerror or exc}")
    return Finding(OK, "upload folder", f"{folder} writable")


def _sqlite(path: Path) -> list[Finding]:
    if not path.exists():
        return [Finding(WARN, "database", f"{path} does not exist yet: serve creates it and applies the migrations")]
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            version = conn.execute("SELECT sqlite_version()").fetchone()[0]
            applied = backup.sqlite_migrations(conn)
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return [Finding(BLOCKER, "database", f"{path} cannot be read: {exc}")]
    return [
        Finding(OK, "database", f"SQLite {version} at {path} (one machine: no replicas)"),
        migrations_finding(backup.known_migrations(), set(applied)),
    ]


def _postgres(settings: Settings, workers: int) -> list[Finding]:
    try:
        facts = asyncio.run(_postgres_facts(settings.database_url, settings.db_connect_timeout))
    except backup.BackupError as exc:
        return [Finding(BLOCKER, "database", str(exc))]
    version, major, max_connections, applied = facts
    findings = [
        Finding(OK, "database", f"PostgreSQL {version} reachable"),
        migrations_finding(backup.known_migrations(), applied),
        connections_finding(workers, settings.db_pool_size, max_connections),
    ]
    try:
        findings.append(Finding(OK, "backups", f"{backup.client_binary('pg_dump', major)} matches the server"))
    except backup.BackupError as exc:
        findings.append(Finding(WARN, "backups", f"qianmo backup cannot run: {exc}"))
    return findings + [asyncio.run(_replica(url, min(settings.db_connect_timeout, 2))) for url in replica_urls()]


async def _replica(url: str, connect_timeout: float) -> Finding:
    from app.replicas import LAG_SQL

    parts = urlparse(url)
    where = f"{parts.hostname}:{parts.port or 5432}{parts.path}"  # never the password
    try:
        conn = await backup.connect(url, connect_timeout)
    except backup.BackupError as exc:
        return replica_finding(where, None, replica_max_lag(), error=str(exc.__cause__ or exc))
    try:
        lag = await conn.fetchval(LAG_SQL)
    finally:
        await conn.close()
    return replica_finding(where, None if lag is None else float(lag), replica_max_lag())


async def _postgres_facts(url: str, connect_timeout: float) -> tuple[str, int, int, set[str]]:
    conn = await backup.connect(url, connect_timeout)
    try:
        version = await conn.fetchval("SHOW server_version")
        major = await backup.server_major(conn)
        max_connections = int(await conn.fetchval("SHOW max_connections"))
        applied = await backup.postgres_migrations(conn)
    finally:
        await conn.close()
    return version, major, max_connections, set(applied)
