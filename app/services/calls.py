"""110 calls: import (CSV streamed from disk, or JSON from the API), address matching and the
mapping queue, the lists and rankings, and the repeat-call metrics."""

from __future__ import annotations

import csv
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from piccolo.columns.combination import WhereRaw
from piccolo.engine.sqlite import SQLiteEngine

from app.db import after_bulk_write, per_range, read_only, write_transaction
from app.domain import calls as rules
from app.domain import routing as routing_rules
from app.domain.access import Principal
from app.domain.call_times import implausible
from app.domain.csv_import import Encoding, header_positions, sniff
from app.i18n import N_, too_long
from app.metrics import IMPORT_ROWS, IMPORT_SECONDS
from app.services import audit, detection, paging, routing, scope
from app.tables import (
    AddressMapping,
    Call,
    CallColumnAlias,
    CallImport,
    CategoryFamily,
    DetectionSetting,
    Grid,
    NonPoliceCategory,
    Place,
    Station,
)

CHUNK = 1000  # rows checked and written together
# An import this large tidies the table for PostgreSQL's planner itself (db.after_bulk_write);
# smaller ones are left to autovacuum, set to follow the call table closely (migration 03:50).
BULK_IMPORT = 10_000
PREVIEW_ROWS = 20
KEPT_ERRORS = 300
MAX_FILE = 60 * 1024 * 1024
GONE = N_("The uploaded file is no longer here; upload it again")


@dataclass
class ImportResult:
    created: int = 0
    duplicates: int = 0
    conflicts: int = 0
    rejected: int = 0
    errors: list[dict] = field(default_factory=list)  # {"row", "call_id", "column", "message"}
    preview: list[dict] = field(default_factory=list)
    file_error: str = ""
    file_error_args: dict[str, str] = field(default_factory=dict)
    batch_id: int | None = None
    # Of the rows read well: at a known place, at an address without one, for other agencies;
    # and those whose time deserves a look (call_times.implausible).
    matched: int = 0
    unmatched: int = 0
    non_police: int = 0
    odd_times: list[dict] = field(default_factory=list)
    # A CSV's own header for each field: errors name the column as the analyst's file does.
    columns: dict[str, str] = field(default_factory=dict)
    # A file whose header lacks needed fields: which (all not found), and the file's headers.
    missing: list[str] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return self.created + self.duplicates + self.conflicts + self.rejected

    def add_error(self, row: int | str, call_id: str, column: str, message: str) -> None:
        if len(self.errors) < KEPT_ERRORS:
            self.errors.append(
                {"row": row, "call_id": call_id, "column": self.columns.get(column, column), "message": message}
            )


# --- reading files without holding them in memory --------------------------------------------


def store_upload(upload_dir: Path, chunks) -> str:
    """Keep an uploaded file on disk for the preview and the confirmation; returns its token."""
    token = secrets.token_urlsafe(16)
    path = _upload_path(upload_dir, token)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        for chunk in chunks:
            out.write(chunk)
    return token


UPLOADS_KEPT = timedelta(hours=1)  # a preview not confirmed by then is deleted


async def cleanup(upload_dir: Path, now: datetime | None = None) -> tuple[int, int]:
    """What imports leave behind, with no scheduler to call it: uploads whose preview was never
    confirmed, and imports a dead process left running (discard_stale). Run before every
    upload and by `qianmo cleanup` (cron, for days without uploads); returns (files, imports)."""
    now = now or datetime.now(timezone.utc)
    return remove_stale_uploads(upload_dir, now), await discard_stale(now)


def remove_stale_uploads(upload_dir: Path, now: datetime) -> int:
    """Delete the uploads older than UPLOADS_KEPT (by the time they were written)."""
    oldest = (now - UPLOADS_KEPT).timestamp()
    removed = 0
    for path in (upload_dir / "imports").glob("*.csv"):
        try:
            if path.stat().st_mtime < oldest:
                path.unlink()
                removed += 1
        except FileNotFoundError:  # another worker's cleanup got there first
            continue
    return removed


def _upload_path(upload_dir: Path, token: str) -> Path:
    safe = "".join(c for c in token if c.isalnum() or c in "-_")[:40]
    return upload_dir / "imports" / f"{safe}.csv"


def _encoding(path: Path) -> Encoding:
    """The file's encoding, checked over every line before any row is read."""
    with path.open("rb") as f:
        return sniff(f)


