"""Backups that restore: the database and the uploaded photos together, with a manifest.

A backup is a folder: manifest.json, the database (`database.sqlite3`, made with SQLite's
online backup API, or `database.pgdump`, pg_dump's custom format from the server's own major
version) and `uploads/` (every stored file but the call-import uploads, which live an hour).
Both are taken while the app runs: SQLite's backup copies one read snapshot; pg_dump reads the
snapshot that the manifest's row counts were taken in (pg_export_snapshot), so the counts and
the dump agree. Photos are written before the rows that name them and never deleted, so files
copied after the snapshot cover every row in it.

A restore checks everything before it touches the target: the schema is one this code knows
(a backup from a newer Qianmo is refused), every file's sha256 matches the manifest, and the
target database and upload folder are empty (unless forced). Afterwards it compares each
table's row count with the manifest. The CLI then applies the migrations this code has beyond
the backup's. This module talks to the engines directly (not through Piccolo's tables, which
are bound to the configured database): a restore may target any database.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import asyncpg

MANIFEST = "manifest.json"
FORMAT = 1
SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.pgdump"
UPLOADS = "uploads"
# Temporary files of the upload folder: call-import CSVs (an hour's life) and half-written files.
SKIPPED_DIRS = {"imports"}
SKIPPED_SUFFIX = ".part"
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "piccolo_migrations"
APP_NAME = "qianmo"
CHUNK = 1024 * 1024


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why, for the operator."""


@dataclass(frozen=True)
class Manifest:
    engine: str
    created_at: str
    migrations: list[str]
    tables: dict[str, int]
    files: dict[str, str]  # path inside the backup → sha256
    server_version: str = ""

    @property
    def schema(self) -> str:
        return self.migrations[-1] if self.migrations else ""

    def to_json(self) -> str:
        data = {
            "format": FORMAT,
            "app": APP_NAME,
            "engine": self.engine,
            "created_at": self.created_at,
            "server_version": self.server_version,
            "schema": self.schema,
            "migrations": self.migrations,
            "tables": self.tables,
            "files": self.files,
        }
        return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True)

    @classmethod
    def read(cls, folder: Path) -> "Manifest":
        try:
            data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise BackupError(f"{folder} holds no {MANIFEST}: not a Qianmo backup (or an unfinished one)") from None
        if data.get("app") != APP_NAME or data.get("format") != FORMAT:
            raise BackupError(f"{folder / MANIFEST} is not a Qianmo backup of format {FORMAT}")
        return cls(
            engine=data["engine"],
            created_at=data["created_at"],
            migrations=list(data["migrations"]),
            tables=dict(data["tables"]),
            files=dict(data["files"]),
            server_version=data.get("server_version", ""),
        )


def engine_of(url: str) -> str:
    if url.startswith("sqlite:///"):
        return "sqlite"
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql"
    raise BackupError(f"unknown database URL scheme {url.split(':')[0]}:")


def sqlite_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def known_migrations() -> set[str]:
    """The migration ids this code ships (each module's ID line; no import needed)."""
    found = set()
    for path in MIGRATIONS_DIR.glob("*.py"):
        match = re.search(r'^ID = "([^"]+)"', path.read_text(encoding="utf-8"), re.MULTILINE)
        if match:
            found.add(match.group(1))
    return found


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# --- backup -----------------------------------------------------------------------------------


