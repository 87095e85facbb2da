"""Engine construction and the write transaction every service uses."""
from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import aiosqlite
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType, dict_factory
from piccolo.querystring import QueryString

# Seconds a writer waits for SQLite's lock before "database is locked".
SQLITE_BUSY_TIMEOUT = 30
# Persistent read connections per process (each is an aiosqlite thread); 2 cores here.
SQLITE_READERS = 3


def engine_from_url(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        _enable_wal(path)
        return PooledSQLiteEngine(path=str(path), timeout=SQLITE_BUSY_TIMEOUT)
    if url.startswith(("postgresql://", "postgres://")):
        parts = urlparse(url)
        return PostgresEngine(
            config={
                "host": parts.hostname or "localhost",
                "port": parts.port or 5432,
                "user": parts.username or "postgres",
                "password": parts.password or "",
                "database": parts.path.lstrip("/") or "postgres",
            }
        )
    raise SystemExit(f"QIANMO_DATABASE_URL must start with sqlite:/// or postgresql:// (got {url.split(':')[0]}:…)")


def _enable_wal(path: Path) -> None:
    # WAL is a property of the file: set once, readers never block the writer.
    with sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT) as conn:
        conn.execute("PRAGMA journal_mode=WAL")


def write_transaction(engine: Engine):
    """A transaction that takes SQLite's write lock up front (no upgrade deadlocks)."""
    if isinstance(engine, SQLiteEngine):
        return engine.transaction(transaction_type=TransactionType.immediate)
    return engine.transaction()


