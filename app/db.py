"""Engine construction and the write transaction every service uses."""

from __future__ import annotations

import asyncio
import concurrent.futures
import errno
import socket
import sqlite3
import time
from collections.abc import Callable
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlparse

import asyncpg
from piccolo.columns.defaults.base import Default
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType, dict_factory
from piccolo.querystring import QueryString
from piccolo.table import Table
from piccolo.utils.sql_values import convert_to_sql_value

from app.replicas import ReplicatedEngine

# Seconds a writer waits for SQLite's lock before "database is locked".
SQLITE_BUSY_TIMEOUT = 30
# Pooled engine: a read may run this long on the event loop before it moves to a thread.
IN_LOOP_BUDGET = 0.005
# Pooled engine: a long write transaction (a CSV import) lets other requests run this often.
YIELD_EVERY = 0.002
# Pooled engine: the WAL is checkpointed in a thread after this many writes, not on the loop.
CHECKPOINT_EVERY = 200
# Pooled engine: once the WAL holds this many pages (~40 MB), writers pause for a checkpoint
# so that it can start over; the checkpoints in between run beside the writers.
WAL_RESTART_PAGES = 10_000
# Seconds to wait for a replica's connection: a replica that is down must not hold up a page.
REPLICA_CONNECT_TIMEOUT = 1.0


def engine_from_url(
    url: str, connect_timeout: float = 5, replica_urls: list[str] | None = None, max_lag: float = 10
) -> Engine:
    """The engine for QIANMO_DATABASE_URL. PostgreSQL: a connection not made within
    `connect_timeout` seconds fails (asyncpg waits 60 s by default); the statement timeout
    is the app pool's (main.pool_options). With `replica_urls`, the primary's engine carries
    them as Piccolo extra_nodes and routes reads (app/replicas.py); a replica's connect timeout
    is short (REPLICA_CONNECT_TIMEOUT), so one that is down is soon skipped.
    SQLite is a local file: its only wait is for another process's write lock (SQLITE_BUSY_TIMEOUT)."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        _enable_wal(path)
        return PooledSQLiteEngine(path=str(path), timeout=SQLITE_BUSY_TIMEOUT)
    if url.startswith(("postgresql://", "postgres://")):
        if not replica_urls:
            return PostgresEngine(config=_pg_config(url, connect_timeout))
        nodes = {
            f"replica_{i}": PostgresEngine(config=_pg_config(replica, min(connect_timeout, REPLICA_CONNECT_TIMEOUT)))
            for i, replica in enumerate(replica_urls, 1)
        }
        return ReplicatedEngine(
            config=_pg_config(url, connect_timeout), extra_nodes=nodes, max_lag=max_lag, unavailable=unavailable
        )
    raise SystemExit(f"QIANMO_DATABASE_URL must start with sqlite:/// or postgresql:// (got {url.split(':')[0]}:…)")


def _pg_config(url: str, connect_timeout: float) -> dict:
    parts = urlparse(url)
    return {
        "host": parts.hostname or "localhost",
        "port": parts.port or 5432,
        "user": parts.username or "postgres",
        "password": parts.password or "",
        "database": parts.path.lstrip("/") or "postgres",
        "timeout": connect_timeout,
    }


def _enable_wal(path: Path) -> None:
    # WAL is a property of the file: set once, readers never block the writer.
    with sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT) as conn:
        conn.execute("PRAGMA journal_mode=WAL")


# Errors that mean the database did not answer, not that the request or the code was wrong.
_NETWORK_ERRNOS = {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN, errno.EHOSTDOWN}


def unavailable(exc: BaseException) -> bool:
    """True when `exc` says the database is down, unreachable, too slow or busy: a request may
    well succeed in a moment (503), unlike a bug (500). Connection refused, reset or timed out;
    no route to the host; a name that does not resolve; PostgreSQL's connection errors, a
    statement cancelled by statement_timeout, a server shutting down or full; SQLite's lock
    still held by another process after the busy timeout."""
    if isinstance(
        exc,
        (
            TimeoutError,
            ConnectionError,
            socket.gaierror,
            asyncpg.PostgresConnectionError,
            asyncpg.exceptions.OperatorInterventionError,
            asyncpg.exceptions.TooManyConnectionsError,
        ),
    ):
        return True
    if isinstance(exc, sqlite3.OperationalError):
        return exc.sqlite_errorcode & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    # asyncio reports a host whose every address failed as one plain OSError.
    return isinstance(exc, OSError) and (exc.errno in _NETWORK_ERRNOS or str(exc).startswith("Multiple exceptions"))


def write_transaction(engine: Engine):
    """A transaction that takes SQLite's write lock up front (no upgrade deadlocks)."""
    if isinstance(engine, SQLiteEngine):
        return engine.transaction(transaction_type=TransactionType.immediate)
    return engine.transaction()


