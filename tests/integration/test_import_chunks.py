"""A call import commits in chunks (an officer's save never waits for a whole file), yet
nobody sees half an import: its calls count only once it is done, and a failed one is
discarded (findings 1 of the security review, issue 12)."""

from __future__ import annotations

import asyncio
import contextvars
from datetime import date, datetime, timedelta, timezone

import pytest

from app.db import write_transaction
from app.domain.access import Principal
from app.services import audit, calls, detection, orders
from app.tables import AuditEvent, Call, CallImport, Station
from tests.conftest import run
from tests.integration.test_calls import csv_text, sample

TZ = "Asia/Shanghai"
ADMIN = Principal(id=-1, name="test", roles=frozenset({"admin"}))


def outside(coro):
    """Run a coroutine as another request would: in a context of its own, so never inside a
    transaction the caller may have open (it waits for the database like anyone else)."""
    return asyncio.create_task(coro, context=contextvars.Context())


async def what_others_see(batch: int | None) -> dict:
    """The import's calls as stored (committed), and what lists, metrics and detection show."""
    stored = await Call.count().where(Call.batch == batch) if batch else 0
    _rows, listed = await calls.search(ADMIN)
    metrics = await calls.metrics(ADMIN, date(2026, 1, 1), date(2026, 12, 31), TZ)
    return {
        "stored": stored,
        "listed": listed,
        "counted": metrics["total_calls"],
        "newest": await detection.newest(None),
    }


async def officer_write() -> None:
    """Any other write: on SQLite it needs the same write lock an import's transaction holds."""
    async with write_transaction(AuditEvent._meta.db):
        await audit.record(audit.SYSTEM, "probe", "test", 1)


def store(settings, text: str) -> str:
    return calls.store_upload(settings.upload_dir, [text.encode("utf-8")])


def import_file(settings, token: str):
    return run(calls.import_file(settings.upload_dir, token, "calls.csv", ADMIN, audit.SYSTEM, TZ))


@pytest.fixture
def spy_chunks(monkeypatch):
    """Record, before each chunk is written, its size and what everybody else sees then."""
    monkeypatch.setattr(calls, "CHUNK", 10)
    real = calls._write_chunk
    seen: list[dict] = []

    async def spy(chunk, result, batch, write):
        if write:
            assert Call._meta.db.current_transaction.get() is None  # no transaction spans the chunks
            await outside(officer_write())  # would wait for the lock if one were open
            seen.append({"rows": len(chunk), **await outside(what_others_see(batch))})
        await real(chunk, result, batch, write)

    monkeypatch.setattr(calls, "_write_chunk", spy)
    return seen


def test_an_import_commits_chunk_by_chunk_and_counts_only_when_done(db, demo, settings, spy_chunks):
    result = import_file(settings, store(settings, csv_text(sample(datetime(2026, 3, 1, 9), n=35))))
    assert result.created == 35 and not result.file_error
    # Each chunk is its own transaction: the ones before it are committed (and another write
    # went through in between), but lists, metrics and detection see none of them yet.
    assert [s["rows"] for s in spy_chunks] == [10, 10, 10, 5]
    assert [s["stored"] for s in spy_chunks] == [0, 10, 20, 30]
    assert {(s["listed"], s["counted"], s["newest"]) for s in spy_chunks} == {(0, 0, None)}
    assert run(AuditEvent.count().where(AuditEvent.action == "probe")) == 4
    after = run(what_others_see(result.batch_id))
    assert (after["stored"], after["listed"], after["counted"]) == (35, 35, 35)
    assert run(
        CallImport.select(CallImport.state, CallImport.created).where(CallImport.id == result.batch_id).first()
    ) == {"state": "done", "created": 35}


def test_a_file_error_part_way_leaves_no_calls_and_the_import_marked_failed(db, demo, settings, spy_chunks):
    rows = sample(datetime(2026, 3, 1, 9), n=35)
    rows[25] = (*rows[25][:5], "x" * 200_000)  # larger than a CSV field may be: the file is refused
    result = import_file(settings, store(settings, csv_text(rows)))
    assert result.file_error and result.created == 0 and result.batch_id is None
    assert [s["stored"] for s in spy_chunks] == [0, 10]  # two chunks were committed, then the error
    assert run(Call.count()) == 0
    assert [r["state"] for r in run(CallImport.select(CallImport.state))] == ["failed"]
    # The same calls import cleanly afterwards: their call_ids were freed.
    again = import_file(settings, store(settings, csv_text(sample(datetime(2026, 3, 1, 9), n=35))))
    assert again.created == 35 and run(Call.count()) == 35


