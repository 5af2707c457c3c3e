"""The `khaacho` command: serve, migrate, demo (--town), check, score, catalog import, khata import,
statement, report, report verify, user add, chat, parse, reminders run, token, backup, restore,
messages archive."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

import asyncpg
from pydantic import ValidationError

from bot import logs
from bot.settings import Settings
from ledger import auth, db, migrate, roles, users
from ledger.errors import UnknownUser
from ledger.postings import MAX_AMOUNT_PAISA
from locales import formats
from locales.formats import NEPAL_TIME
from locales.numbers import PhoneError, mask, normalize_phone, paisa

DEMO_HOW_TO = """\
Chat with the bot as a demo retailer:   .venv/bin/khaacho chat --as {retailer}
  … as a vendor:                        .venv/bin/khaacho chat --as {vendor}
  … as the admin:                       .venv/bin/khaacho chat --as {admin}
Or open the web chat simulator:         http://127.0.0.1:8080/ (links to each demo person)
Sign in on the web as any of them:      http://127.0.0.1:8080/signin (the code arrives in the
                                        simulator and the terminal chat)"""


class UsageError(Exception):
    """A bad argument: printed as one clear line, exit code 2."""


def _phone(raw: str) -> str:
    try:
        return normalize_phone(raw)
    except PhoneError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


# An operator setting a limit here may go up to what the ledger can hold at all; chat keeps the
# lower MAX_RUPEES, where a bigger number is more likely a typo.
CLI_MAX_RUPEES = MAX_AMOUNT_PAISA // 100


def _npr_to_paisa(raw: str) -> int:
    amount = paisa(raw, max_rupees=CLI_MAX_RUPEES)
    if amount is None:
        raise argparse.ArgumentTypeError(
            f"not an amount in rupees (at most {CLI_MAX_RUPEES:,}): {raw!r}")
    return amount


def _day(raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date YYYY-MM-DD: {raw!r}") from exc


def _non_negative(raw: str) -> Decimal:
    try:
        value = Decimal(raw)
    except InvalidOperation as exc:
        raise argparse.ArgumentTypeError(f"not a number: {raw!r}") from exc
    if value < 0 or not value.is_finite():
        raise argparse.ArgumentTypeError(f"must be zero or more: {raw!r}")
    return value


def _moment(raw: str) -> datetime:
    """An ISO date-time; without an offset it is Nepal time, as the reminder rules are."""
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO date-time: {raw!r}") from exc
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=NEPAL_TIME)


def _positive_processes(raw: str) -> int:
    try:
        count = int(raw)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a number: {raw!r}") from exc
    if not 1 <= count <= 64:
        raise argparse.ArgumentTypeError("between 1 and 64 processes")
    return count


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="khaacho", description=__doc__)
    sub = top.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the web server, webhook and workers")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=_positive_processes, default=1,
                       help="server processes sharing the port (default 1)")
    serve.add_argument("--role", choices=("all", "web", "workers"), default="all",
                       help="web: webhook, pages and API; workers: inbox, sender, jobs and "
                       "reminders (no pages); all (default): both")

    sub.add_parser("migrate", help="apply database migrations")
    demo = sub.add_parser("demo", help="add the demo catalog, vendors, retailers and staff where "
                          "missing; with --town, fill an empty database with a synthetic town")
    demo.add_argument("--town", action="store_true",
                      help="a synthetic town's history, bulk-written (needs a superuser's URL)")
    demo.add_argument("--months", type=float, default=1.0, help="months of history (--town)")
    demo.add_argument("--scale", type=float, default=1.0,
                      help="orders a day as a share of 10,000 (--town; 0.01: 100 a day)")
    demo.add_argument("--retailers", type=int, default=1500, help="shops (--town)")
    demo.add_argument("--vendors", type=int, default=300, help="vendors (--town)")
    demo.add_argument("--no-messages", action="store_true",
                      help="leave the message tables empty (--town)")
    sub.add_parser("check", help="check the ledger agrees with itself; exit 1 and a line per break")

    score = sub.add_parser("score", help="credit scores of retailers, as of a day (Nepal time)")
    score.add_argument("--as-of", type=_day, help="YYYY-MM-DD: as of the end of that day "
                       "(default: now)")
    score.add_argument("--phone", type=_phone, help="only this retailer")
    score.add_argument("--json", action="store_true", help="one JSON line per retailer")

    catalog = sub.add_parser("catalog", help="catalog commands")
    catalog_sub = catalog.add_subparsers(dest="catalog_command", required=True)
    imp = catalog_sub.add_parser("import", help="import products from a CSV file")
    imp.add_argument("file", type=Path)
    imp.add_argument("--vendor", type=_phone, help="also set this vendor's prices and stock")
    imp.add_argument("--stock", type=_non_negative, help="stock per product, in base units")

    khata = sub.add_parser("khata", help="a vendor's existing book")
    khata_sub = khata.add_subparsers(dest="khata_command", required=True)
    book = khata_sub.add_parser("import", help="import a vendor's book (khata) from a CSV file")
    book.add_argument("file", type=Path)
    book.add_argument("--dry-run", action="store_true",
                      help="check every line and say what would be imported; change nothing")

    statement = sub.add_parser("statement", help="a retailer's statement as a PDF or CSV file")
    statement.add_argument("--retailer", required=True, type=_phone)
    statement.add_argument("--vendor", type=_phone, help="only the account with this vendor")
    statement.add_argument("--from", dest="start", type=_day, help="YYYY-MM-DD (AD)")
    statement.add_argument("--to", dest="end", type=_day, help="YYYY-MM-DD (AD), inclusive")
    statement.add_argument("--format", required=True, choices=("pdf", "csv"))
    statement.add_argument("--out", required=True, type=Path)
    statement.add_argument("--language", choices=("en", "ne"),
                           help="the reader's (default: the retailer's)")

    report = sub.add_parser("report", help="a retailer's signed bank report as a PDF; "
                            "`report verify FILE` checks one")
    report.add_argument("--retailer", type=_phone)
    report.add_argument("--as-of", type=_day, help="YYYY-MM-DD: as of the end of that day "
                        "(Nepal time; default: now)")
    report.add_argument("--out", type=Path, help="the PDF file to write")
    report.add_argument("--language", choices=("en", "ne"),
                        help="the reader's (default: the retailer's)")
    report_sub = report.add_subparsers(dest="report_command")
    check_report = report_sub.add_parser("verify", help="is a report PDF genuine and unaltered, "
                                         "and are its chain heads still in the ledger")
    check_report.add_argument("file", type=Path)
    check_report.add_argument("--key", type=Path, help="the public key (PEM, from /report-key) "
                              "to verify with, instead of this installation's own")

    user = sub.add_parser("user", help="user commands")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    add = user_sub.add_parser("add", help="add or update a user")
    add.add_argument("--role", required=True, type=str.upper, choices=users.ROLES)
    add.add_argument("--phone", required=True, type=_phone)
    add.add_argument("--name", required=True)
    add.add_argument("--shop")
    add.add_argument("--credit-limit", type=_npr_to_paisa, help="in NPR (retailers)")
    add.add_argument("--language", choices=("en", "ne"), default="ne")

    chat = sub.add_parser("chat", help="chat with the bot in this terminal")
    chat.add_argument("--as", dest="phone", required=True, type=_phone)

    reminders = sub.add_parser("reminders", help="payment reminders and vendors' digests")
    reminders_sub = reminders.add_subparsers(dest="reminders_command", required=True)
    rounds = reminders_sub.add_parser("run", help="one round of reminders and digests")
    rounds.add_argument("--at", type=_moment,
                        help="as of this ISO date-time (no offset: Nepal time); default now")
    rounds.add_argument("--dry-run", action="store_true",
                        help="print what would be sent and why; send and log nothing")
    rounds.add_argument("--json", action="store_true", help="print the decisions as JSON")

    analytics = sub.add_parser("analytics", help="the analytics' summary tables")
    analytics_sub = analytics.add_subparsers(dest="analytics_command", required=True)
    refresh = analytics_sub.add_parser(
        "refresh", help="bring them up to date: the days whose orders changed, today's snapshot")
    refresh.add_argument("--full", action="store_true", help="recompute every day")
    messages = sub.add_parser("messages", help="the message tables (README: Message retention)")
    messages_sub = messages.add_subparsers(dest="messages_command", required=True)
    archive = messages_sub.add_parser(
        "archive", help="move message rows older than MESSAGE_RETENTION_DAYS to the archive")
    archive.add_argument("--days", type=int,
                         help="older than this many days (default: MESSAGE_RETENTION_DAYS)")
    archive.add_argument("--batch", type=int, default=5000, help="rows per table per round")
    token = sub.add_parser("token", help="API tokens for integrations (README: Web and API)")
    token_sub = token.add_subparsers(dest="token_command", required=True)
    create = token_sub.add_parser("create", help="print a long-lived integration token once")
    create.add_argument("--phone", required=True, type=_phone, help="whose token it is")
    create.add_argument("--name", required=True, help="what it is for, e.g. 'Bank reports'")
    create.add_argument("--days", type=int, default=365, help="how long it lives (default 365)")
    revoke = token_sub.add_parser("revoke", help="sign a person out everywhere, or one token")
    revoke.add_argument("--phone", required=True, type=_phone)
    revoke.add_argument("--id", type=int, help="only this token (see `khaacho token list`)")
    listing = token_sub.add_parser("list", help="a person's sessions and tokens (not the secrets)")
    listing.add_argument("--phone", required=True, type=_phone)

    backup = sub.add_parser("backup", help="dump the database with pg_dump, and a manifest "
                            "beside it (docs/operations.md: Backups)")
    backup.add_argument("--out", type=Path,
                        help="the directory to write into (default: KHAACHO_DATA_DIR/backups)")
    restore = sub.add_parser("restore", help="restore a backup into an empty database, then "
                             "check it against its manifest and the ledger's self-check")
    restore.add_argument("file", type=Path, help="the .dump file (its manifest beside it)")
    restore.add_argument("--into", required=True, metavar="DATABASE_URL",
                         help="the empty database, as the role that is to own its tables")
    restore.add_argument("--app-role", help="the role granted the app's privileges (default: "
                         "DATABASE_URL's user, else khaacho_app)")
    restore.add_argument("--no-grant", action="store_true",
                         help="grant no role (run `khaacho migrate` against it later)")

    parse = sub.add_parser("parse", help="read JSON lines of messages, write their reading")
    parse.add_argument("--catalog", help="catalog CSV (default: the demo catalog)")
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "parse":  # a pure filter: no settings, no database
        from catalog.parse_cli import run_parse

        return run_parse(sys.stdin, sys.stdout, args.catalog)
    try:
        settings = Settings()
    except ValidationError as exc:
        print(f"khaacho: bad setting: {exc}", file=sys.stderr)
        return 2
    # The terminal chat is for people: only warnings interleave with the conversation.
    logs.setup("WARNING" if args.command == "chat" else settings.log_level)
    try:
        return _dispatch(args, settings)
    except (UsageError, db.ConfigurationError, roles.RoleError) as exc:
        print(f"khaacho: {exc}", file=sys.stderr)
        return 2


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "serve":
        from bot.serve import serve

        return serve(settings, args.host or settings.host, args.port or settings.port,
                     workers=args.workers, role=args.role)
    if args.command == "chat":
        from bot.chat import run

        return run(settings, args.phone)
    if args.command == "report" and args.report_command == "verify":
        return asyncio.run(_report_verify(args, settings))
    if args.command == "restore":
        return asyncio.run(_restore(args, settings))
    urls = db.urls(settings.database_url, settings.migrate_database_url,
                   settings.khaacho_data_dir)
    if args.command == "migrate":
        return asyncio.run(_migrate(urls))
    if args.command == "backup":
        return asyncio.run(_backup(urls, args.out or settings.khaacho_data_dir / "backups"))
    if args.command == "demo" and args.town:
        return asyncio.run(_demo_town(urls, args))
    commands: dict[str, Callable[[asyncpg.Connection], Awaitable[int]]] = {
        "demo": _demo,
        "check": _check,
        "score": lambda conn: _score(conn, args),
        "catalog": lambda conn: _catalog_import(conn, args),
        "khata": lambda conn: _khata_import(conn, args, settings),
        "statement": lambda conn: _statement(conn, args),
        "report": lambda conn: _report(conn, args, settings),
        "user": lambda conn: _user_add(conn, args),
        "reminders": lambda conn: _reminders_run(conn, args, settings),
        "analytics": lambda conn: _analytics_refresh(conn, args),
        "token": lambda conn: _token(conn, args),
        "messages": lambda conn: _messages_archive(conn, args, settings),
    }
    return asyncio.run(_with_connection(urls, commands[args.command]))


async def _with_connection(
    urls: db.Urls, command: Callable[[asyncpg.Connection], Awaitable[int]]
) -> int:
    """Run `command` as the app's role, migrating first (as the owner) if anything is pending."""
    conn = await db.connect(urls.app)
    try:
        if await migrate.pending(conn):
            await migrate.run(urls.migrate, urls.app)
        return await command(conn)
    finally:
        await conn.close()