def read_only(query: str) -> str:
    """A read that starts with WITH, as one that starts with SELECT: the SQLite engine sends
    plain SELECTs to its reader, anything else to the one writer (PooledSQLiteEngine)."""
    return f"SELECT * FROM ({query}) AS answer"


class Statement:
    """SQL written once, with {} for each value, for what every request runs (its session,
    its scope, the row it writes). Piccolo builds and compiles a query anew each time, which
    cost more than running these; a Statement is compiled once per engine type."""

    def __init__(self, sql: str) -> None:
        self.sql = sql
        self._compiled: dict[str, str] = {}

    async def fetch(self, engine: Engine, *args: Any) -> list[dict]:
        kind = engine.engine_type
        if kind not in self._compiled:
            parts = self.sql.split("{}")
            marks = ["?" if kind == "sqlite" else f"${i}" for i in range(1, len(parts))]
            self._compiled[kind] = "".join(part + mark for part, mark in zip(parts, marks)) + parts[-1]
        rows = await engine.run_querystring(_Compiled(self._compiled[kind], args))
        return engine.transform_response_to_dicts(rows) if rows else []


class _Compiled(QueryString):
    """What the engines run: SQL already in their own placeholders."""

    __slots__ = ("sql",)

    def __init__(self, sql: str, args: tuple) -> None:  # no QueryString parsing: that is the point
        self.sql, self.args = sql, list(args)
        self.query_type, self.table = "generic", None

    def compile_string(self, engine_type: str = "postgres") -> tuple[str, list]:
        return self.sql, cast(list, self.args)  # the list __init__ made

    def __str__(self) -> str:
        return self.sql


# Values the drivers take as they are; anything else goes through Piccolo's conversion.
_PLAIN = (str, int, float, bool, type(None), datetime, date)


class Param:
    """A value a Prepared query takes at each run (`p.author`), or the i-th item of a list given
    for `is_in`."""

    __slots__ = ("name", "index")

    def __init__(self, name: str, index: int | None = None) -> None:
        self.name, self.index = name, index