def _rows(
    path: Path, result: ImportResult, columns: dict[str, tuple[str, ...]]
) -> Iterator[tuple[int, dict[str, str]]]:
    encoding = _encoding(path)
    if encoding.codec is None:
        result.file_error, result.file_error_args = encoding.error or "", encoding.error_args
        return
    with path.open(encoding=encoding.codec, newline="") as f:
        reader = csv.reader(f)
        try:
            header = next(reader, None)
            positions = header_positions(header or [], columns)
            if not header:
                result.file_error = N_("The file is empty")
                return
            result.headers = [h.strip() for h in header if h.strip()]
            if any(c not in positions for c in rules.REQUIRED):
                result.file_error = N_(
                    "Some needed columns were not found: choose which of the file's columns holds each "
                    "(remembered for the next import)"
                )
                result.missing = [c for c in rules.COLUMNS if c not in positions]
                return
            result.columns = {c: header[i].strip() for c, i in positions.items()}
            for values in reader:
                if any(v.strip() for v in values):
                    yield reader.line_num, {c: values[i] if i < len(values) else "" for c, i in positions.items()}
        except csv.Error:
            result.file_error = N_("The file could not be read as CSV")


# --- import ----------------------------------------------------------------------------------


@dataclass
class Context:
    """What checking rows needs: stations by code and name, the caller's own stations."""

    tz: str
    stations: dict[str, int]
    allowed: set[int] | None  # None: any station
    default_station: int | None
    places: "PlaceMatcher"
    non_police: set[str]
    call_rules: list = field(default_factory=list)  # the active routing rules for calls
    grid_offices: dict = field(default_factory=dict)  # grid -> office, for choosing the rule


async def context_for(principal: Principal, tz: str) -> Context:
    rows = await Station.select(Station.id, Station.code, Station.name)
    stations = {r["code"].lower(): r["id"] for r in rows} | {r["name"].lower(): r["id"] for r in rows}
    allowed = None if principal.has("admin") else await scope.station_ids(principal)
    default = next(iter(allowed)) if allowed and len(allowed) == 1 else (rows[0]["id"] if len(rows) == 1 else None)
    non_police = {r["category"] for r in await NonPoliceCategory.select(NonPoliceCategory.category)}
    grid_offices = {r["id"]: r["office"] for r in await Grid.select(Grid.id, Grid.office)}
    return Context(
        tz,
        stations,
        allowed,
        default,
        await PlaceMatcher.load(),
        non_police,
        await routing.active_call_rules(),
        grid_offices,
    )


class PlaceMatcher:
    """Finds the place of an address among its own station's places: an analyst's mapping, a
    place's name, alias or address (normalised), or the longest of those contained in the
    address. A call never takes a place (and so a grid) of another station."""

    def __init__(self, keys: dict[int, dict[str, tuple[int, int]]]) -> None:
        self.keys = keys  # station -> normalised text -> (place id, grid id)
        self.by_length = {
            station: sorted((k for k in texts if len(k) >= 3), key=len, reverse=True) for station, texts in keys.items()
        }
        self.cache: dict[tuple[int | None, str], tuple[int, int] | None] = {}

    @classmethod
    async def load(cls) -> "PlaceMatcher":
        keys: dict[int, dict[str, tuple[int, int]]] = {}
        for p in (
            await Place.select(
                Place.id,
                Place.grid,
                Place.name,
                Place.aliases,
                Place.address,
                Place.grid.office.station.as_alias("station"),
            )
            .where(Place.active.eq(True))
            .order_by(Place.id)
        ):
            for text in [p["name"], p["address"], *(p["aliases"] or "").splitlines()]:
                key = rules.normalise_address(text)
                if key:
                    keys.setdefault(p["station"], {}).setdefault(key, (p["id"], p["grid"]))
        for m in await AddressMapping.select(
            AddressMapping.address_key,
            AddressMapping.place,
            AddressMapping.place.grid.as_alias("grid"),
            AddressMapping.place.grid.office.station.as_alias("station"),
        ):
            keys.setdefault(m["station"], {})[m["address_key"]] = (m["place"], m["grid"])
        return cls(keys)

    def match(self, station: int | None, address_key: str) -> tuple[int, int] | None:
        if (station, address_key) not in self.cache:
            texts = self.keys.get(station, {}) if station is not None else {}
            self.cache[station, address_key] = texts.get(address_key) or self._contained(station, address_key)
        return self.cache[station, address_key]

    def _contained(self, station: int | None, address_key: str) -> tuple[int, int] | None:
        """The longest name contained in the address; of two as long, the one named first
        (徐州市世纪紫薇园东门: 世纪紫薇园, not the car park 紫薇园东门)."""
        best: tuple[int, int, str] | None = None
        for key in self.by_length.get(station, []):
            if best is not None and len(key) < best[0]:
                break
            at = address_key.find(key)
            if at >= 0 and (best is None or at < -best[1]):
                best = (len(key), -at, key)
        return self.keys[station][best[2]] if best else None


