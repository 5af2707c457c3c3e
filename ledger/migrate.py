"""Numbered plain-SQL migrations, applied in order, each once, in a transaction, under a lock;
then the app's role is granted its privileges (ledger.roles).

A migration whose first line is `-- khaacho: no-transaction` runs statement by statement outside
a transaction instead, for what PostgreSQL refuses inside one (CREATE INDEX CONCURRENTLY). It is
recorded only after its last statement, so one interrupted halfway runs again from the start:
each statement must be safe to repeat (docs/operations.md: Deploys).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from importlib import resources

import asyncpg
import pglast

from ledger import db, roles

log = logging.getLogger(__name__)

# Any constant works; it only has to be the same for every process of this app.
_MIGRATION_LOCK = 0x6B6861616368

_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")
NO_TRANSACTION = "-- khaacho: no-transaction"


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def transactional(self) -> bool:
        return self.sql.lstrip().partition("\n")[0].strip() != NO_TRANSACTION


def available() -> list[Migration]:
    """The migrations shipped with the code, in order; numbers must be unique."""
    found: list[Migration] = []
    for entry in resources.files("ledger.migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"duplicate migration numbers: {versions}")
    return found


async def applied(conn: asyncpg.Connection) -> set[int]:
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    if not exists:
        return set()
    return {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}


async def pending(conn: asyncpg.Connection) -> list[Migration]:
    done = await applied(conn)
    return [m for m in available() if m.version not in done]


async def migrate(
    conn: asyncpg.Connection, *, app_role: str | None = None,
    migrations: list[Migration] | None = None,
) -> list[str]:
    """Apply what is missing of `migrations` (the shipped ones by default), then grant
    `app_role` the app's privileges (unless it is None or this connection's own role). Two
    processes starting together wait on the advisory lock."""
    await conn.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK)
    try:
        # Created only when missing: an app role with nothing pending gets this far without
        # the right to create anything.
        if not await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL"):
            await conn.execute(
                """CREATE TABLE IF NOT EXISTS schema_migrations (
                       version integer PRIMARY KEY,
                       name text NOT NULL,
                       applied_at timestamptz NOT NULL DEFAULT now())"""
            )
        ran: list[str] = []
        done = await applied(conn)
        for migration in migrations if migrations is not None else available():
            if migration.version in done:
                continue
            if migration.transactional:
                async with conn.transaction():
                    await conn.execute(migration.sql)
                    await _record(conn, migration)
            else:
                # One statement per round trip: several in one query string would share an
                # implicit transaction, which CONCURRENTLY refuses.
                for statement in pglast.split(migration.sql):
                    await conn.execute(statement)
                await _record(conn, migration)
            log.info("applied migration %s", migration.name)
            ran.append(migration.name)
        if app_role is not None and app_role != await conn.fetchval("SELECT current_user"):
            await roles.grant_app(conn, app_role)
        return ran
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK)


async def _record(conn: asyncpg.Connection, migration: Migration) -> None:
    await conn.execute("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                       migration.version, migration.name)


async def run(migrate_url: str, app_url: str) -> list[str]:
    """`khaacho migrate`: migrate as the owner (`migrate_url`), then grant the app's privileges
    to the role `app_url` logs in as. One URL for both is allowed for simple setups; if that
    role owns the tables it could switch their triggers off, and a warning says so."""
    app_role = None
    if migrate_url != app_url:
        app = await db.connect(app_url)
        try:
            app_role = await app.fetchval("SELECT current_user")
        finally:
            await app.close()
    conn = await db.connect(migrate_url)
    try:
        ran = await migrate(conn, app_role=app_role)
        if app_role is None and await conn.fetchval(
            """SELECT rolsuper OR EXISTS (SELECT FROM pg_class WHERE relowner = r.oid)
               FROM pg_roles r WHERE rolname = current_user"""
        ):
            log.warning("the app runs as the role that owns its tables, which can switch their "
                        "triggers off: set MIGRATE_DATABASE_URL to a separate owner (README: "
                        "Database roles)")
        return ran
    finally:
        await conn.close()