def test_a_crash_part_way_discards_the_chunks_already_written(db, demo, settings, monkeypatch):
    monkeypatch.setattr(calls, "CHUNK", 10)
    real, written = calls._write_chunk, []

    async def failing(chunk, result, batch, write):
        if len(written) == 2:
            raise RuntimeError("the database went away")
        written.append(len(chunk))
        await real(chunk, result, batch, write)

    monkeypatch.setattr(calls, "_write_chunk", failing)
    with pytest.raises(RuntimeError):
        import_file(settings, store(settings, csv_text(sample(datetime(2026, 3, 1, 9), n=35))))
    assert written == [10, 10]
    assert run(Call.count()) == 0
    assert [r["state"] for r in run(CallImport.select(CallImport.state))] == ["failed"]


def test_detection_after_an_import_sees_exactly_its_calls(db, demo, settings, monkeypatch):
    """A second import still running (its chunk committed) changes nothing that detection finds."""
    monkeypatch.setattr(calls, "CHUNK", 2)
    station = run(Station.select(Station.id).first())["id"]
    running = run(CallImport.insert(CallImport(source="csv", state="importing")).returning(CallImport.id))[0]["id"]
    same_caller = sample(datetime(2026, 3, 1, 9), n=3, prefix="Z")
    run(calls._insert_calls([_values(r, station, running) for r in same_caller]))
    result = import_file(settings, store(settings, csv_text(sample(datetime(2026, 3, 5, 9), n=2))))
    found = run(orders.detect(audit.SYSTEM, batch=result.batch_id))
    # Two calls of the caller: below the threshold of three, whatever the running import holds.
    assert found.flags == 0 and found.created == 0
    assert run(calls.search(ADMIN))[1] == 2


def _values(row: tuple, station: int, batch: int) -> dict:
    at = datetime.fromisoformat(row[1]).replace(tzinfo=timezone(timedelta(hours=8)))
    return {
        "call_id": row[0],
        "received_at": at.astimezone(timezone.utc),
        "caller_phone": row[2],
        "caller_key": row[2],
        "address": row[3],
        "address_key": row[3],
        "lat": None,
        "lon": None,
        "category": row[4],
        "summary": row[5],
        "disposition": "",
        "station": station,
        "place": None,
        "grid": None,
        "non_police": False,
        "batch": batch,
    }


def test_a_call_another_running_import_holds_is_refused_by_row(db, demo, settings):
    station = run(Station.select(Station.id).first())["id"]
    running = run(CallImport.insert(CallImport(source="csv", state="importing")).returning(CallImport.id))[0]["id"]
    rows = sample(datetime(2026, 3, 1, 9), n=2)
    run(calls._insert_calls([_values(rows[0], station, running)]))
    result = import_file(settings, store(settings, csv_text(rows)))
    assert (result.created, result.rejected) == (1, 1)
    assert result.errors[0]["call_id"] == "J000" and "has not finished" in result.errors[0]["message"]


def test_an_import_left_running_by_a_dead_process_is_discarded_later(db, demo):
    station = run(Station.select(Station.id).first())["id"]
    now = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)
    ids = {}
    for name, started in (("dead", now - timedelta(hours=2)), ("running", now - timedelta(minutes=5))):
        ids[name] = run(
            CallImport.insert(CallImport(source="csv", state="importing", at=started)).returning(CallImport.id)
        )[0]["id"]
        run(
            calls._insert_calls(
                [_values(r, station, ids[name]) for r in sample(datetime(2026, 3, 1, 9), n=3, prefix=name[0].upper())]
            )
        )
    assert run(calls.discard_stale(now)) == 1
    states = {r["id"]: r["state"] for r in run(CallImport.select(CallImport.id, CallImport.state))}
    assert states == {ids["dead"]: "failed", ids["running"]: "importing"}
    assert run(Call.count().where(Call.batch == ids["dead"])) == 0
    assert run(Call.count().where(Call.batch == ids["running"])) == 3