def _check(raw: dict[str, str], row_no: int | str, ctx: Context, seen: set[str], result: ImportResult) -> dict | None:
    """A row as Call values, or None (its errors recorded)."""
    row, errors = rules.read_row(raw, ctx.tz)
    call_id = (raw.get("call_id") or raw.get("警情编号") or "").strip()
    station = ctx.default_station
    if row is not None and row.station:
        station = ctx.stations.get(row.station.lower())
        if station is None:
            errors["station"] = N_("Unknown station")
    if row is not None and not errors and ctx.allowed is not None and station not in ctx.allowed:
        errors["station"] = N_("This station is not yours to import for")
    if row is not None and not errors and row.call_id in seen:
        errors["call_id"] = N_("This call_id appears twice in the file")
    if errors:
        result.rejected += 1
        for column, message in errors.items():
            result.add_error(row_no, call_id, column, message)
        return None
    seen.add(row.call_id)
    place = ctx.places.match(station, row.address_key)
    grid = place[1] if place else None
    rule = (
        routing_rules.choose(ctx.call_rules, "call", row.category, station, ctx.grid_offices.get(grid), grid)
        if station
        else None
    )
    return {
        "call_id": row.call_id,
        "received_at": row.received_at,
        "caller_phone": row.caller_phone,
        "caller_key": row.caller_key,
        "address": row.address,
        "address_key": row.address_key,
        "lat": row.lat,
        "lon": row.lon,
        "category": row.category,
        "summary": row.summary,
        "disposition": row.disposition,
        "station": station,
        "place": place[0] if place else None,
        "grid": place[1] if place else None,
        "non_police": row.category in ctx.non_police or rule is not None,
        "responsible_agency": rule.agency if rule else None,
        "routing_rule": rule.id if rule else None,
    }


async def _write_chunk(
    chunk: list[tuple[int | str, dict]], result: ImportResult, batch: int | None, write: bool
) -> None:
    """Compare with stored calls by call_id: new ones are inserted, same ones counted as
    duplicates, different ones reported as conflicts (never overwritten). Written, a chunk is
    one transaction of its own (the import's calls stay invisible until _finish)."""
    if not write:
        _compare(chunk, await _stored(chunk), result)
        return
    async with write_transaction(Call._meta.db):
        new = _compare(chunk, await _stored(chunk), result)
        if new:
            await _insert_calls([{**values, "batch": batch} for values in new])


async def _stored(chunk: list[tuple[int | str, dict]]) -> dict[str, dict]:
    """The stored calls with these call_ids, with the state of the import that wrote them."""
    ids = [values["call_id"] for _row, values in chunk]
    if not ids:
        return {}
    rows = await Call.select(
        Call.call_id,
        Call.received_at,
        Call.caller_phone,
        Call.address,
        Call.category,
        Call.summary,
        Call.batch.state.as_alias("state"),
    ).where(Call.call_id.is_in(ids))
    return {r["call_id"]: r for r in rows}


def _compare(chunk: list[tuple[int | str, dict]], stored: dict[str, dict], result: ImportResult) -> list[dict]:
    """The chunk's new calls; duplicates, conflicts and calls another import holds counted."""
    new = []
    for row_no, values in chunk:
        old = stored.get(values["call_id"])
        if old is None:
            new.append(values)
        elif old["state"] not in (None, "done"):
            result.rejected += 1
            result.add_error(
                row_no,
                values["call_id"],
                "call_id",
                N_("Another import that has not finished holds this call_id; import the file again afterwards"),
            )
        elif rules.same_content(old, values):
            result.duplicates += 1
        else:
            result.conflicts += 1
            result.add_error(
                row_no,
                values["call_id"],
                "call_id",
                N_("A call with this call_id exists with different content; it was not changed"),
            )
    result.created += len(new)
    return new


CALL_COLUMNS = (
    "call_id",
    "received_at",
    "caller_phone",
    "caller_key",
    "address",
    "address_key",
    "lat",
    "lon",
    "category",
    "summary",
    "disposition",
    "station",
    "place",
    "grid",
    "non_police",
    "batch",
    "responsible_agency",
    "routing_rule",
)
INSERT_ROWS = 500  # per statement: SQLite takes at most 32,766 values in one


async def _insert_calls(rows: list[dict]) -> None:
    """Many calls in few statements. (Piccolo's insert builds a Table object per row, which
    made a 100,000-row import spend most of its time in Python.)"""
    sqlite = isinstance(Call._meta.db, SQLiteEngine)
    one = "(" + ", ".join(["{}"] * len(CALL_COLUMNS)) + ")"
    for i in range(0, len(rows), INSERT_ROWS):
        part = rows[i : i + INSERT_ROWS]
        values = []
        for row in part:
            for column in CALL_COLUMNS:
                value = row.get(column)  # the routing columns are absent for a call no rule routed
                if sqlite and column == "received_at":
                    value = str(value)  # the text Piccolo stores: "2026-03-01 06:30:00+00:00"
                values.append(value)
        await Call.raw(f"INSERT INTO call ({', '.join(CALL_COLUMNS)}) VALUES {', '.join([one] * len(part))}", *values)


