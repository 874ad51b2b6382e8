"""The `forum` command line."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from forum.settings import Settings, SettingsError


def _fail(message: str) -> int:
    print(f"forum: error: {message}", file=sys.stderr)
    return 2


async def _with_db(settings: Settings, work: Callable[[], Awaitable[int]]) -> int:
    from forum.db import close_db, init_db

    await init_db(settings.database_url)
    try:
        return await work()
    finally:
        await close_db()


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    from forum.db import init_db, migrate

    async def run() -> list[str]:
        await init_db(settings.database_url)  # a clear error when unreachable
        return await migrate(settings.database_url)

    applied = asyncio.run(run())
    for name in applied:
        print(f"applied {name}")
    print("database is up to date" if not applied else f"{len(applied)} migration(s) applied")
    return 0


def cmd_seed_demo(settings: Settings, args: argparse.Namespace) -> int:
    from forum.seed import seed_demo

    async def work() -> int:
        report = await seed_demo(os.environ.get("FORUM_DEMO_PASSWORD"))
        from knowledge.seed_documents import seed_demo_documents

        documents = await seed_demo_documents(settings)  # issue 11
        print(
            f"seeded: {report.created_categories} new categories, "
            f"{report.created_topics} new topics, {len(report.created_accounts)} new accounts"
        )
        print(
            f"seeded: {report.created_administrations} new member administrations, "
            f"{report.created_pages} new public pages, "
            f"{report.created_entries} new knowledge entries, {documents} new documents, "
            f"{report.created_assessments} new readiness self-assessments"
        )
        print(
            "demo accounts: admin@example.org, moderator@example.org, member@example.org,"
            " newcomer@example.org (their first reply waits in the review queue)"
        )
        for username, secret in report.two_factor_secrets.items():
            print(
                f"demo {username}: two-factor authentication is on; add the secret {secret} to"
                " an authenticator app (TOTP, 6 digits, 30 s) to log in"
            )
        if report.generated_password:
            print(f"demo password (generated, shown once): {report.password}")
        elif report.password:
            print("demo password: the value of FORUM_DEMO_PASSWORD")
        else:
            print("demo accounts already existed; their passwords are unchanged")
        return 0

    return asyncio.run(_with_db(settings, work))


def cmd_unlock_login(settings: Settings, args: argparse.Namespace) -> int:
    """Lift a login lock: forget the account's counted failures, from every address."""
    from forum.actions.logins import clear_failures
    from forum.actions.users import normalize_email
    from forum.events import atomic
    from forum.models import User
    from moderation import audit

    async def work() -> int:
        user = await User.get_or_none(email=normalize_email(args.email))
        if user is None:
            return _fail(f"no account has the email {args.email!r}")
        async with atomic():
            await clear_failures(user.email)
            await audit.append(None, "user.login_unlocked", "user", user.id, reason="forum CLI")
        print(f"unlocked logins for {user.username} <{user.email}>")
        return 0

    return asyncio.run(_with_db(settings, work))


def cmd_create_admin(settings: Settings, args: argparse.Namespace) -> int:
    from forum.actions.users import do_create_user
    from forum.errors import ForumError
    from forum.models import Role

    password = os.environ.get("FORUM_ADMIN_PASSWORD") or ""
    if not password:
        if not sys.stdin.isatty():
            return _fail("set FORUM_ADMIN_PASSWORD or run in a terminal to type the password")
        password = getpass.getpass("Password (12+ characters): ")

    async def work() -> int:
        try:
            user = await do_create_user(
                email=args.email,
                username=args.username,
                password=password,
                display_name=args.name or args.username,
                role=Role.ADMIN,
                is_verified=True,
            )
        except ForumError as exc:
            return _fail(exc.message)
        print(f"created administrator {user.username} <{user.email}>")
        return 0

    return asyncio.run(_with_db(settings, work))


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
ACCESS_FORMAT = (
    '%(asctime)s %(levelname)s %(name)s: %(client_addr)s "%(request_line)s" %(status_code)s'
)


