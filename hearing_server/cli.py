"""``hearing-server``: run the server and look after its data from the command line."""

from __future__ import annotations

import argparse
import asyncio
import errno
import getpass
import logging
import os
import secrets
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import uvloop
from aiohttp import web

from hearing_server import __version__
from hearing_server.app import OPENAPI_PATH, build_service, create_app
from hearing_server.bus import LocalEventBus
from hearing_server.case_import import (
    ImportFileError,
    ImportFormat,
    RowOutcome,
    import_cases,
    parse_case_file,
)
from hearing_server.demo import create_demo
from hearing_server.documents_cli import add_document_commands
from hearing_server.persistence.database import Database
from hearing_server.recordings_cli import add_recordings_commands
from hearing_server.services import HearingService, utc_now
from hearing_server.settings import Settings, load_settings
from rooms.errors import DomainError
from rooms.ids import CourtId
from rooms.participants import Actor
from rooms.roles import StaffRole
from signaling.probe import ProbeResult, run_probe

T = TypeVar("T")

CLI_ACTOR = Actor(id="cli", name="command line", is_system=True)
"""Whoever runs the command line already holds the database; the audit log says it was them."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.config)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings)
    try:
        code: int = args.func(settings, args)
    except DomainError as exc:
        print(f"error: {exc.message.en} ({exc.rule})", file=sys.stderr)
        return 1
    return code


LIBRARY_LOGGERS = ("aioice", "aiortc", "socketio", "engineio", "aiohttp")
"""Libraries whose INFO lines (every ICE check, every poll) are not the server's events."""


def configure_logging(settings: Settings) -> None:
    """The server's events at ``log_level``; the libraries' at ``library_log_level``."""
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(settings.library_log_level.upper())


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hearing-server", description=__doc__)
    parser.add_argument("--version", action="version", version=__version__)
    config = argparse.ArgumentParser(add_help=False)
    config.add_argument(
        "--config",
        type=Path,
        default=argparse.SUPPRESS,
        help="a TOML settings file (default: config/hearing-server.toml)",
    )
    parser.add_argument("--config", type=Path, default=None, help=argparse.SUPPRESS)
    sub = parser.add_subparsers(required=True, metavar="COMMAND")
    _add = sub.add_parser

    def add_parser(name: str, **kwargs: Any) -> argparse.ArgumentParser:
        return _add(name, parents=[config], **kwargs)

    sub.add_parser = add_parser  # type: ignore[method-assign]

    serve = sub.add_parser("serve", help="run the server")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 8080)")
    serve.set_defaults(func=_serve)

    db = sub.add_parser("db", help="database schema").add_subparsers(
        required=True, metavar="ACTION"
    )
    db.add_parser("upgrade", help="apply migrations").set_defaults(func=_db_upgrade)

    user = sub.add_parser("user", help="staff accounts").add_subparsers(
        required=True, metavar="ACTION"
    )
    add = user.add_parser("add", help="create a staff account")
    add.add_argument("--username", required=True)
    add.add_argument("--role", required=True, choices=[r.value for r in StaffRole])
    add.add_argument("--display-name", default="")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    add.set_defaults(func=_user_add)

    demo = sub.add_parser("demo", help="create a demo hearing and meeting; print join links")
    demo.set_defaults(func=_demo)

    probe = sub.add_parser(
        "probe", help="join a session with a join link like a participant; report what works"
    )
    probe.add_argument("join_url", help="a personal join link, …/join/<token>")
    probe.add_argument("--seconds", type=float, default=10.0, help="how long to stay (10)")
    probe.add_argument("--no-media", action="store_true", help="only test signalling")
    probe.add_argument("--json", action="store_true", help="print the result as JSON")
    probe.set_defaults(func=_probe)

    audit = sub.add_parser("audit", help="the audit log").add_subparsers(
        required=True, metavar="ACTION"
    )
    audit.add_parser("verify", help="check the hash chain").set_defaults(func=_audit_verify)
    add_recordings_commands(sub, _with_service)
    add_document_commands(sub, _with_service)

    cases = sub.add_parser("cases", help="the case registry").add_subparsers(
        required=True, metavar="ACTION"
    )
    imports = cases.add_parser(
        "import",
        help="schedule hearings from a registry file (CSV or JSON); a dry run unless --apply",
    )
    imports.add_argument("file", type=Path, help="a .csv or .json file, UTF-8")
    imports.add_argument("--apply", action="store_true", help="schedule what passes")
    imports.add_argument("--court", help="the court's id (default: this server's court)")
    imports.set_defaults(func=_cases_import)
    return parser


# ---------------------------------------------------------------------- commands


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    if overrides:
        settings = settings.model_copy(update=overrides)
    admin_password = _with_service(settings, _bootstrap_admin)
    if admin_password:
        _save_initial_password(settings, admin_password)
    app = create_app(settings)
    base = settings.base_url

    mode = "embedded" if settings.is_embedded else "cluster"

    def banner(_: str) -> None:
        lines = [
            f"Hearing server {__version__} is running ({mode} mode).",
            f"  Open:    {base}/",
            f"  Staff:   {base}/staff/  (schedule hearings, live monitor, audit log)",
            f"  API:     {base}{OPENAPI_PATH}",
            f"  Health:  {base}/healthz",
        ]
        if admin_password:
            lines += [
                "  First administrator account (shown once; also saved in "
                f"{settings.data_dir / 'initial-admin-password'}):",
                f"    username: admin    password: {admin_password}",
            ]
        print("\n".join(lines), flush=True)

    try:
        web.run_app(
            app,
            host=settings.host,
            port=settings.port,
            print=banner,
            access_log=None,
            loop=serving_loop(),
        )
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        print(
            f"error: port {settings.port} on {settings.host} is already in use (is another "
            "hearing server running?). Stop it, or choose another port with --port, "
            "HEARING_PORT or `port` in the settings file.",
            file=sys.stderr,
        )
        return 2
    return 0