async def _run(
    rows: Iterator[tuple[int | str, dict[str, str]]], ctx: Context, result: ImportResult, batch: int | None, write: bool
) -> None:
    seen: set[str] = set()
    chunk: list[tuple[int | str, dict]] = []
    moment = datetime.now(timezone.utc)
    for row_no, raw in rows:
        values = _check(raw, row_no, ctx, seen, result)
        if values is not None:
            chunk.append((row_no, values))
            _tally(result, row_no, values, moment)
            if len(result.preview) < PREVIEW_ROWS:
                result.preview.append({"row": row_no, **values})
        if len(chunk) >= CHUNK:
            await _write_chunk(chunk, result, batch, write)
            chunk = []
    if chunk and not result.file_error:  # a file error ended the rows: nothing more to write
        await _write_chunk(chunk, result, batch, write)


def _tally(result: ImportResult, row_no: int | str, values: dict, moment: datetime) -> None:
    if values["non_police"]:
        result.non_police += 1
    elif values["place"]:
        result.matched += 1
    else:
        result.unmatched += 1
    if implausible(values["received_at"], moment) and len(result.odd_times) < PREVIEW_ROWS:
        result.odd_times.append({"row": row_no, "call_id": values["call_id"], "received_at": values["received_at"]})


async def preview_file(upload_dir: Path, token: str, principal: Principal, tz: str) -> ImportResult:
    """Every row checked, nothing written."""
    result = ImportResult()
    path = _upload_path(upload_dir, token)
    if not path.exists():
        result.file_error = GONE
        return result
    await _run(_rows(path, result, await columns()), await context_for(principal, tz), result, None, write=False)
    if not result.file_error and result.rows == 0:
        result.file_error = N_("The file has a header but no rows")
    return result


async def columns() -> dict[str, tuple[str, ...]]:
    """The fields' column names: the built-in ones and those analysts mapped."""
    rows = await CallColumnAlias.select(CallColumnAlias.header, CallColumnAlias.field)
    return rules.columns_with({r["header"]: r["field"] for r in rows})


async def remember_columns(
    upload_dir: Path, token: str, chosen: dict[str, str], actor: audit.Actor
) -> dict[str, str] | None:
    """The analyst's mapping of this upload's headers, kept for every later import; the errors
    by field, or None when the upload is gone."""
    result = ImportResult()
    path = _upload_path(upload_dir, token)
    if not path.exists():
        return None
    rows = _rows(path, result, await columns())
    next(rows, None)  # the header alone
    rows.close()
    mapping, errors = rules.check_column_choices(chosen, result.headers, result.missing)
    if errors:
        return errors
    async with write_transaction(CallColumnAlias._meta.db):
        await CallColumnAlias.delete().where(CallColumnAlias.header.is_in(list(mapping) or ["-"]))
        for header, name in mapping.items():
            await CallColumnAlias.insert(CallColumnAlias(header=header, field=name, created_by=actor.id))
        await audit.record(actor, "map_columns", "call_import", None, {"columns": [None, mapping]})
    return {}


async def import_file(
    upload_dir: Path, token: str, filename: str, principal: Principal, actor: audit.Actor, tz: str
) -> ImportResult:
    """The valid rows in one transaction (all or nothing), the rest reported; then the file
    is deleted."""
    path = _upload_path(upload_dir, token)
    result = ImportResult()
    if not path.exists():
        result.file_error = GONE
        return result
    ctx = await context_for(principal, tz)
    await _import(_rows(path, result, await columns()), ctx, result, actor, "csv", filename)
    if not result.file_error:
        path.unlink(missing_ok=True)
    return result


async def import_objects(items: list, client_principal: Principal, actor: audit.Actor, tz: str) -> ImportResult:
    """The JSON API: a list of call objects with the English field names."""
    result = ImportResult()
    ctx = await context_for(client_principal, tz)
    rows = (
        (i, {k: "" if v is None else str(v) for k, v in item.items()} if isinstance(item, dict) else {})
        for i, item in enumerate(items)
    )
    await _import(rows, ctx, result, actor, "api", "")
    return result


async def _import(rows, ctx: Context, result: ImportResult, actor: audit.Actor, source: str, filename: str) -> None:
    with IMPORT_SECONDS.labels(source).time():
        await _import_chunks(rows, ctx, result, actor, source, filename)
    IMPORT_ROWS.labels(source).inc(result.created)


async def _import_chunks(
    rows, ctx: Context, result: ImportResult, actor: audit.Actor, source: str, filename: str
) -> None:
    """The calls in chunks of CHUNK rows, each chunk its own short transaction, so that an
    officer's save waits for one chunk at most, never for the whole file. The calls count only
    once the last transaction marks the import done (detection.VISIBLE): all or nothing for
    everyone who reads, as one transaction was. An import that fails part-way is marked failed
    and its calls deleted (a crashed one is found by discard_stale)."""
    result.batch_id = await _open_batch(actor, source, filename)
    try:
        await _run(rows, ctx, result, result.batch_id, write=True)
        if result.file_error or not await _finish(result, actor):
            raise _Abort()  # a file-level error part-way, or the import was given up as stale
    except _Abort:
        await _discard(result.batch_id)
        result.batch_id, result.created = None, 0
    except BaseException:
        await _discard(result.batch_id)
        raise
    if result.created >= BULK_IMPORT:
        await after_bulk_write(Call)  # the period counts read the index alone again at once