class PooledSQLiteEngine(SQLiteEngine):
    """Piccolo's SQLiteEngine, plus persistent connections once `start_connection_pool()` ran.

    Piccolo opens a new aiosqlite connection (a new thread, ~2 ms) for every query. With the
    pool started (app start-up, like PostgreSQL's pool) this process keeps:
      * a few read-only connections for plain SELECTs outside a transaction; each statement
        is its own read transaction in WAL mode, so it sees only committed data;
      * ONE writer connection for every transaction and every other statement, held under an
        asyncio.Lock from BEGIN to COMMIT. Writers of this process queue in Python (FIFO)
        instead of sleeping in SQLite's busy handler, whose growing back-off sleeps gave a
        1.4 s p99 under 50 concurrent writers. Other processes (several uvicorn workers) still
        meet at SQLite's file lock and wait up to the busy timeout, as before.
    Queries inside a transaction find it through Piccolo's `current_transaction` ContextVar and
    run on its connection. Without the pool (migrations, CLI, in-process tests that use several
    event loops) every method is SQLiteEngine's own.
    """

    __slots__ = ("_writer", "_writer_lock", "_writer_dirty", "_readers", "_reader_count")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._writer: aiosqlite.Connection | None = None
        self._writer_lock: asyncio.Lock | None = None
        self._writer_dirty = False  # a transaction ended without COMMIT/ROLLBACK completing
        self._readers: asyncio.Queue[aiosqlite.Connection] | None = None
        self._reader_count = 0

    @property
    def pooled(self) -> bool:
        return self._writer is not None

    async def _open(self, read_only: bool) -> aiosqlite.Connection:
        connection = await aiosqlite.connect(**self.connection_kwargs)
        connection.row_factory = dict_factory  # type: ignore[assignment]
        # journal_mode=WAL is already on the file. NORMAL: in WAL, a commit is durable once the
        # WAL is synced at checkpoint; a power cut may lose the last commits, never consistency.
        pragmas = ["foreign_keys = 1", "synchronous = NORMAL", f"busy_timeout = {SQLITE_BUSY_TIMEOUT * 1000}"]
        if read_only:
            pragmas.append("query_only = 1")  # a write routed here by mistake fails instead of contending
        for pragma in pragmas:
            await connection.execute(f"PRAGMA {pragma}")
        return connection

    async def start_connection_pool(self, readers: int = SQLITE_READERS) -> None:  # type: ignore[override]
        if self.pooled:
            return
        # RETURNING (3.35) is how inserts report their ids on these connections.
        assert sqlite3.sqlite_version_info >= (3, 35), "SQLite 3.35 or newer is needed"
        self._writer_lock = asyncio.Lock()  # bound to the event loop that serves the app
        self._readers = asyncio.Queue()
        for _ in range(readers):
            self._readers.put_nowait(await self._open(read_only=True))
        self._reader_count = readers
        self._writer = await self._open(read_only=False)

    async def close_connection_pool(self) -> None:  # type: ignore[override]
        if not self.pooled:
            return
        writer, readers, lock = self._writer, self._readers, self._writer_lock
        assert writer is not None and readers is not None and lock is not None
        self._writer = None  # new queries take SQLiteEngine's path from here on
        async with lock:  # a transaction still running finishes first
            if writer.in_transaction:
                await writer.rollback()
            await writer.close()
        for _ in range(self._reader_count):  # waits for readers still in use to come back
            await (await readers.get()).close()
        self._readers = None

    # --- the writer ------------------------------------------------------------------------

    async def _take_writer(self) -> aiosqlite.Connection:
        assert self._writer_lock is not None and self._writer is not None
        await self._writer_lock.acquire()
        try:
            if self._writer_dirty:
                # The last holder was cancelled or failed mid-COMMIT. The connection's thread runs
                # calls in order, so this rollback runs after whatever it left queued.
                await self._writer.rollback()  # a no-op when no transaction is open
                self._writer_dirty = False
            return self._writer
        except BaseException:
            self._writer_lock.release()
            raise

    def _give_back_writer(self, clean: bool) -> None:
        assert self._writer_lock is not None
        self._writer_dirty = self._writer_dirty or not clean
        self._writer_lock.release()

    def transaction(
        self, transaction_type: TransactionType = TransactionType.deferred, allow_nested: bool = True
    ) -> SQLiteTransaction:
        if not self.pooled:
            return super().transaction(transaction_type=transaction_type, allow_nested=allow_nested)
        return WriterTransaction(engine=self, transaction_type=transaction_type, allow_nested=allow_nested)

    # --- running statements ------------------------------------------------------------------

    async def _run_pooled(self, query: str, args: list[Any]) -> list[dict]:
        transaction = self.current_transaction.get()
        if transaction is not None:
            # Inside a transaction: its own connection (and so its own uncommitted writes).
            return await transaction.connection.execute_fetchall(query, args)  # type: ignore[return-value]
        if query.lstrip()[:6].upper() == "SELECT":
            assert self._readers is not None
            reader = await self._readers.get()
            try:
                return await reader.execute_fetchall(query, args)  # type: ignore[return-value]
            finally:
                self._readers.put_nowait(reader)
        # A write outside a transaction (autocommit), or anything not plainly a SELECT.
        writer = await self._take_writer()
        clean = False
        try:
            rows = await writer.execute_fetchall(query, args)
            clean = True
            return rows  # type: ignore[return-value]
        finally:
            self._give_back_writer(clean)

    async def run_querystring(self, querystring: QueryString, in_pool: bool = False):
        if not self.pooled:
            return await super().run_querystring(querystring, in_pool=in_pool)
        query_id = self.get_query_id()
        if self.log_queries:
            self.print_query(query_id=query_id, query=querystring.__str__())
        query, args = querystring.compile_string(engine_type=self.engine_type)
        response = await self._run_pooled(query, args)
        if self.log_responses:
            self.print_response(query_id=query_id, response=response)
        return response

    async def run_ddl(self, ddl: str, in_pool: bool = False):
        if not self.pooled:
            return await super().run_ddl(ddl, in_pool=in_pool)
        return await self._run_pooled(ddl, [])


class WriterTransaction(SQLiteTransaction):
    """A transaction on the pooled engine's writer connection: holds its lock from BEGIN to the end."""

    __slots__ = ()
    engine: PooledSQLiteEngine

    async def __aenter__(self) -> SQLiteTransaction:
        if self._parent is not None:
            return self._parent
        self.connection = await self.engine._take_writer()
        try:
            await self.begin()
        except BaseException:
            self.engine._give_back_writer(clean=False)
            raise
        self.context = self.engine.current_transaction.set(self)
        return self

    async def __aexit__(self, exception_type, exception, traceback) -> bool:
        if self._parent is not None:
            return exception is None
        try:
            if exception is not None:
                if not self._rolled_back:
                    await self.rollback()
            elif not self._committed and not self._rolled_back:
                await self.commit()
        finally:
            # Unlike SQLiteTransaction, the connection stays open for the next transaction.
            self.engine.current_transaction.reset(self.context)
            self.engine._give_back_writer(clean=self._committed or self._rolled_back)
        return exception is None
