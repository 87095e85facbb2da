"""Concurrent writers must queue for SQLite's lock, not fail with "database is locked"."""

import asyncio

import pytest
from litestar.testing import AsyncTestClient

from app.main import create_app
from app.tables import Agency, AuditEvent
from tests.conftest import run

WRITERS = 25


def run_sync_person(role: str) -> int:
    import threading

    from app.tables import PersonRole

    result = {}

    def lookup() -> None:
        result["id"] = run(PersonRole.select(PersonRole.person).where(PersonRole.role == role).first())["person"]

    thread = threading.Thread(target=lookup)  # asyncio.run cannot nest inside the running loop
    thread.start()
    thread.join()
    return result["id"]


def test_concurrent_creates_all_succeed(demo, settings):
    async def scenario() -> list[int]:
        async with AsyncTestClient(app=create_app(settings), base_url="http://testserver.local") as http:
            await http.get("/offline")
            token = http.cookies["qianmo_csrf"]
            admin = run_sync_person("admin")
            await http.post("/signin/demo", data={"person": str(admin)}, headers={"x-csrftoken": token})

            async def create(i: int) -> int:
                response = await http.post(
                    "/admin/org/agency/new",
                    data={"name": f"机构{i}", "code": f"T-{i}", "kind": "other"},
                    headers={"x-csrftoken": token},
                    follow_redirects=False,
                )
                return response.status_code

            return await asyncio.gather(*(create(i) for i in range(WRITERS)))

    statuses = run(scenario())
    assert statuses == [303] * WRITERS
    assert run(Agency.count().where(Agency.code.like("T-%"))) == WRITERS
    assert (
        run(AuditEvent.count().where((AuditEvent.object_type == "agency") & (AuditEvent.action == "create"))) == WRITERS
    )


# --- the SQLite pool: persistent readers, one writer behind an asyncio.Lock ---------------

POOLED_WRITERS = 50


@pytest.fixture
def pooled(db, tmp_path, monkeypatch):
    """The SQLite pool, on whichever engine the suite runs: the suite's own SQLite file, or
    (on a PostgreSQL run) a private SQLite file with the two tables these tests write, so that
    the pool is tested in every CI run."""
    from app.db import PooledSQLiteEngine, engine_from_url

    if isinstance(Agency._meta.db, PooledSQLiteEngine):
        return Agency._meta.db
    engine = engine_from_url(f"sqlite:///{tmp_path / 'pool.sqlite3'}")
    for table in (Agency, AuditEvent):
        monkeypatch.setattr(table._meta, "db", engine)
        run(table.create_table())
    return engine


def test_pool_50_concurrent_write_transactions_all_land(pooled):
    """One event loop, pool started as on app start-up: every transaction commits, none is lost,
    and a query inside a transaction sees that transaction's own uncommitted row."""
    from app.db import write_transaction

    engine = pooled

    async def scenario() -> tuple[list[bool], int, int]:
        await engine.start_connection_pool()
        try:
            assert engine.pooled

            async def create(i: int) -> bool:
                async with write_transaction(engine):
                    await Agency.insert(Agency(name=f"池{i}", code=f"P-{i}", kind="other"))
                    await asyncio.sleep(0)  # let the other writers pile up on the lock
                    await AuditEvent.insert(AuditEvent(action="create", object_type="agency", object_id=f"P-{i}"))
                    return await Agency.exists().where(Agency.code == f"P-{i}")

            seen_own = await asyncio.gather(*(create(i) for i in range(POOLED_WRITERS)))
            # Counted through the reader connections, after every commit.
            return seen_own, await Agency.count().where(Agency.code.like("P-%")), await AuditEvent.count()
        finally:
            await engine.close_connection_pool()

    seen_own, agencies, audits = run(scenario())
    assert seen_own == [True] * POOLED_WRITERS
    assert agencies == POOLED_WRITERS and audits == POOLED_WRITERS
    assert not engine.pooled  # closed: back to a connection per query
    assert run(Agency.count().where(Agency.code.like("P-%"))) == POOLED_WRITERS