async def _open_batch(actor: audit.Actor, source: str, filename: str) -> int:
    inserted = await CallImport.insert(
        CallImport(
            source=source, filename=filename[:200], actor_id=actor.id, actor_role=actor.role[:40], state="importing"
        )
    ).returning(CallImport.id)
    return inserted[0]["id"]


async def _finish(result: ImportResult, actor: audit.Actor) -> bool:
    """The import's calls become visible, with the repeat flags they change, in one
    transaction; False when the import is no longer running (discard_stale gave it up)."""
    batch = result.batch_id
    async with write_transaction(Call._meta.db):
        done = (
            await CallImport.update(
                {
                    CallImport.state: "done",
                    CallImport.created: result.created,
                    CallImport.duplicates: result.duplicates,
                    CallImport.conflicts: result.conflicts,
                    CallImport.rejected: result.rejected,
                    CallImport.errors: result.errors,
                }
            )
            .where((CallImport.id == batch) & (CallImport.state == "importing"))
            .returning(CallImport.id)
        )
        if not done:
            return False
        await refresh_repeats(batch)
        await routing.open_routed_calls(batch, datetime.now(timezone.utc))
        await audit.record(
            actor,
            "import",
            "call_import",
            batch,
            {
                "created": [None, result.created],
                "duplicates": [None, result.duplicates],
                "conflicts": [None, result.conflicts],
                "rejected": [None, result.rejected],
            },
        )
    return True


DISCARD_ROWS = 5000  # calls deleted per transaction when an import is discarded


async def _discard(batch: int) -> None:
    """A failed import: marked failed at once (its calls stay invisible), then its calls are
    deleted a few thousand at a time, so that their call_ids are free for the next try."""
    await CallImport.update({CallImport.state: "failed"}).where(CallImport.id == batch)
    while True:
        async with write_transaction(Call._meta.db):
            deleted = await Call.raw(
                f"DELETE FROM call WHERE id IN (SELECT id FROM call WHERE batch = {{}} "
                f"LIMIT {DISCARD_ROWS}) RETURNING id",
                batch,
            )
        if len(deleted) < DISCARD_ROWS:
            return


STALE_IMPORT = timedelta(hours=1)  # an import still running after this long died with its process


async def discard_stale(now: datetime | None = None) -> int:
    """Imports left running by a process that stopped (a crash, a deploy) are given up, and
    the calls of failed imports whose discarding was cut short are deleted. Run with the
    upload cleanup (cleanup() below)."""
    before = (now or datetime.now(timezone.utc)) - STALE_IMPORT
    stale = await CallImport.select(CallImport.id).where(
        ((CallImport.state == "importing") & (CallImport.at < before))
        | (
            (CallImport.state == "failed")
            & WhereRaw(
                "id IN (SELECT batch FROM call WHERE batch IN (SELECT id FROM call_import WHERE state = 'failed'))"
            )
        )
    )
    for row in stale:
        await _discard(row["id"])
    return len(stale)


class _Abort(Exception):
    pass


# --- the mapping queue -----------------------------------------------------------------------


async def unmatched(principal: Principal, limit: int = 100) -> list[dict]:
    """Addresses no place matched, most calls first."""
    query = Call.select(Call.address_key, Call.address, Call.id).where(Call.place.is_null() & detection.visible())
    stations = None if principal.has("admin") else await scope.station_ids(principal)
    if stations is not None:
        query = query.where(Call.station.is_in(list(stations) or [-1]))
    groups: dict[str, dict] = {}
    for r in await query:
        group = groups.setdefault(
            r["address_key"], {"address_key": r["address_key"], "address": r["address"], "calls": 0}
        )
        group["calls"] += 1
    return sorted(groups.values(), key=lambda g: -g["calls"])[:limit]


async def map_address(principal: Principal, address_key: str, place_id: int, actor: audit.Actor) -> bool:
    """Remember that this address is that place, and attach the calls already imported: only
    the place's own station's calls, and only an address of calls the principal sees. False
    (404) for anything else: a place or an address outside their scope, or an address another
    station has already mapped (one mapping per address text)."""
    place = await scope.place(principal, place_id)
    if place is None or not address_key:
        return False
    station = (await Place.select(Place.grid.office.station.as_alias("station")).where(Place.id == place_id).first())[
        "station"
    ]
    theirs = (Call.address_key == address_key) & (Call.station == station)
    async with write_transaction(Call._meta.db):
        example = await (await _scoped(principal, Call.select(Call.address).where(theirs))).first()
        mapped = (
            await AddressMapping.select(AddressMapping.place.grid.office.station.as_alias("station"))
            .where(AddressMapping.address_key == address_key)
            .first()
        )
        if example is None or (mapped is not None and mapped["station"] != station):
            return False
        await AddressMapping.delete().where(AddressMapping.address_key == address_key)
        await AddressMapping.insert(
            AddressMapping(
                address_key=address_key, address=example["address"][:200], place=place_id, created_by=actor.id
            )
        )
        await Call.update({Call.place: place_id, Call.grid: place["grid"]}).where(theirs & Call.place.is_null())
        await audit.record(actor, "map_address", "address_mapping", address_key, {"place": [None, place_id]})
    return True


