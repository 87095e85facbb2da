"""Read replicas: which node a request's plain reads run on.

Routing lives in the engine, not in the services: a request that may read from a replica
sets the ContextVar READ_FROM_REPLICA (the middleware below: a GET or HEAD from someone who has
not written in the last `replica_sticky_seconds`), and ReplicatedEngine sends that request's
SELECTs outside a transaction to a replica in sync. Everything else (every write, every
transaction, every request after the person's own write) stays on the primary. This touches no
service: GETs do not write (tests/integration/test_get_writes.py), and a write a GET does make
(an audit row, a session touch) is not a SELECT, so it goes to the primary anyway.

A replica's health is checked in the background (its replay lag, cached REPLICA_CHECK_EVERY
seconds); a request never waits for a check, and a replica that is down, unknown or lagging
more than `replica_max_lag_seconds` is skipped. A read that fails on a replica is run again on
the primary.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import logging
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from piccolo.engine.postgres import PostgresEngine
from piccolo.querystring import QueryString

log = logging.getLogger(__name__)

READ_FROM_REPLICA: ContextVar[bool] = ContextVar("read_from_replica", default=False)
# How often each replica's lag is read again (in the background).
REPLICA_CHECK_EVERY = 2.0
# The cookie that keeps a person's reads on the primary for a few seconds after their write.
PRIMARY_COOKIE = "qianmo_primary"

# Seconds the replica is behind: 0 when it has replayed all it received (an idle primary sends
# nothing new, so the last replayed transaction's age would be no measure of lag).
LAG_SQL = (
    "SELECT CASE WHEN NOT pg_is_in_recovery() THEN NULL "
    "WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
    "ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END AS lag"
)


@dataclass
class ReplicaState:
    name: str
    engine: PostgresEngine
    lag: float | None = None  # None: down, not a replica, or not checked yet
    checked: float = 0.0
    checking: bool = False


class ReplicatedEngine(PostgresEngine):
    """The primary's engine, with its replicas as Piccolo `extra_nodes` (Table.select().run(node=…)
    works too), and the routing described above."""

    def __init__(
        self, *args: Any, max_lag: float = 10, unavailable: Callable[[BaseException], bool], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.max_lag = max_lag
        self.unavailable = unavailable  # db.unavailable: which errors mean the replica is down
        self.replicas = [ReplicaState(name, engine) for name, engine in self.extra_nodes.items()]
        self._turn = itertools.count()

    def read_node(self) -> PostgresEngine:
        """The engine this request's plain reads go to: a replica in sync, or the primary."""
        if not READ_FROM_REPLICA.get() or self.current_transaction.get() is not None:
            return self
        now = time.monotonic()
        for state in self.replicas:
            if now - state.checked > REPLICA_CHECK_EVERY and not state.checking:
                state.checking = True
                asyncio.get_running_loop().create_task(self.check(state))
        ready = [s for s in self.replicas if s.lag is not None and s.lag <= self.max_lag]
        if not ready:
            return self
        return ready[next(self._turn) % len(ready)].engine

    async def check(self, state: ReplicaState) -> float | None:
        """Read the replica's lag now (None when it does not answer or is not a replica)."""
        try:
            rows = await state.engine._run_in_new_connection(LAG_SQL, [])
            lag = rows[0]["lag"]
            state.lag = None if lag is None else float(lag)
        except Exception as exc:  # down, refused, timed out: skipped until it answers again
            if state.lag is not None:
                log.warning("replica %s skipped: %s", state.name, exc)
            state.lag = None
        finally:
            state.checked, state.checking = time.monotonic(), False
        return state.lag

    async def run_querystring(self, querystring: QueryString, in_pool: bool = True):
        node = self.read_node()
        if node is not self:
            query = querystring.compile_string(engine_type=self.engine_type)[0]
            if query.lstrip()[:6].upper() in ("SELECT", "WITH R"):  # WITH RECURSIVE reads
                try:
                    return await node.run_querystring(querystring, in_pool=in_pool)
                except Exception as exc:
                    if not self.unavailable(exc):
                        raise
                    for state in self.replicas:
                        if state.engine is node:
                            state.lag = None  # skipped until the next check finds it well
        return await super().run_querystring(querystring, in_pool=in_pool)

    async def start_connection_pool(self, **kwargs: Any) -> None:
        await super().start_connection_pool(**kwargs)
        for state in self.replicas:
            if await self.check(state) is None:
                log.warning("replica %s is not in service at start-up: reads go to the primary", state.name)
            # A replica down at start-up gets no pool; its reads then open a connection each
            # (short connect timeout) until the app restarts, and only while it is in sync.
            try:
                await state.engine.start_connection_pool(
                    **{**kwargs, "min_size": 0, "timeout": state.engine.config["timeout"]}
                )
            except Exception as exc:
                log.warning("replica %s: no pool (%s)", state.name, exc)

    async def close_connection_pool(self) -> None:
        for state in self.replicas:
            if state.engine.pool is not None:
                await state.engine.close_connection_pool()
        await super().close_connection_pool()


# --- stickiness: a signed cookie, so every process knows -----------------------------------


def primary_cookie(secret: str, until: float) -> str:
    stamp = str(int(until))
    return f"{stamp}.{_sign(secret, stamp)}"


def sticky(secret: str, cookie: str | None, now: float) -> bool:
    """True while the cookie says this person wrote less than the sticky window ago."""
    if not cookie or "." not in cookie:
        return False
    stamp, signature = cookie.split(".", 1)
    if not stamp.isdigit() or not hmac.compare_digest(signature, _sign(secret, stamp)):
        return False
    return now < int(stamp)


def _sign(secret: str, stamp: str) -> str:
    return hmac.new(secret.encode(), f"primary:{stamp}".encode(), hashlib.sha256).hexdigest()[:32]


_READS = (b"GET", b"HEAD")
# The live stream reads right after a NOTIFY from the primary: a replica might not hold it yet.
PRIMARY_PATHS = ("/events",)


class ReplicaRouting:
    """ASGI: a GET or HEAD from someone who has not just written may read from a replica; every
    other request stamps the cookie that keeps this person's reads on the primary for
    `sticky_seconds` (whichever process serves them next)."""

    def __init__(self, app: Any, secret: str, sticky_seconds: float, secure: bool) -> None:
        self.app, self.secret, self.sticky_seconds, self.secure = app, secret, sticky_seconds, secure

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if scope["method"].encode() in _READS and not scope["path"].startswith(PRIMARY_PATHS):
            token = READ_FROM_REPLICA.set(not sticky(self.secret, _cookie(scope), time.time()))
            try:
                return await self.app(scope, receive, send)
            finally:
                READ_FROM_REPLICA.reset(token)
        until = time.time() + self.sticky_seconds
        header = f"{PRIMARY_COOKIE}={primary_cookie(self.secret, until)}; Max-Age={int(self.sticky_seconds) + 1}; Path=/; HttpOnly; SameSite=Lax"
        if self.secure:
            header += "; Secure"

        async def stamped(message: Any) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", header.encode())]}
            await send(message)

        await self.app(scope, receive, stamped)


def _cookie(scope: Any) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            for part in value.decode("latin-1").split(";"):
                key, _, val = part.strip().partition("=")
                if key == PRIMARY_COOKIE:
                    return val
    return None
