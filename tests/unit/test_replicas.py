"""The rules of read replicas that need no server: the sticky cookie and the operator's check."""

from __future__ import annotations

from app.domain.check import OK, WARN, replica_finding
from app.replicas import primary_cookie, sticky

SECRET = "s" * 40


def test_the_cookie_keeps_reads_on_the_primary_until_its_time_and_only_when_signed_here():
    cookie = primary_cookie(SECRET, until=1_000)
    assert sticky(SECRET, cookie, now=999)
    assert not sticky(SECRET, cookie, now=1_000)
    assert not sticky("another secret" * 3, cookie, now=999)
    assert not sticky(SECRET, "9999999999." + cookie.split(".")[1], now=999)  # a later time, forged
    assert not sticky(SECRET, None, now=0) and not sticky(SECRET, "nonsense", now=0)


def test_a_replica_is_in_sync_lagging_or_down():
    assert replica_finding("db2:5432/q", 0.4, 10).level == OK
    assert replica_finding("db2:5432/q", 42, 10).level == WARN
    assert replica_finding("db2:5432/q", None, 10).level == WARN
    assert "does not answer" in replica_finding("db2:5432/q", None, 10, error="refused").text