async def _migrate(urls: db.Urls) -> int:
    try:
        ran = await migrate.run(urls.migrate, urls.app)
    except asyncpg.InsufficientPrivilegeError as exc:
        print(f"khaacho migrate: {exc}; migrations run as the tables' owner: set "
              "MIGRATE_DATABASE_URL (README: Database roles)", file=sys.stderr)
        return 2
    print(f"applied {len(ran)} migration(s)" + (": " + ", ".join(ran) if ran else ""))
    return 0


async def _backup(urls: db.Urls, out: Path) -> int:
    from bot import backup_cli

    try:
        done = await backup_cli.backup(urls.migrate, out)
    except (backup_cli.BackupError, OSError, asyncpg.PostgresError) as exc:
        print(f"khaacho backup: {exc}", file=sys.stderr)
        return 2
    state = done.state
    print(f"{done.dump} ({done.size:,} bytes, SHA-256 {done.sha256}, pg_dump "
          f"{done.pg_dump.version}): {len(state.row_counts)} tables, "
          f"{sum(state.row_counts.values()):,} rows, {len(state.chain_heads)} chain heads, "
          f"migrations up to {max(state.migrations, default=0):03d}, as of "
          f"{state.taken_at:%Y-%m-%d %H:%M:%S} UTC")
    print(f"{done.manifest}")
    return 0