def backup(database_url: str, upload_dir: Path, target: Path, connect_timeout: float = 5) -> Manifest:
    """Write a backup of the database at `database_url` and of `upload_dir` into the folder
    `target` (absent or empty). Everything goes into a hidden sibling first and is renamed at
    the end: a folder with a manifest is a complete backup."""
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"{target} is not empty: back up into a new folder (e.g. one per day)")
    target.parent.mkdir(parents=True, exist_ok=True)
    work = target.parent / f".{target.name}.partial-{uuid.uuid4().hex[:8]}"
    work.mkdir()
    try:
        if engine_of(database_url) == "sqlite":
            tables, migrations, server = _backup_sqlite(sqlite_path(database_url), work)
        else:
            tables, migrations, server = asyncio.run(_backup_postgres(database_url, work, connect_timeout))
        _copy_uploads(upload_dir, work / UPLOADS)
        files = _hash_tree(work)
        manifest = Manifest(
            engine=engine_of(database_url),
            created_at=_now(),
            migrations=migrations,
            tables=tables,
            files=files,
            server_version=server,
        )
        (work / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
        if target.exists():
            target.rmdir()  # empty (checked above)
        work.rename(target)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return manifest


def _backup_sqlite(source: Path, work: Path) -> tuple[dict[str, int], list[str], str]:
    if not source.exists():
        raise BackupError(f"no database at {source}")
    copy = work / SQLITE_FILE
    src = sqlite3.connect(source, timeout=30)
    dest = sqlite3.connect(copy)
    try:
        src.backup(dest)  # one pass: a single read snapshot, writers go on beside it
        dest.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        tables, migrations = _sqlite_contents(dest)
    finally:
        dest.close()
        src.close()
    return tables, migrations, sqlite3.sqlite_version


def _sqlite_contents(conn: sqlite3.Connection) -> tuple[dict[str, int], list[str]]:
    names = [
        r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    ]
    tables = {name: conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in sorted(names)}
    return tables, sqlite_migrations(conn) if "migration" in tables else []


def sqlite_migrations(conn: sqlite3.Connection) -> list[str]:
    """The app's applied migrations, oldest first (none before the first `migrate`)."""
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'migration'").fetchone():
        return []
    rows = conn.execute("SELECT name FROM migration WHERE app_name = ? ORDER BY name", (APP_NAME,))
    return [r[0] for r in rows]


async def _backup_postgres(url: str, work: Path, connect_timeout: float) -> tuple[dict[str, int], list[str], str]:
    conn = await connect(url, connect_timeout)
    try:
        version = await conn.fetchval("SHOW server_version")
        pg_dump = client_binary("pg_dump", await server_major(conn))
        # The counts and the dump read one snapshot: the transaction holds it open for pg_dump.
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            snapshot = await conn.fetchval("SELECT pg_export_snapshot()")
            tables, migrations = await _postgres_contents(conn)
            args = [pg_dump, "--format=custom", f"--snapshot={snapshot}", f"--file={work / PG_FILE}"]
            await _run(args + [f"--dbname={_without_password(url)}"], url)
    finally:
        await conn.close()
    return tables, migrations, version


async def _postgres_contents(conn) -> tuple[dict[str, int], list[str]]:
    names = [r["tablename"] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
    tables = {name: await conn.fetchval(f'SELECT count(*) FROM "{name}"') for name in sorted(names)}
    return tables, await postgres_migrations(conn) if "migration" in tables else []


async def postgres_migrations(conn) -> list[str]:
    if not await conn.fetchval("SELECT to_regclass('public.migration') IS NOT NULL"):
        return []
    rows = await conn.fetch("SELECT name FROM migration WHERE app_name = $1 ORDER BY name", APP_NAME)
    return [r["name"] for r in rows]


async def connect(url: str, connect_timeout: float):
    try:
        return await asyncpg.connect(url, timeout=connect_timeout)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        raise BackupError(f"cannot reach the database: {exc}") from exc


async def server_major(conn) -> int:
    return int(await conn.fetchval("SHOW server_version_num")) // 10000


def client_binary(name: str, major: int) -> str:
    """pg_dump / pg_restore of the server's major version (Debian keeps each version's tools
    under /usr/lib/postgresql/N/bin; /usr/bin's wrapper may pick another). A newer client
    reads an older server; an older one refuses, so it is not offered."""
    versioned = Path(f"/usr/lib/postgresql/{major}/bin/{name}")
    if versioned.exists():
        return str(versioned)
    found = shutil.which(name)
    if found:
        out = subprocess.run([found, "--version"], capture_output=True, text=True, check=False).stdout
        match = re.search(r"(\d+)(?:\.\d+)*", out)
        if match and int(match.group(1)) >= major:
            return found
    raise BackupError(f"{name} {major} not found: install postgresql-client-{major}")


def _without_password(url: str) -> str:
    parts = urlparse(url)
    if parts.password is None:
        return url
    # Everything after the last "@" is the host and port, as written (IPv6 brackets kept).
    netloc = parts.netloc.rpartition("@")[2]
    return urlunparse(parts._replace(netloc=f"{parts.username}@{netloc}" if parts.username else netloc))


async def _run(args: list[str], url: str) -> None:
    """Run a PostgreSQL client; its password goes in the environment, never on the command line."""
    env = dict(os.environ)
    password = urlparse(url).password
    if password:
        env["PGPASSWORD"] = password
    process = await asyncio.create_subprocess_exec(
        *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    _out, err = await process.communicate()
    if process.returncode != 0:
        raise BackupError(f"{Path(args[0]).name} failed: {err.decode(errors='replace').strip()}")


def _stored_files(upload_dir: Path) -> list[Path]:
    if not upload_dir.is_dir():
        return []
    return sorted(
        p
        for p in upload_dir.rglob("*")
        if p.is_file()
        and p.relative_to(upload_dir).parts[0] not in SKIPPED_DIRS
        and not p.name.endswith(SKIPPED_SUFFIX)
    )


def _copy_uploads(upload_dir: Path, dest: Path) -> None:
    for path in _stored_files(upload_dir):
        copy = dest / path.relative_to(upload_dir)
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, copy)


def _hash_tree(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): sha256_of(p) for p in sorted(folder.rglob("*")) if p.is_file()}


# --- restore ----------------------------------------------------------------------------------


def restore(
    source: Path, database_url: str, upload_dir: Path, force: bool = False, connect_timeout: float = 5
) -> Manifest:
    """Restore the backup in `source` into the database at `database_url` and `upload_dir`."""
    manifest = Manifest.read(source)
    check_schema(manifest, known_migrations())
    if manifest.engine != engine_of(database_url):
        raise BackupError(f"this backup is of {manifest.engine}; the target database is {engine_of(database_url)}")
    verify_files(source, manifest)
    if not force and _stored_files(upload_dir):
        raise BackupError(f"the upload folder {upload_dir} is not empty (--force restores over it)")
    if manifest.engine == "sqlite":
        tables = _restore_sqlite(source / SQLITE_FILE, sqlite_path(database_url), force)
    else:
        tables = asyncio.run(_restore_postgres(source / PG_FILE, database_url, force, connect_timeout))
    if tables != manifest.tables:
        differ = sorted(k for k in set(tables) | set(manifest.tables) if tables.get(k) != manifest.tables.get(k))
        raise BackupError(f"restored row counts differ from the manifest in: {', '.join(differ)}")
    _restore_uploads(source / UPLOADS, upload_dir)
    return manifest


def check_schema(manifest: Manifest, known: set[str]) -> None:
    newer = sorted(set(manifest.migrations) - known)
    if newer:
        raise BackupError(
            f"this backup comes from a newer Qianmo (schema {manifest.schema}; unknown migrations: "
            f"{', '.join(newer)}): upgrade Qianmo, then restore"
        )


def verify_files(source: Path, manifest: Manifest) -> None:
    for name, digest in manifest.files.items():
        path = source / name
        if not path.is_file():
            raise BackupError(f"the backup lacks {name}")
        if sha256_of(path) != digest:
            raise BackupError(f"{name} does not match its sha256 in the manifest: the backup is damaged")


def _restore_sqlite(backup_file: Path, target: Path, force: bool) -> dict[str, int]:
    target.parent.mkdir(parents=True, exist_ok=True)
    dest = sqlite3.connect(target, timeout=30)
    src = sqlite3.connect(f"file:{backup_file}?mode=ro", uri=True)
    try:
        if not force and _sqlite_contents(dest)[0]:
            raise BackupError(f"the database {target} is not empty (--force replaces it)")
        src.backup(dest)  # page by page into the live file: its -wal and -shm stay consistent
        dest.execute("PRAGMA journal_mode=WAL")
        return _sqlite_contents(dest)[0]
    finally:
        src.close()
        dest.close()


async def _restore_postgres(dump: Path, url: str, force: bool, connect_timeout: float) -> dict[str, int]:
    conn = await connect(url, connect_timeout)
    try:
        present = [
            r["tablename"] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ]
        if present and not force:
            raise BackupError(f"the database is not empty: it holds {len(present)} table(s) (--force replaces them)")
        if present:
            await conn.execute("DROP TABLE " + ", ".join(f'"{name}"' for name in present) + " CASCADE")
        pg_restore = client_binary("pg_restore", await server_major(conn))
        # One transaction: a restore that fails half way leaves the database as it was.
        args = [pg_restore, "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"]
        await _run(args + [f"--dbname={_without_password(url)}", str(dump)], url)
        return (await _postgres_contents(conn))[0]
    finally:
        await conn.close()


def _restore_uploads(source: Path, upload_dir: Path) -> None:
    if not source.is_dir():
        return
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        dest = upload_dir / path.relative_to(source)
        dest.parent.mkdir(parents=True, exist_ok=True)
        partial = dest.with_name(f"{uuid.uuid4().hex}{SKIPPED_SUFFIX}")
        shutil.copyfile(path, partial)
        partial.replace(dest)