class Prepared:
    """A Piccolo select written as usual, built and compiled once per shape instead of at every
    run: Piccolo spends milliseconds building a query with joins (each foreign-key chain copies
    its columns and calls dir()), far more than the database takes to answer it.

        TODAY = Prepared(lambda p: FieldLog.select(...).where(FieldLog.author == p.author))
        rows = await TODAY.rows(author=7)

    `p.name` stands for a value given at run time; a list for `is_in` is written
    `Column.is_in(p.items)` and given as a list: its length is part of the shape (one compiled
    text per length). Values must be plain (str, int, float, bool, None, date, datetime): what
    the drivers take as they are. Only plain selects returning dicts (no output options)."""

    def __init__(self, build: Callable[[Any], Any]) -> None:
        self.build = build
        self._compiled: dict[tuple, tuple[type[Table], str, list]] = {}

    async def rows(self, **values: Any) -> list[dict]:
        lengths = tuple(sorted((k, len(v)) for k, v in values.items() if isinstance(v, (list, tuple))))
        if lengths not in self._compiled:
            self._compiled[lengths] = self._compile(dict(lengths))
        table, sql, slots = self._compiled[lengths]
        engine = table._meta.db  # looked up at each run, as Piccolo does: tests and the app may set it
        args = []
        for slot in slots:
            if isinstance(slot, Param):
                value = values[slot.name] if slot.index is None else values[slot.name][slot.index]
                if not isinstance(value, _PLAIN):
                    raise TypeError(f"{slot.name}: {type(value).__name__} is not a plain value")
                args.append(value)
            else:
                args.append(slot)
        rows = await engine.run_querystring(_Compiled(sql, tuple(args)))
        return engine.transform_response_to_dicts(rows) if rows else []

    async def first(self, **values: Any) -> dict | None:
        rows = await self.rows(**values)
        return rows[0] if rows else None

    def _compile(self, lengths: dict[str, int]) -> tuple[type[Table], str, list]:
        query = self.build(_Params(lengths))
        output = getattr(query, "output_delegate", None)
        if output is not None and (output._output.as_objects or output._output.load_json or output._output.nested):
            raise ValueError("Prepared takes plain selects only")
        (querystring,) = query.querystrings
        sql, slots = querystring.compile_string(engine_type=query.table._meta.db.engine_type)
        return query.table, sql, list(slots)


class _Params:
    """What a Prepared query's builder gets: `p.author` is Param("author"), a list param a list of
    Params of the length given this time."""

    def __init__(self, lengths: dict[str, int]) -> None:
        self._lengths = lengths

    def __getattr__(self, name: str) -> Any:
        if name in self._lengths:
            return [Param(name, i) for i in range(self._lengths[name])]
        return Param(name)


class _Insert:
    """One table's INSERT text and how to fill each column that is not given."""

    def __init__(self, table: type[Table]) -> None:
        self.columns = [(c._meta.name, c, _default_of(c)) for c in table._meta.columns if not c._meta.primary_key]
        names = ", ".join(f'"{c._meta.db_column_name}"' for _, c, _ in self.columns)
        placeholders = ", ".join("{}" for _ in self.columns)
        self.statement = Statement(
            f"INSERT INTO {table._meta.get_formatted_tablename()} ({names}) "
            f'VALUES ({placeholders}) RETURNING "{table._meta.primary_key._meta.db_column_name}" AS id'
        )


def _default_of(column: Any) -> Callable[[], Any]:
    """What Piccolo's Table() puts in a column left out: its default, called when it is a
    function or the time now (TimestamptzNow and its kind), computed once per table here."""
    default = getattr(column, "default", None)
    if isinstance(default, Enum):
        default = default.value
    if isinstance(default, Default):
        return default.python
    if callable(default):
        return default
    if default is None and not column._meta.null:

        def missing() -> Any:
            raise ValueError(f"{column._meta.name} wasn't provided")

        return missing
    return lambda: default


_INSERTS: dict[type[Table], _Insert] = {}


async def insert_row(table: type[Table], **values: Any) -> int:
    """Insert one row of `table` and return its id; columns not given take their defaults.
    Piccolo writes an INSERT anew for every row, a table instance included (~0.2 ms); this
    writes it once per table. Values convert as in Piccolo's own insert."""
    statement = _INSERTS.get(table) or _INSERTS.setdefault(table, _Insert(table))
    args = []
    for name, column, default in statement.columns:
        value = values.pop(name) if name in values else default()
        args.append(value if isinstance(value, _PLAIN) else convert_to_sql_value(value=value, column=column))
    if values:
        raise ValueError(f"{table.__name__} has no column {', '.join(values)}")
    rows = await statement.statement.fetch(table._meta.db, *args)
    return rows[0]["id"]


async def after_bulk_write(*tables: type[Table]) -> None:
    """PostgreSQL, after a write of many rows: statistics and visibility map now, not at
    autovacuum's next round. Without statistics the planner expects a fresh table to be
    empty (a cached plan then scanned 90,000 order links per lookup); without the visibility
    map an index-only scan reads the table after all (a year's counts: 0.7 s, not 0.06 s).
    SQLite's plans are fixed by the queries themselves (no statistics are kept)."""
    engine = tables[0]._meta.db
    # VACUUM cannot run inside a transaction; a caller inside one leaves the work to autovacuum.
    if isinstance(engine, PostgresEngine) and engine.current_transaction.get() is None:
        names = ", ".join(t._meta.tablename for t in tables)
        await engine.run_ddl(f"VACUUM (ANALYZE) {names}")


