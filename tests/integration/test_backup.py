"""`qianmo backup` and `qianmo restore`: a demo with photos backed up and restored into an empty
database and upload folder (a separate SQLite file, or a fresh PostgreSQL database made and
dropped here) holds the same rows in every table and the same photo files, hash for hash."""

from __future__ import annotations

import asyncio
import io
import json
import sqlite3
import uuid
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import asyncpg
import pytest
from PIL import Image

from app.cli import main
from app.services import backup as backups
from app.services.backup import BackupError
from app.tables import Photo, ReportPhoto
from tests.conftest import DATABASE_URL, TEST_SERVER_URL, _pg_admin, run
from tests.integration.test_reports import form, place_named, poster_code, reports_ready, send  # noqa: F401


def photo(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), colour).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def demo_with_photos(reports_ready, settings):
    """The demo district, two resident reports with photos and a call-import upload in flight."""
    code = poster_code(reports_ready, place_named("泰和花园"))
    for colour in ((200, 30, 30), (30, 30, 200)):
        sent = send(reports_ready, code, form(client_uuid=str(uuid.uuid4()), join="new"), photo=photo(colour))
        assert sent.status_code == 303, sent.text[:500]
    (settings.upload_dir / "imports").mkdir(parents=True, exist_ok=True)
    (settings.upload_dir / "imports" / "pending.csv").write_text("call_id\n")
    return settings


@pytest.fixture
def target(tmp_path):
    """An empty database to restore into (dropped afterwards on PostgreSQL) and an upload folder."""
    if not TEST_SERVER_URL:
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}", tmp_path / "restored-uploads"
        return
    name = f"qianmo_restore_{uuid.uuid4().hex[:10]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    try:
        yield urlunparse(urlparse(TEST_SERVER_URL)._replace(path=f"/{name}")), tmp_path / "restored-uploads"
    finally:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def all_rows(url: str) -> dict[str, list]:
    """Every table's rows, sorted, straight from the engine."""
    if url.startswith("sqlite:///"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            return {n: sorted(map(repr, conn.execute(f'SELECT * FROM "{n}"'))) for n in names}
        finally:
            conn.close()

    async def fetch() -> dict[str, list]:
        conn = await asyncpg.connect(url)
        try:
            names = [r[0] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname='public'")]
            return {n: sorted(repr(tuple(r)) for r in await conn.fetch(f'SELECT * FROM "{n}"')) for n in names}
        finally:
            await conn.close()

    return asyncio.run(fetch())


def photo_hashes() -> set[str]:
    rows = run(Photo.select(Photo.sha256)) + run(ReportPhoto.select(ReportPhoto.sha256))
    return {r["sha256"] for r in rows}


def test_a_backup_restores_every_row_and_every_photo_into_an_empty_database(demo_with_photos, target, tmp_path):
    settings = demo_with_photos
    folder = tmp_path / "backup"
    manifest = backups.backup(DATABASE_URL, settings.upload_dir, folder)
    written = json.loads((folder / "manifest.json").read_text())
    assert written["schema"] == max(backups.known_migrations()) and written["tables"]["report_photo"] >= 2
    assert not any(name.startswith("uploads/imports") for name in written["files"])  # temporary uploads stay
    hashes = photo_hashes()
    assert len(hashes) >= 2

    url, uploads = target
    restored = backups.restore(folder, url, uploads)
    assert restored.tables == manifest.tables
    source_rows = all_rows(DATABASE_URL)
    assert all_rows(url) == source_rows and len(source_rows["report_photo"]) >= 2
    for digest in hashes:
        path = uploads / "photos" / digest[:2] / f"{digest}.jpg"
        assert backups.sha256_of(path) == digest
    kept = {p.relative_to(settings.upload_dir) for p in (settings.upload_dir / "photos").rglob("*.jpg")}
    assert {p.relative_to(uploads) for p in (uploads / "photos").rglob("*.jpg")} == kept

    with pytest.raises(BackupError, match="not empty"):  # the target now holds data
        backups.restore(folder, url, tmp_path / "other-uploads")
    with pytest.raises(BackupError, match="upload folder .* is not empty"):
        backups.restore(folder, url, uploads)
    backups.restore(folder, url, uploads, force=True)
    assert all_rows(url) == source_rows


def test_a_backup_from_a_newer_schema_or_damaged_is_refused_before_the_target_is_touched(db, settings, tmp_path):
    folder = tmp_path / "backup"
    backups.backup(DATABASE_URL, settings.upload_dir, folder)
    url = f"sqlite:///{tmp_path / 'never.sqlite3'}" if not TEST_SERVER_URL else DATABASE_URL
    manifest = json.loads((folder / "manifest.json").read_text())
    newer = {**manifest, "migrations": [*manifest["migrations"], "2099-01-01T00:00:00:000000"]}
    (folder / "manifest.json").write_text(json.dumps(newer))
    with pytest.raises(BackupError, match="newer Qianmo"):
        backups.restore(folder, url, tmp_path / "uploads")
    (folder / "manifest.json").write_text(json.dumps(manifest))
    dump = folder / ("database.sqlite3" if not TEST_SERVER_URL else "database.pgdump")
    dump.write_bytes(dump.read_bytes() + b"x")
    with pytest.raises(BackupError, match="does not match its sha256"):
        backups.restore(folder, url, tmp_path / "uploads")
    assert not Path(tmp_path / "never.sqlite3").exists() and not (tmp_path / "uploads").exists()


def test_the_command_line_backs_up_into_a_new_folder_and_restores_only_into_an_empty_target(
    demo_with_photos, monkeypatch, tmp_path, capsys
):
    monkeypatch.setenv("QIANMO_UPLOAD_DIR", str(demo_with_photos.upload_dir))
    main(["backup", str(tmp_path / "nightly")])
    assert "backed up" in capsys.readouterr().out and (tmp_path / "nightly" / "manifest.json").exists()
    with pytest.raises(SystemExit, match="not empty"):
        main(["backup", str(tmp_path / "nightly")])
    with pytest.raises(SystemExit, match="restore failed: .*not empty"):  # the configured database holds the demo
        main(["restore", str(tmp_path / "nightly")])
    assert not list(tmp_path.glob(".nightly.partial-*"))


def test_the_password_never_reaches_the_command_line():
    assert backups._without_password("postgresql://qianmo:s3cret@db:5432/q") == "postgresql://qianmo@db:5432/q"
    assert backups._without_password("postgresql://qianmo:s3cret@[::1]:5432/q") == "postgresql://qianmo@[::1]:5432/q"
    assert backups._without_password("postgresql://db/q") == "postgresql://db/q"