def log_config(level: str = "info") -> dict[str, object]:
    """uvicorn's logging, with a timestamp, the level and the logger's name on every line,
    the app's own loggers (forum, notifications, ...) included through the root logger."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["default"] = {"format": LOG_FORMAT}
    config["formatters"]["access"] = {
        "()": "uvicorn.logging.AccessFormatter",
        "fmt": ACCESS_FORMAT,
        "use_colors": False,
    }
    config["root"] = {"handlers": ["default"], "level": level.upper()}
    return config


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from forum import serving
    from forum.db import close_db, init_db
    from realtime.broker import create_broker
    from realtime.endpoint import server_options

    async def preflight() -> None:
        from readiness.questionnaires import load_catalogue

        load_catalogue()  # a malformed questionnaire file stops start-up with its name
        await init_db(settings.database_url)
        await close_db()
        broker = create_broker(settings.broker_url)
        try:
            await broker.connect()
        except Exception as exc:
            raise SettingsError(f"cannot reach the broker {settings.broker_url}: {exc}") from exc
        finally:
            await broker.disconnect()

    asyncio.run(preflight())
    if not settings.base_url_configured:
        # The app (in this process or in each worker) reads its settings again: it follows
        # the address given here, so links and the WebSocket check match the server.
        os.environ["HOST"] = args.host
        os.environ["PORT"] = str(args.port)
        base_url = Settings.from_env().base_url
        where = f"base URL {base_url} (from --host/--port; set FORUM_BASE_URL to override)"
    else:
        where = f"base URL {settings.base_url} (FORUM_BASE_URL)"
    print(
        f"serving on http://{args.host}:{args.port} ({args.workers} worker(s)); {where}",
        flush=True,
    )
    if args.workers > 1 and settings.broker_url.startswith("memory:"):
        print(
            "forum: warning: with memory:// each worker hears only its own events live; the"
            " others reach its clients from the event log, seconds late."
            " Set FORUM_BROKER_URL=redis://...",
            file=sys.stderr,
            flush=True,
        )
    uvicorn.run(
        "forum.app:create_app",
        factory=True,
        http=serving.PROTOCOL,  # httptools, with bounds on a request's head
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        log_config=log_config(args.log_level),
        access_log=args.access_log,
        # X-Forwarded-* only from the proxies named in FORUM_TRUSTED_PROXIES (default: none).
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=",".join(settings.trusted_proxies) or None,
        **server_options(),
    )
    return 0


def cmd_makemigrations(settings: Settings, args: argparse.Namespace) -> int:
    """For developers: write a migration for model changes (Tortoise's autodetector)."""
    from tortoise.cli import cli as tortoise_cli

    from forum.db import tortoise_config

    class Context:
        config = None
        config_file = None

    original = tortoise_cli._load_config
    tortoise_cli._load_config = lambda ctx: __import__(  # type: ignore[assignment]
        "tortoise.config", fromlist=["TortoiseConfig"]
    ).TortoiseConfig.from_dict(tortoise_config(settings.database_url))
    try:
        asyncio.run(tortoise_cli.makemigrations(Context(), (), False, args.name))  # type: ignore[arg-type]
    finally:
        tortoise_cli._load_config = original
    return 0


def cmd_import_administrations(settings: Settings, args: argparse.Namespace) -> int:
    """Report every line (added, changed, unchanged, rejected); write only a clean file.

    Exit 0: applied (or nothing to change, or --dry-run). Exit 2: the file is malformed or
    has rejected lines, and nothing was changed."""
    from pathlib import Path

    from forum.actions.administrations import MalformedFile, do_import_administrations

    path = args.file
    try:
        content = Path(path).read_bytes()
    except OSError as exc:
        return _fail(f"cannot read {path}: {exc.strerror}")

    async def work() -> int:
        try:
            report = await do_import_administrations(
                None, content, source=f"forum import-administrations {path}", dry_run=args.dry_run
            )
        except MalformedFile as exc:
            return _fail(f"{path}: {exc.message} Nothing was changed.")
        for line in report.lines:
            print(f"line {line.number}: {line.outcome}: {line.message}")
        print(f"{path}: {report.summary()}")
        if report.refused:
            print(
                f"forum: error: {len(report.having('rejected'))} line(s) rejected;"
                " nothing was changed. Fix them and run the import again.",
                file=sys.stderr,
            )
            return 2
        if args.dry_run:
            print("dry run: nothing was changed")
        elif report.applied:
            print("import applied")
        else:
            print("nothing to change")
        return 0

    return asyncio.run(_with_db(settings, work))


def cmd_send_reverification_reminders(settings: Settings, args: argparse.Namespace) -> int:
    from forum.actions.membership import members_due_for_reminder, send_reverification_reminders
    from forum.models import User

    async def work() -> int:
        if args.dry_run:
            due = await members_due_for_reminder()
            for user in due:
                print(f"would remind {user.email} (verified until {user.verified_until:%Y-%m-%d})")
            print(f"{len(due)} member(s) due; dry run: nothing was sent")
            return 0

        def progress(number: int, total: int, user: User, ok: bool) -> None:
            state = "sent" if ok else "FAILED"
            print(f"[{number}/{total}] {state}: {user.email}", flush=True)

        run = await send_reverification_reminders(settings, progress=progress)
        print(f"{run.due} due, {run.sent} sent, {run.failed} failed", end="")
        print(f", {run.elsewhere} sent by another run" if run.elsewhere else "")
        return 1 if run.failed else 0

    return asyncio.run(_with_db(settings, work))


def _rows(count: int) -> str:
    return f"{count} row" if count == 1 else f"{count} rows"


def cmd_audit_verify(settings: Settings, args: argparse.Namespace) -> int:
    """Exit 0: every row matches its hash and follows the one before. Exit 1: the first row
    that does not is named, with why (moderation/audit.py)."""
    from tortoise.exceptions import OperationalError

    from moderation.audit import verify

    async def work() -> int:
        try:
            verdict = await verify()
        except OperationalError as exc:  # e.g. not migrated yet
            return _fail(f"cannot read the audit log: {exc} (run `forum migrate` first?)")
        if verdict.intact:
            print(f"audit log intact: {_rows(verdict.rows)}")
            return 0
        print(f"audit log broken at row {verdict.broken_at}: {verdict.problem}")
        print(f"intact before it: {_rows(verdict.rows)}")
        return 1

    return asyncio.run(_with_db(settings, work))


def cmd_send_outbox(settings: Settings, args: argparse.Namespace) -> int:
    """Send the email that is due now (a served forum does it every few seconds by itself)."""
    from notifications.outbox import pending_counts, send_due

    async def work() -> int:
        sent = 0
        while (batch := await send_due(settings)) > 0:
            sent += batch
        waiting, failed = await pending_counts()
        print(f"outbox: {sent} sent, {waiting} waiting to be retried, {failed} given up")
        return 0

    return asyncio.run(_with_db(settings, work))


def cmd_send_digests(settings: Settings, args: argparse.Namespace) -> int:
    """One digest round at `--now` (default: now); a served forum runs one every minute."""
    from datetime import UTC, datetime

    from notifications.digest import RoundReport, run_round

    try:
        now = datetime.fromisoformat(args.now) if args.now else datetime.now(UTC)
    except ValueError:
        return _fail(f"--now: not an ISO-8601 date and time: {args.now!r}")
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)

    def progress(report: RoundReport, looked: int) -> None:
        print(
            f"\rmembers looked at {looked}: due {report.due}, queued {report.queued}",
            end="",
            file=sys.stderr,
            flush=True,
        )

    async def work() -> int:
        report = await run_round(settings, now=now, dry_run=args.dry_run, progress=progress)
        print(file=sys.stderr)
        print(report.summary() + (" (dry run: nothing queued)" if args.dry_run else ""))
        return 1 if report.failed else 0

    return asyncio.run(_with_db(settings, work))


