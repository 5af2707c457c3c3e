"""A scratch database on the benchmark's PostgreSQL server, dropped afterwards; and the ledger
check every benchmark ends with."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from ledger import check, db, migrate, roles

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/test"


def server_url() -> str:
    return os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL") or (
        DEFAULT_SERVER)


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


@contextlib.asynccontextmanager
async def scratch_database(prefix: str) -> AsyncIterator[str]:
    """A fresh, migrated database; yields its URL."""
    server = server_url()
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server)
    try:
        await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()
    url = with_database(server, name)
    try:
        conn = await db.connect(url)
        try:
            await migrate.migrate(conn)
        finally:
            await conn.close()
        yield url
    finally:
        await _drop_database(server, name)


# The owner's and the app's login password in benchmark databases (they are made and dropped
# by the run; BENCH_ROLE_PASSWORD where a server already has the roles with another).
ROLE_PASSWORD = os.environ.get("BENCH_ROLE_PASSWORD", "khaacho-test")


@dataclass(frozen=True)
class RoleDatabase:
    superuser: str  # bulk loads, with the triggers off
    app: str  # what the server and the services connect as


@contextlib.asynccontextmanager
async def role_database(server: str, prefix: str) -> AsyncIterator[RoleDatabase]:
    """A fresh database set up as a deploy is (owned by the owner role, migrated by it, the app
    role granted its privileges): yields its URLs; dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server)
    try:
        await roles.create_login_roles(admin, password=ROLE_PASSWORD)
        await admin.execute(f"CREATE DATABASE {name} OWNER {roles.OWNER_ROLE}")
        await admin.execute(f"REVOKE TEMPORARY ON DATABASE {name} FROM PUBLIC")
    finally:
        await admin.close()
    try:
        owner = await asyncpg.connect(db.as_role(server, roles.OWNER_ROLE, ROLE_PASSWORD, name))
        try:
            await migrate.migrate(owner, app_role=roles.APP_ROLE)
        finally:
            await owner.close()
        yield RoleDatabase(superuser=with_database(server, name),
                           app=db.as_role(server, roles.APP_ROLE, ROLE_PASSWORD, name))
    finally:
        await _drop_database(server, name)


async def _drop_database(server: str, name: str) -> None:
    admin = await asyncpg.connect(server)
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        await admin.close()


class LedgerBroken(RuntimeError):
    """A benchmark left the ledger disagreeing with itself: its figures do not count."""


async def require_consistent_ledger(conn: asyncpg.Connection) -> check.CheckResult:
    """Run ledger.check; raise LedgerBroken, with every line it reported, on any break."""
    result = await check.run(conn)
    print(result.summary(), flush=True)
    if not result.ok:
        raise LedgerBroken("\n".join([result.summary(), *result.lines()]))
    return result
