"""qianmo serve | demo | migrate | admin-link | api-key | cleanup"""

from __future__ import annotations

import argparse
import asyncio
import os

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
    p = sub.add_parser("migrate", help="apply pending database migrations")
    p.set_defaults(func=lambda _args: migrate())
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