def serving_loop() -> asyncio.AbstractEventLoop:
    """The event loop the server runs on: uvloop's (libuv), which cut the media forwarder's
    CPU per packet by about a quarter against the standard loop (docs/benchmarks.md)."""
    return uvloop.new_event_loop()


def _db_upgrade(settings: Settings, _args: argparse.Namespace) -> int:
    async def upgrade() -> str | None:
        database = Database(settings.effective_database_url, settings.jurisdiction())
        try:
            await database.upgrade()
            return await database.current_revision()
        finally:
            await database.dispose()

    print(f"database at revision {asyncio.run(upgrade())}")
    return 0


def _user_add(settings: Settings, args: argparse.Namespace) -> int:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat password: ") != password:
            print("error: the passwords differ", file=sys.stderr)
            return 2

    async def add(service: HearingService) -> str:
        user = await service.add_user(
            CLI_ACTOR, args.username, StaffRole(args.role), password, args.display_name
        )
        return user.id

    user_id = _with_service(settings, add)
    print(f"created {args.role} account '{args.username}' ({user_id})")
    return 0


def _demo(settings: Settings, _args: argparse.Namespace) -> int:
    async def demo(service: HearingService) -> str:
        return await create_demo(service, settings, CLI_ACTOR)

    print(_with_service(settings, demo))
    return 0


def _audit_verify(settings: Settings, _args: argparse.Namespace) -> int:
    async def verify(service: HearingService) -> tuple[int, list[str]]:
        count, breaks = await service.verify_audit(CLI_ACTOR)
        return count, [f"entry {b.seq}: {b.reason}" for b in breaks]

    count, problems = _with_service(settings, verify)
    if problems:
        print(f"audit log TAMPERED: {len(problems)} problem(s) in {count} entries", file=sys.stderr)
        for line in problems:
            print(f"  {line}", file=sys.stderr)
        return 1
    print(f"audit log intact: {count} entries, hash chain verified")
    return 0


def _cases_import(settings: Settings, args: argparse.Namespace) -> int:
    file: Path = args.file
    file_format: ImportFormat = "json" if file.suffix.lower() == ".json" else "csv"
    try:
        rows = parse_case_file(file.read_text(encoding="utf-8"), file_format)
    except (OSError, UnicodeDecodeError) as exc:
        print(f"error: cannot read {file}: {exc}", file=sys.stderr)
        return 2
    except ImportFileError as exc:
        print(f"error: {exc.message.en}", file=sys.stderr)
        return 2

    async def run(service: HearingService) -> list[RowOutcome]:
        court_id = CourtId(args.court) if args.court else service.default_court_id(CLI_ACTOR)
        return await import_cases(service, CLI_ACTOR, court_id, rows, dry_run=not args.apply)

    outcomes = _with_service(settings, run)
    for outcome in outcomes:
        reasons = "; ".join(r.en for r in outcome.reasons)
        print(
            f"line {outcome.line}: {outcome.case_number or '-'}: {outcome.status}"
            + (f": {reasons}" if reasons else "")
        )
    refused = sum(o.status == "refused" for o in outcomes)
    verb = "scheduled" if args.apply else "would be scheduled"
    print(
        f"{len(outcomes) - refused} {verb}, {refused} refused"
        + ("" if args.apply else " (dry run: nothing changed; --apply to schedule)")
    )
    return 1 if refused else 0


# ---------------------------------------------------------------------- helpers


def _probe(_settings: Settings, args: argparse.Namespace) -> int:
    try:
        result = asyncio.run(run_probe(args.join_url, args.seconds, publish=not args.no_media))
    except Exception as exc:  # IT staff script the probe: a failure is a report, never a trace
        logging.getLogger(__name__).debug("probe failed", exc_info=exc)
        result = ProbeResult(joined=False, error=f"the probe failed: {exc!r}")
    print(result.as_json() if args.json else result.as_text())
    return 0 if result.ok else 1


def _with_service(settings: Settings, work: Callable[[HearingService], Awaitable[T]]) -> T:
    """Run one piece of work against the database, outside the web server."""

    async def run() -> T:
        database = Database(settings.effective_database_url, settings.jurisdiction())
        bus = LocalEventBus()
        try:
            if database.dialect == "sqlite":
                await database.upgrade()
            service = build_service(settings, database, bus, utc_now)
            court = settings.court
            await service.ensure_court(court.code, court.name, court.time_zone)
            return await work(service)
        finally:
            await database.dispose()

    return asyncio.run(run())


async def _bootstrap_admin(service: HearingService) -> str | None:
    """On an empty server, make the first administrator so somebody can log in."""
    async with service.database.unit_of_work() as uow:
        if await uow.users.count() > 0:
            return None
    password = secrets.token_urlsafe(12)
    await service.add_user(CLI_ACTOR, "admin", StaffRole.ADMIN, password, "Quản trị hệ thống")
    return password


def _save_initial_password(settings: Settings, password: str) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    path = settings.data_dir / "initial-admin-password"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(password + "\n")