# --- reading ---------------------------------------------------------------------------------


async def _scoped(principal: Principal, query):
    """The calls a principal sees: of finished imports (detection.VISIBLE), in their scope."""
    query = query.where(detection.visible())
    if principal.has("admin"):
        return query
    grids = await scope.grid_ids(principal)
    stations = await scope.station_ids(principal)
    condition = Call.station.is_in(list(stations) or [-1])
    if principal.has("grid_worker") and not principal.has("officer", "analyst", "supervisor"):
        condition = Call.grid.is_in(list(grids or []) or [-1])
    return query.where(condition)


BY_TIME = paging.newest_first(Call.received_at)


async def search(
    principal: Principal,
    q: str = "",
    category: str = "",
    place: int | None = None,
    since: date | None = None,
    until: date | None = None,
    tz: str = "Asia/Shanghai",
    older: int | None = None,
) -> tuple[paging.Page, int]:
    """One page of calls, newest first (after the call `older`), and the number matching counted
    up to paging.COUNT_CAP + 1 (a city imports a million calls a year)."""
    clauses = _filters(q, category, place, since, until, tz)

    def filtered(query):
        return _scoped(principal, paging.narrowed(query, clauses))

    total = await paging.count_upto(await filtered(Call.select(Call.id)))
    found = await paging.page(
        BY_TIME,
        lambda: filtered(Call.select(Call.all_columns(), Call.place.name.as_alias("place_name"))),
        lambda query: _scoped(principal, query),
        older,
    )
    return found, total


def _filters(q: str, category: str, place: int | None, since: date | None, until: date | None, tz: str) -> list:
    clauses = []
    if q:
        clauses.append(Call.address.like(f"%{q}%") | Call.summary.like(f"%{q}%") | Call.call_id.like(f"%{q}%"))
    if category:
        clauses.append(Call.category == category)
    if place:
        clauses.append(Call.place == place)
    if since:
        clauses.append(Call.received_at >= rules.period_bounds(since, since, tz)[0])
    if until:
        clauses.append(Call.received_at < rules.period_bounds(until, until, tz)[1])
    return clauses


async def categories(principal: Principal) -> list[str]:
    rows = await (await _scoped(principal, Call.select(Call.category).distinct())).order_by(Call.category)
    return [r["category"] for r in rows]


async def weekly_counts(
    principal: Principal, weeks: int, today: date, tz: str, place_id: int | None = None
) -> list[dict]:
    """Calls per week (of a place, or of all the person may see), oldest first, the last week
    ending today: the dashboard's trend and a place's small chart."""
    start = today - timedelta(weeks=weeks) + timedelta(days=1)
    where = await _scope_sql(principal) + (f" AND place = {int(place_id)}" if place_id is not None else "")
    firsts = [start + timedelta(weeks=i) for i in range(weeks)]
    counts = await range_counts([rules.period_bounds(f, f + timedelta(days=6), tz) for f in firsts], where)
    return [{"start": first, "count": c} for first, c in zip(firsts, counts, strict=True)]


async def range_counts(bounds: list[tuple[datetime, datetime]], where: str) -> list[int]:
    """The calls received in each [low, high) that also meet `where` (db.per_range)."""
    return [int(r["n"]) for r in await per_range(Call, "call", "received_at", bounds, where, "COUNT(*) AS n")]