def cmd_reindex(settings: Settings, args: argparse.Namespace) -> int:
    """Rebuild the search index from everything searchable, with a progress bar."""
    import time

    from search.index import rebuild

    started = time.perf_counter()

    def progress(kind: str, done: int, total: int) -> None:
        width = 30
        filled = width * done // total if total else width
        bar = "#" * filled + "-" * (width - filled)
        end = "\n" if done >= total else ""
        print(f"\r{kind:<9} [{bar}] {done}/{total}", end=end, file=sys.stderr, flush=True)

    async def work() -> int:
        counts = await rebuild(progress=progress)
        seconds = time.perf_counter() - started
        summary = ", ".join(f"{count} {kind}s" for kind, count in counts.items())
        print(f"search index rebuilt: {summary} in {seconds:.1f} s")
        return 0

    return asyncio.run(_with_db(settings, work))


def cmd_compile_messages(settings: Settings, args: argparse.Namespace) -> int:
    from forum import i18n

    for language in i18n.LANGUAGES:
        mo = i18n.compile_catalogue(language)
        if mo is not None:
            print(f"compiled {mo.relative_to(i18n.LOCALE_DIR)}")
    return 0


def cmd_extract_messages(settings: Settings, args: argparse.Namespace) -> int:
    from forum import catalogues, i18n

    print(f"wrote {catalogues.write_pot().name}")
    for language in i18n.LANGUAGES:
        if language != i18n.DEFAULT_LANGUAGE:
            added, dropped = catalogues.update(language)
            print(f"{language}: {added} new strings to translate, {dropped} dropped")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="forum", description="Smart Customs Forum: serve and manage the forum."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    serve = sub.add_parser("serve", help="serve the forum over HTTP and WebSocket")
    serve.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    serve.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    serve.add_argument("--log-level", default="info")
    serve.add_argument("--no-access-log", dest="access_log", action="store_false")
    serve.set_defaults(handler=cmd_serve)

    sub.add_parser("migrate", help="apply database migrations").set_defaults(handler=cmd_migrate)
    sub.add_parser("seed-demo", help="create categories, demo accounts and topics").set_defaults(
        handler=cmd_seed_demo
    )

    admin = sub.add_parser(
        "create-admin", help="create an administrator (password from FORUM_ADMIN_PASSWORD)"
    )
    admin.add_argument("--email", required=True)
    admin.add_argument("--username", required=True)
    admin.add_argument("--name", default="")
    admin.set_defaults(handler=cmd_create_admin)

    unlock = sub.add_parser(
        "unlock-login", help="forget an account's failed logins (lift a lockout at once)"
    )
    unlock.add_argument("email")
    unlock.set_defaults(handler=cmd_unlock_login)

    imp = sub.add_parser(
        "import-administrations",
        help="add or update member administrations from a CSV (name,country_code,region)",
    )
    imp.add_argument("file", help="a UTF-8 CSV file with the header name,country_code,region")
    imp.add_argument("--dry-run", action="store_true", help="report only; change nothing")
    imp.set_defaults(handler=cmd_import_administrations)

    remind = sub.add_parser(
        "send-reverification-reminders",
        help="email members whose yearly verification lapses within 30 days (once each)",
    )
    remind.add_argument("--dry-run", action="store_true", help="list who is due; send nothing")
    remind.set_defaults(handler=cmd_send_reverification_reminders)

    audit = sub.add_parser("audit", help="check the tamper-evident audit log")
    audit_sub = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    audit_sub.add_parser(
        "verify", help="walk the hash chain; exit 1 naming the first row that does not match"
    ).set_defaults(handler=cmd_audit_verify)

    sub.add_parser(
        "send-mail", aliases=["send-outbox"], help="send the email that is due now"
    ).set_defaults(handler=cmd_send_outbox)

    digests = sub.add_parser("send-digests", help="queue the email digests that are due")
    digests.add_argument("--dry-run", action="store_true", help="build and count; queue nothing")
    digests.add_argument("--now", default=None, help="the instant to run at (ISO-8601)")
    digests.set_defaults(handler=cmd_send_digests)

    sub.add_parser(
        "reindex", help="rebuild the search index (topics, posts, knowledge, directory)"
    ).set_defaults(handler=cmd_reindex)
    sub.add_parser(
        "extract-messages",
        help="(developers) gather translatable strings into forum.pot and each language's .po",
    ).set_defaults(handler=cmd_extract_messages)
    sub.add_parser(
        "compile-messages", help="compile the translations (.po) the server reads (.mo)"
    ).set_defaults(handler=cmd_compile_messages)
    mk = sub.add_parser("makemigrations", help="(developers) write a migration for model changes")
    mk.add_argument("--name", default=None)
    mk.set_defaults(handler=cmd_makemigrations)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        handler: Callable[[Settings, argparse.Namespace], int] = args.handler
        return handler(settings, args)
    except SettingsError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