async def _restore(args: argparse.Namespace, settings: Settings) -> int:
    from bot import backup_cli

    app_role = None if args.no_grant else (
        args.app_role or backup_cli.app_role_of(settings.database_url))
    try:
        restored = await backup_cli.restore(args.file, args.into, app_role=app_role)
    except (backup_cli.BackupError, OSError, asyncpg.PostgresError) as exc:
        print(f"khaacho restore: {exc}", file=sys.stderr)
        return 2
    for line in restored.lines:
        print(line)
    if not restored.ok:
        print(f"khaacho restore: the restored database does not match the backup "
              f"({len(restored.problems)} problem(s), above)", file=sys.stderr)
        return 1
    return 0


async def _demo_town(urls: db.Urls, args: argparse.Namespace) -> int:
    """`khaacho demo --town`: migrate, then the synthetic town (ledger.synthetic) as the
    migrating URL's role, which must be a superuser: the load runs with triggers off."""
    from ledger import analytics, synthetic

    if args.months <= 0 or args.scale <= 0:
        raise UsageError("--months and --scale must be more than 0")
    await migrate.run(urls.migrate, urls.app)
    conn = await db.connect(urls.migrate)
    try:
        if await conn.fetchval("SELECT current_setting('is_superuser')") != "on":
            raise UsageError("demo --town writes with the triggers off: it needs a superuser's "
                             "URL in MIGRATE_DATABASE_URL (or DATABASE_URL)")
        days = max(1, round(args.months * 365 / 12))
        per_day = max(1, round(synthetic.SEED_ORDERS_PER_DAY * args.scale))
        print(f"Writing a town of {args.retailers} shops and {args.vendors} vendors: "
              f"{per_day} orders a day for {days} days ...", flush=True)
        try:
            loaded = await synthetic.load(conn, retailers=args.retailers, vendors=args.vendors,
                                          per_day=per_day, days=days,
                                          messages=not args.no_messages)
        except synthetic.NotEmpty as exc:
            raise UsageError(str(exc)) from exc
        refreshed = await analytics.refresh(conn, full=True)
    finally:
        await conn.close()
    for table, count in loaded.counts.items():
        print(f"  {table:<22} {count:>12,}")
    stages = ", ".join(f"{k} {v:.1f} s" for k, v in loaded.seconds.items())
    print(f"Written in {loaded.total_s:.1f} s ({stages}); analytics refreshed in "
          f"{refreshed.seconds:.1f} s. `khaacho check` verifies it.")
    return 0