async def ranking(principal: Principal, by: str, since: date, until: date, tz: str, limit: int = 50) -> dict:
    """Places or callers by call count in a period, with the cumulative share (the 80/20 view).
    The database counts, in one pass over the period: a year of a district's calls is half a
    million rows. It answers the busiest keys, a histogram of the keys' counts (how many keys
    have n calls: the curve's whole input) and the calls without a key, as rows of one result."""
    low, high = rules.period_bounds(since, until, tz)
    key = "caller_key" if by == "caller" else "place"
    rows = await Call.raw(
        read_only(
            f"WITH per_key AS MATERIALIZED (SELECT {key} AS key, COUNT(*) AS n FROM call "
            f"WHERE received_at >= {{}} AND received_at < {{}}{await _scope_sql(principal)} GROUP BY {key}) "
            "SELECT 'top' AS part, key, n, 1 AS keys FROM "
            f"(SELECT key, n FROM per_key WHERE key IS NOT NULL ORDER BY n DESC, key LIMIT {int(limit)}) AS busiest "
            "UNION ALL SELECT 'histogram', NULL, n, COUNT(*) FROM per_key WHERE key IS NOT NULL GROUP BY n "
            "UNION ALL SELECT 'keyless', NULL, n, 1 FROM per_key WHERE key IS NULL"
        ),
        low,
        high,
    )
    parts: dict[str, list[dict]] = {"top": [], "histogram": [], "keyless": []}
    for r in rows:
        parts[r["part"]].append(r)
    top = sorted(parts["top"], key=lambda t: (-int(t["n"]), t["key"]))  # a union keeps no order
    histogram = sorted(parts["histogram"], key=lambda h: -int(h["n"]))
    values = [int(h["n"]) for h in histogram for _ in range(int(h["keys"]))]  # sorted: the rules' sorts are linear
    # Calls without a key (an address without a place, a withheld number) are a row of their
    # own: dropped, the cumulative share would end short of 100% without a word.
    keyless = sum(int(r["n"]) for r in parts["keyless"])
    total = sum(values) + keyless
    names = await _place_names([t["key"] for t in top]) if by == "place" else {}
    ranked, running = [], 0
    for t in top:
        running += int(t["n"])
        ranked.append(
            {
                "key": t["key"],
                "name": names.get(t["key"], ""),
                "calls": int(t["n"]),
                "share": rules.share(int(t["n"]), total),
                "cumulative": rules.share(running, total),
            }
        )
    pareto = rules.pareto_count(values, total)
    return {
        "curve": rules.pareto_curve(values, total),
        "deciles": [rules.top_share(values, total, tenth / 10) for tenth in range(1, 11)] if values else [],
        "top": rules.top_share(values, total),  # the busiest 20%
        "pareto_share": rules.top_share(values, total, pareto / len(values)) if pareto else None,
        "total": total,
        "rows": ranked,
        "keys": len(values),
        "keyless": keyless,
        "keyless_share": rules.share(keyless, total),
        "pareto": pareto,
    }


async def _place_names(ids: list[int]) -> dict[int, str]:
    rows = await Place.select(Place.id, Place.name).where(Place.id.is_in(ids)) if ids else []
    return {r["id"]: r["name"] for r in rows}


async def metrics(principal: Principal | None, start: date, end: date, tz: str) -> dict:
    """Total calls, repeat calls and their share in [start, end] (inclusive, local dates), the
    share's change against the same dates a year earlier in points (None without data then),
    and the relative change of the number of repeat calls (None without repeats then)."""
    total, repeats = await _period(principal, start, end, tz)
    before_total, before_repeats = await _period(principal, rules.year_earlier(start), rules.year_earlier(end), tz)
    now_share, then_share = rules.share(repeats, total), rules.share(before_repeats, before_total)
    change = None if now_share is None or then_share is None else round(now_share - then_share, 4)
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "total_calls": total,
        "repeat_calls": repeats,
        "repeat_share": now_share,
        "repeat_share_change_yoy": change,
        "repeat_calls_change_yoy": rules.relative_change(repeats, before_repeats),
    }


async def _period(principal: Principal | None, start: date, end: date, tz: str) -> tuple[int, int]:
    """(calls, repeat calls) in [start, end]: a count over the period, since every import keeps
    each call's is_repeat up to date (refresh_repeats)."""
    low, high = rules.period_bounds(start, end, tz)
    sql = (
        "SELECT COUNT(*) AS total, COALESCE(SUM(CASE WHEN is_repeat THEN 1 ELSE 0 END), 0) AS repeats "
        "FROM call WHERE received_at >= {} AND received_at < {}" + await _scope_sql(principal)
    )
    [row] = await Call.raw(sql, low, high)
    return int(row["total"]), int(row["repeats"])


async def refresh_repeats(batch: int | None = None) -> None:
    """Set is_repeat for the calls of the callers in an import (every caller when None): a
    call imported late can change whether the caller's later calls are repeats. Only visible
    calls count (an import is marked done before its refresh, in the same transaction)."""
    gap = detection.days_between(
        "received_at", "LAG(received_at) OVER (PARTITION BY caller_key ORDER BY received_at, id)"
    )
    callers = f"caller_key IS NOT NULL AND {detection.VISIBLE}"
    if batch is not None:
        callers += (
            f" AND caller_key IN (SELECT caller_key FROM call WHERE batch = {int(batch)} AND caller_key IS NOT NULL)"
        )
    await Call.raw(f"""
        UPDATE call SET is_repeat = flagged.repeat
        FROM (SELECT id, COALESCE({gap} <= {rules.REPEAT_WINDOW.days}, false) AS repeat FROM call WHERE {callers}) AS flagged
        WHERE call.id = flagged.id AND call.is_repeat <> flagged.repeat""")


async def _scope_sql(principal: Principal | None) -> str:
    """The principal's scope as a condition on call (ids only: nothing from the user). On
    SQLite a unary + keeps the planner from using the station or grid index (every call of a
    station has the same station) instead of the one on received_at. Not on PostgreSQL: there
    it hides the column's statistics, and the planner then expects a few hundred rows. Only
    calls of finished imports count (detection.VISIBLE)."""
    if principal is None or principal.has("admin"):
        return f" AND {detection.VISIBLE}"
    plus = "+" if isinstance(Call._meta.db, SQLiteEngine) else ""
    if principal.has("grid_worker") and not principal.has("officer", "analyst", "supervisor"):
        grids = await scope.grid_ids(principal) or set()
        return f" AND {detection.VISIBLE} AND {plus}grid IN ({', '.join(str(int(g)) for g in grids) or 'NULL'})"
    stations = await scope.station_ids(principal)
    return f" AND {detection.VISIBLE} AND {plus}station IN ({', '.join(str(int(s)) for s in stations) or 'NULL'})"