class PooledSQLiteEngine(SQLiteEngine):
    """Piccolo's SQLiteEngine, plus persistent connections once `start_connection_pool()` ran.

    Piccolo opens a new aiosqlite connection (a new thread, ~2 ms) for every query. With the
    pool started (app start-up, beside PostgreSQL's pool) each process keeps:
      * one read-only connection for plain SELECTs outside a transaction: each is its own read
        transaction in WAL mode, so it sees committed data only, never a half-written one;
      * ONE writer connection for every transaction and every other statement, held under an
        asyncio.Lock from BEGIN to COMMIT. Writers of this process queue in Python (FIFO)
        instead of sleeping in SQLite's busy handler, whose growing back-off sleeps gave a
        1.4 s p99 under 50 concurrent writers.
    Statements run on the event loop's thread: on a local file with a warm page cache they take
    tens of microseconds, less than one hop to an aiosqlite thread (which under load also waits
    for the GIL; measured in docs/decisions.md). A transaction therefore holds the lock only for
    its own Python work. Four ways out of the loop keep it responsive and correct:
      * another process (several uvicorn workers) holds the write lock: SQLITE_BUSY at once
        (busy timeout 0 on the loop), and the statement is retried in a worker thread that
        waits up to SQLITE_BUSY_TIMEOUT, as before;
      * a read runs longer than IN_LOOP_BUDGET: a progress handler interrupts it and it is run
        again in a thread, on Piccolo's own connection-per-query path (reads can be restarted;
        writes cannot, so they are never interrupted);
      * a write transaction running longer than YIELD_EVERY yields to the loop between statements;
      * checkpoints (copying the WAL into the database, with fsync: 4-17 ms here) run in a
        thread on a third connection every CHECKPOINT_EVERY writes, instead of on the loop
        inside whichever COMMIT crosses SQLite's automatic threshold. Writes go on beside them
        (pausing them for each cost a 9 ms stall every 200 writes). Writes racing a checkpoint
        keep the WAL from starting over, so once it reaches WAL_RESTART_PAGES the writer that
        takes the lock runs the checkpoint first, with no write racing it: it completes and the
        next write starts the WAL over. Under a steady trickle the WAL starts over by itself.
    Queries inside a transaction find it through Piccolo's `current_transaction` ContextVar and
    run on the writer, so they see their own writes. Without the pool (migrations, the CLI,
    in-process tests that use several event loops) every method is SQLiteEngine's own.
    """

    __slots__ = (
        "_reader",
        "_writer",
        "_writer_lock",
        "_writer_job",
        "_deadline",
        "_loop_since",
        "_checkpointer",
        "_writes",
        "_checkpointing",
        "_wal_pages",
        "_checkpoint_thread",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._reader: sqlite3.Connection | None = None
        self._writer: sqlite3.Connection | None = None
        self._writer_lock: asyncio.Lock | None = None
        self._writer_job: asyncio.Future | None = None  # a statement still waiting in a thread
        self._deadline = 0.0  # when the read on the loop must give way
        self._loop_since = 0.0  # when the writer's holder last let the loop run
        self._checkpointer: sqlite3.Connection | None = None
        self._writes = 0  # since the last checkpoint
        # A checkpoint running beside the writers: a thread's future, whose state needs no turn
        # of the event loop (a run of writes that never yields still sees it end).
        self._checkpointing: concurrent.futures.Future | None = None
        self._checkpoint_thread: concurrent.futures.ThreadPoolExecutor | None = None
        self._wal_pages = 0  # in the WAL at the last checkpoint

    @property
    def pooled(self) -> bool:
        return self._writer is not None

    def _connect(self, read_only: bool) -> sqlite3.Connection:
        # Busy timeout 0: on the loop, a lock held by another process must fail fast (see above).
        connection = sqlite3.connect(**{**self.connection_kwargs, "timeout": 0}, check_same_thread=False)
        connection.row_factory = dict_factory
        # journal_mode=WAL is already on the file. synchronous=NORMAL: in WAL a commit is not
        # synced until the next checkpoint, so a power cut (not a crash) may lose the last few.
        connection.execute("PRAGMA foreign_keys = 1")
        connection.execute("PRAGMA synchronous = NORMAL")
        connection.execute("PRAGMA wal_autocheckpoint = 0")  # the engine checkpoints: _take_writer
        if read_only:
            connection.execute("PRAGMA query_only = 1")  # a write routed here fails, never contends
            connection.set_progress_handler(self._over_budget, 1000)  # every 1000 VM steps
        return connection

    def _over_budget(self) -> bool:
        return time.perf_counter() > self._deadline

    async def start_connection_pool(self) -> None:
        if self.pooled:
            return
        # RETURNING (3.35) is how inserts report their ids on these connections.
        assert sqlite3.sqlite_version_info >= (3, 35), "SQLite 3.35 or newer is needed"
        self._writer_lock = asyncio.Lock()  # bound to the event loop that serves the app
        self._reader = self._connect(read_only=True)
        self._checkpointer = self._connect(read_only=False)
        self._checkpoint_thread = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="sqlite-checkpoint")
        self._writer = self._connect(read_only=False)

    async def close_connection_pool(self) -> None:
        if not self.pooled:
            return
        writer, reader, checkpointer = self._writer, self._reader, self._checkpointer
        assert writer is not None and reader is not None and checkpointer is not None
        await self._take_writer()  # a transaction still running finishes first
        if self._checkpoint_thread is not None:
            await asyncio.to_thread(self._checkpoint_thread.shutdown)  # lets a running checkpoint end
            self._checkpoint_thread = self._checkpointing = None
        self._writer = self._reader = self._checkpointer = None  # SQLiteEngine's path from here on
        self._release_writer_of(writer)
        for connection in (writer, reader, checkpointer):
            connection.close()  # the last one to close checkpoints what is left

    # --- the writer ------------------------------------------------------------------------

    async def _take_writer(self) -> None:
        assert self._writer_lock is not None
        await self._writer_lock.acquire()
        try:
            if self._writer is None:  # queued behind close_connection_pool
                raise RuntimeError("the SQLite connection pool is closed")
            if self._checkpointing is not None and self._checkpointing.done():
                self._wal_pages, self._checkpointing = self._checkpointing.result(), None
            if self._writes >= CHECKPOINT_EVERY and self._checkpointer is not None and self._checkpointing is None:
                self._writes = 0
                if self._wal_pages >= WAL_RESTART_PAGES:
                    await asyncio.to_thread(self._checkpoint, self._checkpointer)
                    self._wal_pages = 0  # the next write starts it over
                else:
                    assert self._checkpoint_thread is not None
                    self._checkpointing = self._checkpoint_thread.submit(self._checkpoint, self._checkpointer)
        except BaseException:
            self._writer_lock.release()
            raise
        self._loop_since = time.perf_counter()

    @staticmethod
    def _checkpoint(checkpointer: sqlite3.Connection) -> int:
        """The pages in the WAL. PASSIVE copies what no reader still needs, never waiting for a lock."""
        try:
            row = checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error:
            return 0  # another process is checkpointing: the next one catches up
        return int(row["log"]) if row else 0

    def _release_writer(self) -> None:
        assert self._writer is not None
        self._release_writer_of(self._writer)

    def _release_writer_of(self, writer: sqlite3.Connection) -> None:
        job = self._writer_job
        if job is not None and not job.done():
            # Its holder was cancelled while a thread still runs a statement on the writer.
            def release(done: asyncio.Future) -> None:
                if not done.cancelled():
                    done.exception()  # retrieved, so it is not logged as never retrieved
                self._release_writer_of(writer)

            job.add_done_callback(release)
            return
        self._writer_job = None
        if writer.in_transaction:  # the holder failed or was cancelled mid-transaction
            writer.rollback()
        assert self._writer_lock is not None
        self._writer_lock.release()
        self._writes += 1

    async def _write(self, query: str, args: list[Any]) -> list[dict]:
        """One statement on the writer; the caller holds the writer lock."""
        writer = self._writer
        assert writer is not None
        try:
            rows = writer.execute(query, args).fetchall()
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:
                raise
            # Another process holds the lock: wait for it in a thread. Shielded, because the
            # connection stays busy until the statement returns even if this request is cancelled.
            self._writer_job = asyncio.ensure_future(asyncio.to_thread(self._write_waiting, writer, query, args))
            rows = await asyncio.shield(self._writer_job)
        if time.perf_counter() - self._loop_since > YIELD_EVERY:
            await asyncio.sleep(0)
            self._loop_since = time.perf_counter()
        return rows

    @staticmethod
    def _write_waiting(writer: sqlite3.Connection, query: str, args: list[Any]) -> list[dict]:
        writer.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT * 1000}")
        try:
            return writer.execute(query, args).fetchall()
        finally:
            writer.execute("PRAGMA busy_timeout = 0")

    def transaction(
        self, transaction_type: TransactionType = TransactionType.deferred, allow_nested: bool = True
    ) -> SQLiteTransaction:
        if not self.pooled:
            return super().transaction(transaction_type=transaction_type, allow_nested=allow_nested)
        return WriterTransaction(engine=self, transaction_type=transaction_type, allow_nested=allow_nested)

    # --- running statements ------------------------------------------------------------------

    async def _run_pooled(self, query: str, args: list[Any]) -> list[dict]:
        transaction = self.current_transaction.get()
        if isinstance(transaction, WriterTransaction):
            # Inside a transaction: on the writer, so it sees its own uncommitted writes.
            return await self._write(query, args)
        if transaction is not None:  # opened before the pool started: Piccolo's way
            return await self._run_in_existing_connection(transaction.connection, query, args)
        if query.lstrip()[:6].upper() == "SELECT":
            assert self._reader is not None
            self._deadline = time.perf_counter() + IN_LOOP_BUDGET
            try:
                return self._reader.execute(query, args).fetchall()
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode & 0xFF not in (sqlite3.SQLITE_INTERRUPT, sqlite3.SQLITE_BUSY):
                    raise
            # Too long for the loop (or a lock met, rare in WAL): again, in a thread.
            return await self._run_in_new_connection(query, args)
        # A write outside a transaction (autocommit), or anything that is not plainly a SELECT.
        await self._take_writer()
        try:
            return await self._write(query, args)
        finally:
            self._release_writer()

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


class _Writer:
    """What Piccolo's transaction code awaits as `connection.execute(...)` (BEGIN, COMMIT,
    ROLLBACK, SAVEPOINT): the pooled engine's writer, run on the loop."""

    __slots__ = ("engine",)

    def __init__(self, engine: PooledSQLiteEngine) -> None:
        self.engine = engine

    async def execute(self, sql: str, args: Any = ()) -> list[dict]:
        return await self.engine._write(sql, list(args))


class WriterTransaction(SQLiteTransaction):
    """A transaction on the pooled engine's writer: holds the writer lock from BEGIN to the end."""

    __slots__ = ()
    engine: PooledSQLiteEngine

    async def __aenter__(self) -> SQLiteTransaction:
        if self._parent is not None:
            return self._parent
        await self.engine._take_writer()
        self.connection = _Writer(self.engine)
        try:
            await self.begin()
        except BaseException:
            self.engine._release_writer()
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
            # Unlike SQLiteTransaction, nothing to close: the writer stays for the next one.
            # Releasing rolls back whatever a failed COMMIT or a cancellation left open.
            self.engine.current_transaction.reset(self.context)
            self.engine._release_writer()
        return exception is None
