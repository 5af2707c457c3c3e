"""The database's roles: the app connects as a role that owns nothing and holds only the writes its
services make; migrations run as the owner, which grants them; every setup makes both."""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from bot.appkeys import POOL
from ledger import db, migrate, roles
from tests.conftest import ROLE_PASSWORD, ROOT, khaacho

_names = itertools.count()

# Financial tables: the app may never delete from them (the triggers refuse it besides).
FINANCIAL_TABLES = {
    "ledger_accounts", "ledger_entries", "payments", "payment_allocations", "orders",
    "order_lines", "order_transitions", "stock_reservations", "credit_overrides", "audit_log",
    "payment_claims", "disputes", "order_receipts",
}


async def _superuser(server_url: str, statement: str) -> None:
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture
async def empty_database(server_url: str, template_db: str) -> AsyncIterator[str]:
    """A database with nothing in it, owned by the owner role, as a managed PostgreSQL gives one
    (`template_db`: the roles exist by then)."""
    name = f"khaacho_empty_{os.getpid()}_{next(_names)}"
    await _superuser(server_url, f"CREATE DATABASE {name} OWNER {roles.OWNER_ROLE}")
    yield name
    await _superuser(server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _url(server_url: str, role: str, database: str) -> str:
    return db.as_role(server_url, role, ROLE_PASSWORD, database)


async def _ownership(conn: asyncpg.Connection, role: str) -> asyncpg.Record:
    return await conn.fetchrow(
        """SELECT r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolbypassrls,
                  pg_has_role(r.oid, $2, 'MEMBER') AS is_owner_role,
                  (SELECT count(*) FROM pg_class WHERE relowner = r.oid) AS relations,
                  (SELECT count(*) FROM pg_proc WHERE proowner = r.oid) AS functions,
                  (SELECT count(*) FROM pg_namespace WHERE nspowner = r.oid) AS schemas,
                  (SELECT count(*) FROM pg_type WHERE typowner = r.oid) AS types,
                  (SELECT datdba = r.oid FROM pg_database
                   WHERE datname = current_database()) AS owns_database,
                  has_schema_privilege(r.oid, 'public', 'CREATE') AS may_create,
                  has_database_privilege(r.oid, current_database(), 'TEMPORARY') AS may_temp
           FROM pg_roles r WHERE r.rolname = $1""", role, roles.OWNER_ROLE)


NOTHING = {"rolsuper": False, "rolcreaterole": False, "rolcreatedb": False,
           "rolbypassrls": False, "is_owner_role": False, "relations": 0, "functions": 0,
           "schemas": 0, "types": 0, "owns_database": False, "may_create": False,
           "may_temp": False}


async def test_the_apps_role_owns_nothing_and_may_create_nothing(
    conn: asyncpg.Connection,
) -> None:
    assert await conn.fetchval("SELECT current_user") == roles.APP_ROLE
    assert dict(await _ownership(conn, roles.APP_ROLE)) == NOTHING
    # ... while the owner owns every table the app works on.
    assert await conn.fetchval(
        """SELECT count(*) FROM pg_tables
           WHERE schemaname = 'public' AND tableowner <> $1""", roles.OWNER_ROLE) == 0


async def test_the_app_under_test_connects_as_the_apps_role(client) -> None:  # type: ignore[no-untyped-def]
    async with client.app[POOL].acquire() as conn:
        assert await conn.fetchval("SELECT current_user") == roles.APP_ROLE


async def test_every_table_has_exactly_the_privileges_its_services_need(
    conn: asyncpg.Connection,
) -> None:
    tables = {r["tablename"] for r in await conn.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    # A new table must be placed in ledger.roles.APP_WRITES: what may the app do to it?
    assert tables == set(roles.APP_WRITES)
    for table in sorted(tables):
        granted = {r["privilege_type"] for r in await conn.fetch(
            """SELECT privilege_type FROM information_schema.table_privileges
               WHERE grantee = $1 AND table_schema = 'public' AND table_name = $2""",
            roles.APP_ROLE, table)}
        writes = re.findall(r"\w+(?: \([^)]*\))?", roles.APP_WRITES[table])
        whole_table = {w for w in writes if "(" not in w}
        assert granted == {"SELECT", *whole_table}, table
        for write in writes:
            if "(" in write:   # "UPDATE (reversed)": those columns and no other
                kind, columns = write.split("(")
                allowed = {c.strip() for c in columns.rstrip(")").split(",")}
                updatable = {r["column_name"] for r in await conn.fetch(
                    """SELECT column_name FROM information_schema.column_privileges
                       WHERE grantee = $1 AND table_name = $2 AND privilege_type = $3""",
                    roles.APP_ROLE, table, kind.strip())}
                assert updatable == allowed, table
        if table in FINANCIAL_TABLES:
            assert "DELETE" not in granted or table == "order_lines", table
        assert not granted & {"TRUNCATE", "REFERENCES", "TRIGGER"}, table


async def test_migrating_as_the_owner_grants_the_app_its_privileges(
    server_url: str, empty_database: str
) -> None:
    env = {"DATABASE_URL": _url(server_url, roles.APP_ROLE, empty_database),
           "MIGRATE_DATABASE_URL": _url(server_url, roles.OWNER_ROLE, empty_database)}
    code, out, err = await khaacho(env, "migrate")
    assert code == 0, err
    assert out.startswith(f"applied {len(migrate.available())} migration(s): 001_foundation.sql")
    assert (await khaacho(env, "migrate"))[:2] == (0, "applied 0 migration(s)\n")
    # The app's role can do its work (demo data through the services) and nothing more.
    assert (await khaacho(env, "demo"))[0] == 0
    code, out, err = await khaacho(env, "check")
    assert code == 0 and out.startswith("ledger consistent"), err
    app = await asyncpg.connect(env["DATABASE_URL"])
    try:
        assert dict(await _ownership(app, roles.APP_ROLE)) == NOTHING
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied"):
            await app.execute("DELETE FROM audit_log")
    finally:
        await app.close()


async def test_the_apps_role_alone_starts_a_server_once_migrations_are_applied(
    database_url: str, conn: asyncpg.Connection
) -> None:
    """`khaacho serve` with DATABASE_URL the app's role and no MIGRATE_DATABASE_URL: nothing is
    pending, so its migration step passes without the right to create anything."""
    assert await migrate.run(database_url, database_url) == []
    assert await conn.fetchval("SELECT current_user") == roles.APP_ROLE


async def test_the_apps_role_cannot_migrate_and_is_told_what_to_set(
    server_url: str, empty_database: str
) -> None:
    code, _, err = await khaacho(
        {"DATABASE_URL": _url(server_url, roles.APP_ROLE, empty_database)}, "migrate")
    assert code == 2
    assert "permission denied" in err and "MIGRATE_DATABASE_URL" in err
    assert "Traceback" not in err


async def test_an_app_role_that_could_undo_the_guards_gets_no_grants(
    server_url: str, empty_database: str
) -> None:
    """The app logging in as a superuser: migrating refuses to pretend it is restricted."""
    code, _, err = await khaacho(
        {"DATABASE_URL": db.as_role(server_url, urlsplit(server_url).username or "postgres",
                                    database=empty_database),
         "MIGRATE_DATABASE_URL": _url(server_url, roles.OWNER_ROLE, empty_database)},
        "migrate")
    assert code == 2
    assert "it is a superuser" in err and "Database roles" in err


async def test_migrate_database_url_alone_is_a_mistake(tmp_path: Path) -> None:
    code, _, err = await khaacho({"MIGRATE_DATABASE_URL": "postgresql://owner@localhost/x",
                                  "KHAACHO_DATA_DIR": str(tmp_path)}, "migrate")
    assert code == 2 and "DATABASE_URL is not" in err


async def test_the_embedded_server_migrates_as_the_owner_and_serves_as_the_app(
    tmp_path: Path,
) -> None:
    env = {"KHAACHO_DATA_DIR": str(tmp_path)}
    code, out, err = await khaacho(env, "migrate")
    assert code == 0 and out.startswith("applied"), err
    code, out, err = await khaacho(env, "check")
    assert code == 0 and out.startswith("ledger consistent"), err
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _EMBEDDED_ROLES, str(tmp_path), cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out_bytes, err_bytes = await asyncio.wait_for(process.communicate(), 180)
    assert process.returncode == 0, err_bytes.decode()
    assert out_bytes.decode().split() == [roles.APP_ROLE, "0", roles.OWNER_ROLE]


# Who the embedded URLs log in as, what the app's role owns, and who owns the tables.
_EMBEDDED_ROLES = """
import asyncio, sys
from pathlib import Path
import asyncpg
from ledger import db

async def main() -> None:
    urls = db.embedded_urls(Path(sys.argv[1]))
    app = await asyncpg.connect(urls.app)
    try:
        print(await app.fetchval("SELECT current_user"))
        print(await app.fetchval(
            "SELECT count(*) FROM pg_class WHERE relowner = current_user::regrole"))
        print(await app.fetchval(
            "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'"))
    finally:
        await app.close()

asyncio.run(main())
"""