# --- what detection uses: thresholds per station and category, non-police categories -------


async def detection_settings(principal: Principal) -> list[dict]:
    query = DetectionSetting.select(
        DetectionSetting.all_columns(), DetectionSetting.station.name.as_alias("station_name")
    )
    if not principal.has("admin"):
        query = query.where(DetectionSetting.station.is_in(list(await scope.station_ids(principal)) or [-1]))
    return await query.order_by(DetectionSetting.rule)


async def save_detection_setting(principal: Principal, data: dict[str, str], actor: audit.Actor) -> dict[str, str]:
    """An analyst's threshold and window for a rule in their station (and, for surges, one
    category). Errors by field; empty when saved (replacing the same rule and category)."""
    errors: dict[str, str] = {}
    rule = data.get("rule", "")
    category = data.get("family" if rule == "repeat_place" else "category", "").strip()
    if rule not in rules.RULES:
        errors["rule"] = N_("Choose one")
    if rule == "repeat_place" and category and category not in rules.FAMILIES:
        errors["family"] = N_("Choose one")
    if category and rule == "repeat_caller":
        errors["category"] = N_("A category applies to the surge rule only")
    if len(category) > 60:
        errors["category"] = too_long(60)
    numbers = {}
    for name, low, high in (("threshold", 2, 1000), ("window_days", 1, 365)):
        text = data.get(name, "").strip()
        if not text.isdecimal() or not low <= int(text) <= high:
            errors[name] = N_("Out of range")
        else:
            numbers[name] = int(text)
    stations = await scope.station_ids(principal)
    station = int(data["station"]) if data.get("station", "").isdecimal() else None
    if station is None and len(stations) == 1:
        station = next(iter(stations))
    if station is None or (not principal.has("admin") and station not in stations):
        errors["station"] = N_("Choose the station")
    if errors:
        return errors
    async with write_transaction(DetectionSetting._meta.db):
        await DetectionSetting.delete().where(
            (DetectionSetting.station == station)
            & (DetectionSetting.rule == rule)
            & (DetectionSetting.category == category)
        )
        await DetectionSetting.insert(DetectionSetting(station=station, category=category, rule=rule, **numbers))
        await audit.record(
            actor,
            "update",
            "detection_setting",
            f"{station}:{rule}:{category}",
            {k: [None, v] for k, v in numbers.items()},
        )
    return {}


async def category_families(principal: Principal) -> list[dict]:
    """The categories of the principal's calls with their family: the analysts' choice, else
    the one the category's words give."""
    mapped = await detection.families()
    return [
        {
            "category": c,
            "family": rules.family_of(c, mapped),
            "by_words": rules.family_of(c),
            "chosen": c in mapped,
        }
        for c in await categories(principal)
    ]


async def save_families(principal: Principal, pairs: list[tuple[str, str]], actor: audit.Actor) -> int:
    """The analyst's families for these categories (of their own calls, to known families); a
    family the words give anyway is no choice to keep. Returns how many changed."""
    known = {r["category"]: r for r in await category_families(principal)}
    changes = {c: f for c, f in pairs if c in known and f in rules.FAMILIES and f != known[c]["family"]}
    if not changes:
        return 0
    async with write_transaction(CategoryFamily._meta.db):
        await CategoryFamily.delete().where(CategoryFamily.call_category.is_in(list(changes)))
        kept = [
            CategoryFamily(call_category=c, family=f, changed_by=actor.id)
            for c, f in changes.items()
            if f != known[c]["by_words"]
        ]
        if kept:
            await CategoryFamily.insert(*kept)
        for c, f in changes.items():
            await audit.record(actor, "update", "category_family", c, {"family": [known[c]["family"], f]})
    return len(changes)


async def non_police_categories() -> list[str]:
    return [r["category"] for r in await NonPoliceCategory.select().order_by(NonPoliceCategory.category)]


async def set_non_police(category: str, on: bool, actor: audit.Actor) -> bool:
    """An admin's list of categories that belong to other agencies; imported calls of these
    categories are marked for transfer and left out of detection."""
    category = category.strip()
    if not category or len(category) > 60:
        return False
    async with write_transaction(NonPoliceCategory._meta.db):
        await NonPoliceCategory.delete().where(NonPoliceCategory.category == category)
        if on:
            await NonPoliceCategory.insert(NonPoliceCategory(category=category))
        await Call.update({Call.non_police: on}).where(Call.category == category)
        await audit.record(actor, "non_police" if on else "police", "call_category", category)
    return True
