"""qianmo serve | demo | migrate | admin-link | api-key | cleanup | backup | restore | check"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
from dataclasses import replace
from pathlib import Path

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def _use_piccolo_conf() -> None:
    os.environ.setdefault("PICCOLO_CONF", "piccolo_conf")


def migrate() -> None:
    """Apply every pending migration (forwards), on SQLite or PostgreSQL alike."""
    _use_piccolo_conf()
    from piccolo.apps.migrations.commands.forwards import run_forwards

    result = asyncio.run(run_forwards(app_name="all", migration_id="all", fake=False))
    if not result.success:
        raise SystemExit(f"migration failed: {result.message}")
    from app.services.fieldwork_lists import ensure_topics
    from app.services.report_lists import ensure_categories
    from app.services.routing import ensure_holidays

    asyncio.run(ensure_topics())
    asyncio.run(ensure_categories())
    asyncio.run(ensure_holidays())


def metrics_folder(workers: int) -> None:
    """Several workers share their metrics through files (app/metrics.py): a fresh folder of
    them per start, set before prometheus_client is imported. An operator's own folder
    (PROMETHEUS_MULTIPROC_DIR, e.g. systemd's RuntimeDirectory) is emptied of last run's files."""
    if workers <= 1:
        return
    chosen = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not chosen:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="qianmo-metrics-")
        return
    Path(chosen).mkdir(parents=True, exist_ok=True)
    for stale in Path(chosen).glob("*.db"):
        stale.unlink()


def _serve(host: str, port: int, workers: int) -> None:
    import uvicorn

    uvicorn.run(
        "app.main:app_factory",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        proxy_headers=True,
        forwarded_allow_ips=os.environ.get("QIANMO_TRUSTED_PROXIES", "127.0.0.1"),
    )


def serve(args: argparse.Namespace) -> None:
    os.environ.pop("QIANMO_DEMO", None)
    metrics_folder(args.workers)
    from app.settings import Settings

    Settings.from_env()  # fail here, before forking workers, if a setting is missing
    migrate()
    _serve(args.host, args.port, args.workers)


def demo(args: argparse.Namespace) -> None:
    if args.host not in LOCAL_HOSTS:
        raise SystemExit("qianmo demo serves on localhost only (demo sign-in needs no passkey).")
    os.environ["QIANMO_DEMO"] = "1"
    # Passkeys are bound to the origin the browser sees.
    os.environ.setdefault("QIANMO_PUBLIC_BASE_URL", f"http://localhost:{args.port}")
    migrate()
    from app.services.demo import load_demo

    created = asyncio.run(load_demo())
    print("demo district loaded" if created else "demo district already present: left as it is")
    from app.services import demo_calls

    if asyncio.run(demo_calls.load()):
        print("demo 110 calls loaded and checked for repeats")
    from app.services import demo_matters

    if asyncio.run(demo_matters.load()):
        print("demo resident reports and routed matters loaded (13 months, with steps and ratings)")
    from app.services import demo_alerts

    if asyncio.run(demo_alerts.load()):
        print("demo grid alerts loaded (two months)")
    print(f"open http://localhost:{args.port}/")
    _serve(args.host, args.port, 1)


def admin_link(_args: argparse.Namespace) -> None:
    """Print a one-time invitation link for the first administrator."""
    from app.settings import Settings

    settings = Settings.from_env(require_secret=False)  # only the public address is needed
    migrate()
    from app.services import audit, auth, people

    async def issue() -> str:
        return await auth.issue_invitation(await people.first_admin(), settings, audit.OPERATOR)

    link = asyncio.run(issue())
    print(f"One-time administrator link (valid {settings.invitation_hours:g} h, one use):\n{link}")


def api_key(args: argparse.Namespace) -> None:
    """Create, list or revoke API keys; a new key is printed once (only its hash is kept)."""
    migrate()
    from app.domain.roles import API_ROLES
    from app.services import api_keys, audit

    async def run() -> None:
        if args.action == "create":
            station = await api_keys.station_by_code(args.station) if args.station else None
            if args.station and station is None:
                raise SystemExit(f"no station with code {args.station!r}")
            errors = await api_keys.form_errors(args.name, args.role, station)
            if errors:
                raise SystemExit(
                    "; ".join(f"{k}: {v}" for k, v in errors.items()) + f" (roles: {', '.join(API_ROLES)})"
                )
            key_id, key = await api_keys.create(args.name, args.role, station, audit.SYSTEM)
            print(f"API key {key_id} ({args.role}) for {args.name!r}; it is shown this once:\n{key}")
        elif args.action == "revoke":
            if not await api_keys.revoke(args.id, audit.SYSTEM):
                raise SystemExit(f"no active API key {args.id}")
            print(f"API key {args.id} revoked")
        else:
            for row in await api_keys.list_keys():
                state = "revoked" if row["revoked_at"] else "active"
                print(
                    f"{row['id']}\t{row['prefix']}…\t{row['role']}\t{row['station_name'] or '-'}\t{state}\t{row['name']}"
                )

    asyncio.run(run())


def cleanup(_args: argparse.Namespace) -> None:
    """Delete call-import uploads never confirmed (older than an hour) and discard imports a
    stopped process left running. Uploads do it too; cron this for the quiet days."""
    from app.settings import Settings

    settings = Settings.from_env(require_secret=False)
    migrate()
    from app.services import calls

    files, imports = asyncio.run(calls.cleanup(settings.upload_dir))
    print(f"removed {files} unconfirmed upload(s), discarded {imports} unfinished import(s)")


def backup(args: argparse.Namespace) -> None:
    """Back up the database and the uploaded photos into a new folder, while the app runs."""
    from app.services.backup import BackupError, backup
    from app.settings import Settings

    settings = Settings.from_env(require_secret=False)
    try:
        manifest = backup(settings.database_url, settings.upload_dir, Path(args.dir), settings.db_connect_timeout)
    except BackupError as exc:
        raise SystemExit(f"backup failed: {exc}") from None
    rows = sum(manifest.tables.values())
    print(f"backed up {rows} rows in {len(manifest.tables)} tables and {len(manifest.files)} files to {args.dir}")


def restore(args: argparse.Namespace) -> None:
    """Restore a backup into the configured database and upload folder (the app stopped), then
    apply the migrations this version has beyond the backup's."""
    from app.services.backup import BackupError, restore
    from app.settings import Settings

    settings = Settings.from_env(require_secret=False)
    try:
        manifest = restore(
            Path(args.dir), settings.database_url, settings.upload_dir, args.force, settings.db_connect_timeout
        )
    except BackupError as exc:
        raise SystemExit(f"restore failed: {exc}") from None
    migrate()
    print(f"restored the backup of {manifest.created_at} (schema {manifest.schema}) and applied newer migrations")


def check(args: argparse.Namespace) -> None:
    """What an operator must know before opening; exits 1 when something blocks it."""
    from app.domain.check import blocked
    from app.services import check as checks
    from app.settings import Settings

    # from_env makes up a secret when none is set: judge the one really configured.
    settings = replace(Settings.from_env(require_secret=False), secret_key=os.environ.get("QIANMO_SECRET_KEY", ""))
    findings = checks.run(settings, args.workers)
    for finding in findings:
        print(f"{finding.level.upper():8} {finding.topic}: {finding.text}")
    if blocked(findings):
        raise SystemExit(1)
    print("ready to open")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="qianmo", description="Qianmo (阡陌) server")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("serve", help="serve in production (migrates first)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=2)
    p.set_defaults(func=serve)
    p = sub.add_parser("demo", help="load the demo district and serve it on localhost")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.set_defaults(func=demo)
    p = sub.add_parser("admin-link", help="print a one-time sign-up link for the first administrator")
    p.set_defaults(func=admin_link)
    p = sub.add_parser("api-key", help="create, list or revoke API keys for other systems")
    keys = p.add_subparsers(dest="action", required=True)
    k = keys.add_parser("create", help="create a key and print it once")
    k.add_argument("--name", required=True, help="who uses it, e.g. 'city 12345 app'")
    k.add_argument("--role", required=True, help="open311 or analyst")
    k.add_argument("--station", default="", help="station code (required for analyst keys)")
    k = keys.add_parser("revoke", help="revoke a key by its id")
    k.add_argument("id", type=int)
    keys.add_parser("list", help="list keys (never the keys themselves)")
    p.set_defaults(func=api_key)
    p = sub.add_parser("cleanup", help="delete unconfirmed call-import uploads and unfinished imports")
    p.set_defaults(func=cleanup)
    p = sub.add_parser("backup", help="back up the database and uploaded photos into a new folder")
    p.add_argument("dir", help="a folder that does not exist yet (or is empty)")
    p.set_defaults(func=backup)
    p = sub.add_parser("restore", help="restore a backup into an empty database and upload folder")
    p.add_argument("dir", help="a folder written by `qianmo backup`")
    p.add_argument("--force", action="store_true", help="replace a database and upload folder that hold data")
    p.set_defaults(func=restore)
    p = sub.add_parser("check", help="what an operator must know before opening (exit 1 on a blocker)")
    p.add_argument("--workers", type=int, default=2, help="the workers serve will run (for the connection count)")
    p.set_defaults(func=check)
    p = sub.add_parser("migrate", help="apply pending database migrations")
    p.set_defaults(func=lambda _args: migrate())
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