def test_pool_reads_outside_never_see_an_open_transaction(pooled):
    from app.db import write_transaction

    engine = pooled

    async def scenario() -> tuple[int, int, int]:
        await engine.start_connection_pool()
        inserted, release = asyncio.Event(), asyncio.Event()

        async def writer() -> None:
            async with write_transaction(engine):
                await Agency.insert(Agency(name="半", code="HALF-1", kind="other"))
                inserted.set()
                await release.wait()

        try:
            task = asyncio.create_task(writer())
            await inserted.wait()
            during = await Agency.count().where(Agency.code == "HALF-1")  # a reader, outside the transaction
            plain_write = asyncio.create_task(Agency.update({Agency.name: "改"}).where(Agency.code == "HALF-1").run())
            # Statements run on the loop: a few turns take the write as far as it can go, which
            # without the writer lock would be done (turns counted, not time: no race).
            for _turn in range(20):
                await asyncio.sleep(0)
            queued = not plain_write.done()  # a write outside the transaction waits for the writer
            release.set()
            await task
            await plain_write
            after = await Agency.count().where((Agency.code == "HALF-1") & (Agency.name == "改"))
            return during, int(queued), after
        finally:
            await engine.close_connection_pool()

    assert run(scenario()) == (0, 1, 1)


def test_pool_failed_and_cancelled_transactions_leave_the_writer_clean(pooled):
    from app.db import write_transaction

    engine = pooled

    async def scenario() -> int:
        await engine.start_connection_pool()
        try:
            with pytest.raises(RuntimeError):
                async with write_transaction(engine):
                    await Agency.insert(Agency(name="回滚", code="RB-1", kind="other"))
                    raise RuntimeError("rolled back")

            started = asyncio.Event()

            async def stuck() -> None:
                async with write_transaction(engine):
                    await Agency.insert(Agency(name="取消", code="RB-2", kind="other"))
                    started.set()
                    await asyncio.sleep(10)

            task = asyncio.create_task(stuck())
            await started.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            async with write_transaction(engine):
                await Agency.insert(Agency(name="之后", code="RB-3", kind="other"))
            return await Agency.count().where(Agency.code.like("RB-%"))
        finally:
            await engine.close_connection_pool()

    assert run(scenario()) == 1


def test_pool_waits_for_another_process_and_moves_slow_reads_off_the_loop(pooled, monkeypatch):
    """Another connection (another uvicorn worker) holds the write lock: the pooled writer waits
    for it in a thread while the event loop keeps serving reads; a slow read still answers."""
    import sqlite3

    from app.db import PooledSQLiteEngine, write_transaction

    engine = pooled
    moved: list[str] = []
    in_thread = PooledSQLiteEngine._run_in_new_connection

    async def counted(self, query, *args, **kwargs):
        moved.append(query)
        return await in_thread(self, query, *args, **kwargs)

    monkeypatch.setattr(PooledSQLiteEngine, "_run_in_new_connection", counted)
    other = sqlite3.connect(engine.path, isolation_level=None)

    async def scenario() -> tuple[bool, int, int, int]:
        await engine.start_connection_pool()
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute(
                "INSERT INTO agency (name, code, kind, contact, phone, active, created_at) "
                "VALUES ('外', 'EXT-1', 'other', '', '', 1, '2026-01-01 00:00:00')"
            )

            async def ours() -> None:
                async with write_transaction(engine):
                    await Agency.insert(Agency(name="内", code="EXT-2", kind="other"))

            task = asyncio.create_task(ours())
            # Its BEGIN meets the other's lock on the loop and moves to a thread to wait: a few
            # turns of the loop (counted, not timed) take it there.
            for _turn in range(20):
                if engine._writer_job is not None:
                    break
                await asyncio.sleep(0)
            waited = engine._writer_job is not None and not task.done()
            reads_meanwhile = await Agency.count()  # the loop is free, the reader answers
            other.execute("COMMIT")
            await task
            # Counting to 300 000 takes longer than the loop's budget: re-run in a thread.
            slow = await Agency.raw(
                "SELECT count(*) AS n FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
                "WHERE x < 300000) SELECT x FROM c)"
            )
            return waited, reads_meanwhile, await Agency.count().where(Agency.code.like("EXT-%")), slow[0]["n"]
        finally:
            await engine.close_connection_pool()

    try:
        assert run(scenario()) == (True, 0, 2, 300000)
        assert len(moved) == 1 and "RECURSIVE" in moved[0]  # only the slow read left the loop
    finally:
        other.close()