async def _demo(conn: asyncpg.Connection) -> int:
    from bot import demo

    loaded = await demo.load(conn)
    print(f"Demo data: added {loaded.users_added} people, {loaded.products_added} products and "
          f"{loaded.offers_added} vendor prices; what was already here is left as it is.")
    print("Phone numbers:")
    for person in loaded.people:
        print(f"  {person.role:<9} {person.phone}  {person.name}"
              + (f" — {person.shop}" if person.shop else ""))
    first = {role: next(p.phone for p in loaded.people if p.role == role)
             for role in ("RETAILER", "VENDOR", "ADMIN")}
    print(DEMO_HOW_TO.format(retailer=first["RETAILER"], vendor=first["VENDOR"],
                             admin=first["ADMIN"]))
    return 0


async def _check(conn: asyncpg.Connection) -> int:
    from ledger import check

    result = await check.run(conn)
    if result.ok:
        print(result.summary())
        return 0
    for line in result.lines():
        print(line)
    print(f"khaacho: {result.summary()}", file=sys.stderr)
    return 1


async def _score(conn: asyncpg.Connection, args: argparse.Namespace) -> int:
    import json

    from ledger import scores

    as_of = _end_of_day(args.as_of) if args.as_of is not None else None
    ids = None
    if args.phone:
        retailer = await users.by_phone(conn, args.phone)
        if retailer is None or retailer.role != "RETAILER":
            raise UsageError(f"no retailer with phone {mask(args.phone)}")
        ids = [retailer.id]
    for found in await scores.town(conn, None, as_of=as_of, retailer_ids=ids):
        score = found.score
        if args.json:
            print(json.dumps(scores.as_json(found.phone, score), ensure_ascii=False))
        elif score.score is None:
            print(f"{found.phone or '-'}  {found.shop_name}: no score ({score.reason})")
        else:
            top = "; ".join(f"{f.points:+d} {f.en}" for f in score.top())
            print(f"{found.phone or '-'}  {found.shop_name}: {score.score} {score.band} ({top})")
    return 0


