"""What `qianmo check` judges, as plain rules: findings, a strong secret, a public address,
migrations, connections. No I/O: services/check.py gathers the facts."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from urllib.parse import urlparse

INFO, OK, WARN, BLOCKER = "info", "ok", "warn", "blocker"
# A secret signs CSRF tokens and browser keys: at least this many characters of a random
# token (secrets.token_urlsafe(48) gives 64) and this much entropy in its own characters.
MIN_SECRET_LENGTH = 32
MIN_SECRET_BITS = 128
WEAK_WORDS = ("changeme", "secret", "password", "qianmo", "example", "test", "demo")
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
# Connections PostgreSQL keeps for superusers and for the operator's own psql, backups, replicas.
RESERVED_CONNECTIONS = 10


@dataclass(frozen=True)
class Finding:
    level: str
    topic: str
    text: str


def secret_problem(secret: str) -> str | None:
    """Why the secret key is too weak to open with, or None."""
    if not secret:
        return "QIANMO_SECRET_KEY is not set (serve refuses to start)"
    if len(secret) < MIN_SECRET_LENGTH:
        return f"QIANMO_SECRET_KEY has {len(secret)} characters; use at least {MIN_SECRET_LENGTH} random ones"
    lowered = secret.lower()
    if any(word in lowered for word in WEAK_WORDS):
        return "QIANMO_SECRET_KEY contains a guessable word; use a random value"
    counts = Counter(secret)
    bits = -sum(n * math.log2(n / len(secret)) for n in counts.values())
    if bits < MIN_SECRET_BITS:
        return f"QIANMO_SECRET_KEY repeats itself (about {bits:.0f} bits); use a random value"
    return None


def base_url_finding(url: str) -> Finding:
    parts = urlparse(url)
    if parts.scheme == "https" and parts.hostname:
        return Finding(OK, "public address", f"{url} (Secure cookies, HSTS)")
    if parts.hostname in LOCAL_HOSTS:
        return Finding(WARN, "public address", f"{url} is this machine only: phones elsewhere cannot reach it")
    return Finding(
        BLOCKER,
        "public address",
        f"QIANMO_PUBLIC_BASE_URL={url}: not https (cookies would travel in clear; passkeys need https)",
    )


def migrations_finding(known: set[str], applied: set[str]) -> Finding:
    newer = applied - known
    if newer:
        return Finding(
            BLOCKER,
            "migrations",
            f"the database has {len(newer)} migration(s) this version does not know: it was made by a newer Qianmo",
        )
    pending = known - applied
    if pending:
        return Finding(WARN, "migrations", f"{len(pending)} pending (serve and migrate apply them first)")
    return Finding(OK, "migrations", f"all {len(known)} applied")


def connections_finding(workers: int, pool_size: int, max_connections: int) -> Finding:
    wanted = workers * pool_size
    room = max_connections - RESERVED_CONNECTIONS
    text = f"{workers} worker(s) × pool {pool_size} = {wanted} of max_connections {max_connections}"
    if wanted > room:
        return Finding(BLOCKER, "connections", f"{text}: lower QIANMO_DB_POOL_SIZE or raise max_connections")
    return Finding(OK, "connections", text)


def blocked(findings: list[Finding]) -> bool:
    return any(f.level == BLOCKER for f in findings)


def replica_finding(where: str, lag: float | None, max_lag: float, error: str = "") -> Finding:
    """A read replica: in sync (takes reads), lagging or down (skipped: reads go to the primary)."""
    if error:
        return Finding(WARN, "replica", f"{where} does not answer ({error}): its reads go to the primary")
    if lag is None:
        return Finding(WARN, "replica", f"{where} is not a streaming replica (not in recovery): it takes no reads")
    if lag > max_lag:
        return Finding(
            WARN, "replica", f"{where} is {lag:.0f} s behind (over {max_lag:g} s): skipped until it catches up"
        )
    return Finding(OK, "replica", f"{where} in sync ({lag:.1f} s behind)")