class CheckpointThread:
    """Stands in for the engine's checkpoint thread: a checkpoint runs when the test says (at
    once, or held back as on a busy machine where the thread has not run yet), so what the test
    sees never depends on how fast a thread gets the CPU."""

    def __init__(self) -> None:
        self.held = False
        self.jobs: list = []
        self.submitted = 0

    def submit(self, fn, *args):
        import concurrent.futures

        self.submitted += 1
        future: concurrent.futures.Future = concurrent.futures.Future()
        self.jobs.append((future, fn, args))
        if not self.held:
            self.run()
        return future

    def run(self) -> None:
        for future, fn, args in self.jobs:
            future.set_result(fn(*args))
        self.jobs = []

    def shutdown(self, wait: bool = True) -> None:
        self.run()


def test_pool_checkpoints_keep_the_wal_small(pooled, monkeypatch):
    """Automatic checkpoints are off on the pooled connections; the engine's own must keep the
    WAL from growing with every write: every CHECKPOINT_EVERY writes one beside the writers
    (in its thread), and, once a checkpoint found the WAL past WAL_RESTART_PAGES (because
    writes kept racing the ones beside them), one with the writers paused, after which the
    WAL starts over. The thread is driven by the test (CheckpointThread): a busy machine made
    the real one late and the WAL longer than any bound on PostgreSQL runs."""
    import os
    import sqlite3
    from contextlib import closing

    from app import db
    from app.db import CHECKPOINT_EVERY, PooledSQLiteEngine, write_transaction

    engine = pooled
    with closing(sqlite3.connect(engine.path)) as conn:  # earlier tests' WAL out of the way
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page = conn.execute("PRAGMA page_size").fetchone()[0]
    checkpoints = []
    real_checkpoint = PooledSQLiteEngine._checkpoint
    monkeypatch.setattr(
        PooledSQLiteEngine, "_checkpoint", staticmethod(lambda conn: checkpoints.append(1) or real_checkpoint(conn))
    )
    thread = CheckpointThread()

    async def writes(n: int, start: int) -> list[int]:
        """The WAL's length in pages after each CHECKPOINT_EVERY writes."""
        sizes = []
        for i in range(start, start + n * CHECKPOINT_EVERY):
            async with write_transaction(engine):
                await AuditEvent.insert(AuditEvent(action="create", object_type="agency", object_id=str(i)))
            if (i + 1 - start) % CHECKPOINT_EVERY == 0:
                sizes.append(os.path.getsize(f"{engine.path}-wal") // page)
        return sizes

    async def scenario() -> dict:
        await engine.start_connection_pool()
        # Earlier tests' writes and WAL on this engine are not counted.
        engine._checkpoint_thread, engine._writes, engine._wal_pages = thread, 0, 0
        try:
            beside = await writes(5, 0)  # checkpoints finish before the next writes: the WAL starts over
            after_beside = (thread.submitted, len(checkpoints))
            thread.held = True  # the thread falls behind: nothing is checkpointed, the WAL grows
            growing = await writes(5, 5 * CHECKPOINT_EVERY)
            monkeypatch.setattr(db, "WAL_RESTART_PAGES", growing[-1] - growing[0])
            thread.held = False
            thread.run()  # it finally runs, and finds the WAL long: the next one pauses the writers
            restarted = await writes(5, 10 * CHECKPOINT_EVERY)
            return {
                "beside": beside,
                "after_beside": after_beside,
                "growing": growing,
                "restarted": restarted,
                "submitted": thread.submitted,
                "checkpoints": len(checkpoints),
            }
        finally:
            await engine.close_connection_pool()

    seen = run(scenario())
    interval = seen["beside"][0]  # the pages 200 writes take, the WAL empty before them
    assert interval > 0
    # It starts over after each checkpoint: the file stays about one interval long (a little
    # more as the table's b-tree grows), where five intervals of writes would need five.
    assert max(seen["beside"]) < 2 * interval, seen
    assert seen["after_beside"] == (4, 4)  # one in the thread every 200 writes, none paused
    assert seen["growing"] == sorted(set(seen["growing"])) and seen["growing"][-1] >= 5 * interval, seen
    # After the late checkpoint: one with the writers paused (not in the thread), and then the
    # WAL starts over within the file's length, which stops growing.
    assert seen["checkpoints"] - seen["submitted"] == 1, seen
    assert max(seen["restarted"]) <= seen["growing"][-1], seen
    assert run(AuditEvent.count()) == 15 * CHECKPOINT_EVERY