async def _catalog_import(conn: asyncpg.Connection, args: argparse.Namespace) -> int:
    from catalog.csvload import CatalogFormatError, load_catalog
    from ledger.catalog_store import import_products

    if args.stock is not None and args.vendor is None:
        raise UsageError("--stock needs --vendor (stock belongs to a vendor)")
    try:
        products = load_catalog(args.file)
    except FileNotFoundError as exc:
        raise UsageError(f"no such file: {args.file}") from exc
    except CatalogFormatError as exc:
        print(f"khaacho: {args.file}: nothing imported.", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    vendor_id = None
    if args.vendor:
        vendor = await users.by_phone(conn, args.vendor)
        if vendor is None or vendor.role != "VENDOR":
            raise UsageError(f"no vendor with phone {mask(args.vendor)}")
        vendor_id = vendor.id
    stock_milli = None if args.stock is None else int(args.stock * 1000)
    result = await import_products(conn, products, vendor_id=vendor_id, stock_milli=stock_milli)
    print(f"imported {result.products} products"
          + (f"; vendor carries {result.vendor_products}" if vendor_id else ""))
    return 0


async def _reminders_run(
    conn: asyncpg.Connection, args: argparse.Namespace, settings: Settings
) -> int:
    from bot import remind
    from bot.app import reminder_rules

    shown = await remind.run(conn, settings, reminder_rules(settings), args.at,
                             dry_run=args.dry_run)
    print(remind.print_round(shown, at=args.at, dry_run=args.dry_run, as_json=args.json))
    return 0


async def _khata_import(
    conn: asyncpg.Connection, args: argparse.Namespace, settings: Settings
) -> int:
    from ledger import khata
    from ledger.errors import LedgerError

    try:
        with args.file.open(encoding="utf-8-sig", newline="") as lines:
            result = await khata.import_book(
                conn, lines, starter_limit_paisa=settings.starter_credit_limit_npr * 100,
                dry_run=args.dry_run, name=args.file.name)
    except FileNotFoundError as exc:
        raise UsageError(f"no such file: {args.file}") from exc
    except LedgerError as exc:  # a live payment raced the import: nothing was kept
        print(f"khaacho: {args.file}: nothing imported: {exc}; try again",
              file=sys.stderr)
        return 1
    except UnicodeDecodeError as exc:
        print(f"khaacho: {args.file}: nothing imported: not UTF-8 text (byte {exc.start})",
              file=sys.stderr)
        return 1
    if not result.ok:
        print(f"khaacho: {args.file}: nothing imported.", file=sys.stderr)
        for problem in result.problems:
            print(f"  {problem}", file=sys.stderr)
        if result.errors > len(result.problems):
            print(f"  ... and {result.errors - len(result.problems)} more", file=sys.stderr)
        return 1
    verb = "would import" if result.dry_run else "imported"
    print(f"{args.file.name}: {result.rows} lines; {verb} {result.sales} bills and "
          f"{result.payments} payments ({result.replayed} imported before, unchanged); "
          f"{'would add' if result.dry_run else 'added'} {result.retailers_added} retailers"
          + ("" if result.dry_run else f"; {result.completed} bills paid in full")
          + ("; nothing changed (dry run)" if result.dry_run else ""))
    return 0


async def _statement(conn: asyncpg.Connection, args: argparse.Namespace) -> int:
    from bot import statement_doc
    from ledger import statements
    from locales.render import Messages

    retailer = await users.by_phone(conn, args.retailer)
    if retailer is None or retailer.role != "RETAILER":
        raise UsageError(f"no retailer with phone {mask(args.retailer)}")
    vendor_id = None
    if args.vendor:
        vendor = await users.by_phone(conn, args.vendor)
        if vendor is None or vendor.role != "VENDOR":
            raise UsageError(f"no vendor with phone {mask(args.vendor)}")
        vendor_id = vendor.id
    if args.start and args.end and args.start > args.end:
        raise UsageError("--from is after --to")
    found = await statements.statement(conn, None, retailer_id=retailer.id,
                                       vendor_id=vendor_id, start=args.start, end=args.end)
    content = statement_doc.render(found, args.format, args.language or retailer.language,
                                   Messages())
    args.out.write_bytes(content)
    print(f"{args.out}: statement of {found.retailer.name}, {len(found.lines)} entries, "
          f"closing balance {found.closing_paisa / 100:,.2f} NPR")
    return 0


def _end_of_day(day: date) -> datetime:
    """The last moment of a Nepal day: everything of that day counts."""
    return datetime.combine(day + timedelta(days=1), time(), NEPAL_TIME) - timedelta(microseconds=1)


def _verify_url(settings: Settings) -> str:
    base = getattr(settings, "public_base_url", None) or f"http://{settings.host}:{settings.port}"
    return f"{str(base).rstrip('/')}/verify"


async def _report(conn: asyncpg.Connection, args: argparse.Namespace, settings: Settings) -> int:
    from bot import report_doc
    from ledger import bank_report, report_signing
    from ledger.report_signing import SigningKeyError
    from locales.render import Messages

    if args.retailer is None or args.out is None:
        raise UsageError("report needs --retailer PHONE and --out FILE.pdf "
                         "(or: khaacho report verify FILE)")
    if args.as_of is not None and args.as_of > datetime.now(NEPAL_TIME).date():
        raise UsageError("--as-of is in the future: a report says what the ledger knew then")
    try:
        key = report_doc.signing_key(settings)
    except SigningKeyError as exc:
        raise UsageError(str(exc)) from exc
    retailer = await users.by_phone(conn, args.retailer)
    if retailer is None or retailer.role != "RETAILER":
        raise UsageError(f"no retailer with phone {mask(args.retailer)}")
    as_of = _end_of_day(args.as_of) if args.as_of is not None else None
    lang = args.language or retailer.language
    async with conn.transaction():
        report = await bank_report.build(conn, None, retailer.id, as_of=as_of)
        content = bank_report.content(report)
        data = report_doc.pdf(content, lang, Messages(), key, verify_url=_verify_url(settings))
        await bank_report.record_issued(conn, None, report, how="command line",
                                        details={"file": args.out.name, "language": lang})
        args.out.write_bytes(data)  # last: a file that cannot be written leaves no audit row
    score = report.score
    print(f"{args.out}: bank report {report.report_id} of {report.shop.shop_name}, as of "
          f"{formats.nepal_time(report.as_of):%Y-%m-%d %H:%M} Nepal time; score "
          + (f"{score.score} {score.band}" if score.score is not None else "none")
          + f"; signed by key {report_signing.fingerprint(key.public_key())}")
    return 0


async def _report_verify(args: argparse.Namespace, settings: Settings) -> int:
    """Exit 0: genuine and its chain heads still in the ledger; 1 otherwise, with why. The
    signature needs no database; the heads do, and the line says when they went unchecked."""
    from bot import report_doc
    from ledger import bank_report, report_signing

    try:
        data = args.file.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {args.file}: {exc.strerror or exc}") from exc
    try:
        if args.key is not None:
            public = report_signing.public_from_pem(args.key.read_bytes())
        else:
            public = report_doc.signing_key(settings).public_key()
    except (OSError, ValueError, report_signing.SigningKeyError) as exc:
        raise UsageError(f"no key to verify with: {exc}") from exc
    verdict = report_doc.verify_file(data, public)
    if not verdict.genuine or verdict.content is None:
        print(f"{args.file}: NOT GENUINE: {verdict.reason}", file=sys.stderr)
        return 1
    content = verdict.content
    shop = content["shop"]
    print(f"{args.file}: genuine and unaltered: report {content['report_id']} of "
          f"{shop['shop_name']} ({shop['phone'] or '-'}), as of {content['as_of']}, signed by "
          f"key {verdict.fingerprint}")
    heads = bank_report.from_content(content).heads
    if not heads:
        print("chain heads: the report names none")
        return 0
    try:
        urls = db.urls(settings.database_url, settings.migrate_database_url,
                       settings.khaacho_data_dir)
        conn = await asyncio.wait_for(db.connect(urls.app), timeout=15)
    except (OSError, TimeoutError, asyncpg.PostgresError, db.ConfigurationError) as exc:
        print(f"{args.file}: chain heads NOT checked: the database cannot be reached ({exc}); "
              "the signature above needs none", file=sys.stderr)
        return 1
    try:
        problems = await bank_report.check_heads(conn, heads)
    finally:
        await conn.close()
    if problems:
        for problem in problems:
            print(f"{args.file}: chain head no longer in the ledger: {problem}", file=sys.stderr)
        return 1
    print(f"chain heads: all {len(heads)} still in the ledger, with the same hashes")
    return 0


async def _messages_archive(conn: asyncpg.Connection, args: argparse.Namespace,
                            settings: Settings) -> int:
    from ledger import message_archive

    days = settings.message_retention_days if args.days is None else args.days
    if days < 1:
        raise UsageError("no retention: MESSAGE_RETENTION_DAYS is 0 (pass --days N to archive)")
    if args.batch < 1:
        raise UsageError("--batch must be at least 1")
    cutoff = datetime.now(NEPAL_TIME) - timedelta(days=days)
    moved = await message_archive.archive(conn, cutoff, batch=args.batch)
    print(f"archived {moved.outbox} outbound and {moved.inbound} inbound messages older than "
          f"{days} days ({moved.documents} documents only they named removed)")
    return 0


async def _analytics_refresh(conn: asyncpg.Connection, args: argparse.Namespace) -> int:
    from ledger import analytics

    done = await analytics.refresh(conn, full=args.full)
    if not done.ran:
        print("khaacho: another process is refreshing the analytics; try again shortly",
              file=sys.stderr)
        return 1
    span = f" ({done.days[0]} to {done.days[-1]})" if done.days else ""
    print(f"analytics refreshed: {len(done.days)} days recomputed{span}, today's snapshot taken,"
          f" in {done.seconds:.2f} s")
    return 0


async def _user_add(conn: asyncpg.Connection, args: argparse.Namespace) -> int:
    name = args.name.strip()
    if not 1 <= len(name) <= 120:
        raise UsageError("--name must be 1 to 120 characters")
    if args.credit_limit is not None and args.role != "RETAILER":
        raise UsageError("--credit-limit is for retailers")
    user = await users.upsert(
        conn, phone=args.phone, name=name, role=args.role, language=args.language,
        shop_name=(args.shop or "").strip() or None, credit_limit_paisa=args.credit_limit,
    )
    print(f"{user.role} {user.name} ({user.phone}) saved, id {user.id}")
    return 0


async def _token(conn: asyncpg.Connection, args: argparse.Namespace) -> int:
    """`khaacho token create|revoke|list`: integrations' tokens, from the operator's shell."""
    if args.token_command == "create":
        name = " ".join(args.name.split())
        if not 1 <= len(name) <= auth.MAX_NAME:
            raise UsageError(f"--name must be 1 to {auth.MAX_NAME} characters")
        if not 1 <= args.days <= 3650:
            raise UsageError("--days must be 1 to 3650")
        try:
            owner, issued = await auth.issue_integration(conn, args.phone, name,
                                                         timedelta(days=args.days))
        except UnknownUser:
            raise UsageError(f"no active user with phone {mask(args.phone)}") from None
        print(f"token {issued.id} for {owner.role} {owner.name}, {name!r}, expires "
              f"{issued.expires_at:%Y-%m-%d} (shown once: keep it secret)", file=sys.stderr)
        print(issued.token)
        return 0
    user = await users.by_phone(conn, args.phone)
    if user is None:
        raise UsageError(f"no user with phone {mask(args.phone)}")
    if args.token_command == "list":
        for t in await auth.tokens(conn, user, user.id):
            state = "revoked" if t.revoked_at else "live"
            print(f"{t.id}\t{t.kind}\t{state}\texpires {t.expires_at:%Y-%m-%d}\t{t.name}")
        return 0
    if args.id is not None:
        async with conn.transaction():
            owner = await conn.fetchval("SELECT user_id FROM auth_tokens WHERE id = $1", args.id)
            if owner != user.id:
                raise UsageError(f"token {args.id} is not {mask(args.phone)}'s")
            done = await auth.revoke(conn, user, args.id)
        print(f"token {args.id} {'revoked' if done else 'was not live'}")
        return 0
    count = await auth.revoke_all(conn, None, user.id)
    print(f"{count} sessions and tokens of {user.name} revoked")
    return 0


if __name__ == "__main__":
    sys.exit(main())
