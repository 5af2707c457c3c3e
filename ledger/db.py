"""Where the database is, and as whom to connect: a configured PostgreSQL server (the app's
role in DATABASE_URL, the owner that migrates in MIGRATE_DATABASE_URL), or an embedded one for
newcomers, set up with both roles."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit, urlunsplit

import asyncpg

from ledger import roles

log = logging.getLogger(__name__)

_embedded: dict[Path, Any] = {}

# The embedded server's database; its superuser's own database (`postgres`) is left alone.
EMBEDDED_DATABASE = "khaacho"


class ConfigurationError(ValueError):
    """Settings that name no usable database: one line, for the person who set them."""


@dataclass(frozen=True)
class Urls:
    app: str      # the app's role: reads and writes what its services need, owns nothing
    migrate: str  # the owner: creates and alters the tables, grants the app its privileges


_embedded_urls: dict[Path, Urls] = {}


def urls(database_url: str | None, migrate_database_url: str | None, data_dir: Path) -> Urls:
    """The app's URL and the migrating owner's; an empty MIGRATE_DATABASE_URL means the same
    role as DATABASE_URL (simple setups: that role then owns the tables it is guarded by)."""
    if not database_url:
        if migrate_database_url:
            raise ConfigurationError(
                "MIGRATE_DATABASE_URL is set but DATABASE_URL is not: set both, or neither for "
                "the embedded server")
        return embedded_urls(data_dir)
    return Urls(app=database_url, migrate=migrate_database_url or database_url)


def as_role(url: str, user: str, password: str | None = None, database: str | None = None) -> str:
    """The same server as `url` as another user (and database); host and socket URLs alike."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    login = quote(user, safe="") + (":" + quote(password, safe="") if password else "")
    path = "/" + database if database is not None else parts.path
    return urlunsplit(parts._replace(netloc=f"{login}@{host}", path=path))


def embedded_url(data_dir: Path) -> str:
    """Start (or reuse) an embedded PostgreSQL in `data_dir/pg` and return its superuser's URL.

    The server keeps running while any process that started it lives; its data stays on disk.
    """
    pgdata = (data_dir / "pg").resolve()
    if pgdata not in _embedded:
        pgdata.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
            warnings.simplefilter("ignore")
            # Imported here: only a run without DATABASE_URL needs the embedded server.
            from pgserver import get_server  # type: ignore[attr-defined]

            _embedded[pgdata] = get_server(pgdata)
        log.info("embedded PostgreSQL running in %s", pgdata)
    return str(_embedded[pgdata].get_uri())


def embedded_urls(data_dir: Path) -> Urls:
    """The embedded server's database, owned by roles.OWNER_ROLE, and the app's role beside it;
    created on first use (local connections are trusted, so no passwords)."""
    pgdata = (data_dir / "pg").resolve()
    if pgdata not in _embedded_urls:
        superuser = embedded_url(data_dir)
        # A worker thread with its own event loop: callers may or may not be inside one.
        with ThreadPoolExecutor(max_workers=1) as worker:
            worker.submit(asyncio.run, _set_up_roles(superuser)).result()
        _embedded_urls[pgdata] = Urls(
            app=as_role(superuser, roles.APP_ROLE, database=EMBEDDED_DATABASE),
            migrate=as_role(superuser, roles.OWNER_ROLE, database=EMBEDDED_DATABASE))
    return _embedded_urls[pgdata]


async def _set_up_roles(superuser_url: str) -> None:
    conn = await asyncpg.connect(superuser_url)
    try:
        await roles.create_login_roles(conn)
        if not await conn.fetchval(
                "SELECT true FROM pg_database WHERE datname = $1", EMBEDDED_DATABASE):
            # Another process may make it first.
            with contextlib.suppress(asyncpg.DuplicateDatabaseError):
                await conn.execute(f"CREATE DATABASE {roles.ident(EMBEDDED_DATABASE)} "
                                   f"OWNER {roles.ident(roles.OWNER_ROLE)}")
    finally:
        await conn.close()


def database_url(configured: str | None, data_dir: Path) -> str:
    """The app's URL: DATABASE_URL, or the embedded server's app role."""
    return configured or embedded_urls(data_dir).app


async def _init_connection(conn: asyncpg.Connection) -> None:
    for name in ("json", "jsonb"):
        await conn.set_type_codec(name, encoder=_dumps, decoder=_loads, schema="pg_catalog")


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _loads(value: str) -> Any:
    return json.loads(value)


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Give a connection back to the pool without asyncpg's default reset, a round trip on
    every release (`UNLISTEN *; RESET ALL; pg_advisory_unlock_all(); CLOSE ALL`, a fifth of
    a message's queries). asyncpg still rolls back a transaction left open and drops listener
    callbacks; the rest is never left behind here: settings are `SET LOCAL`, advisory locks are
    transaction-scoped, temporary tables `ON COMMIT DROP`, cursors live in transactions. The one
    connection that LISTENs and names itself resets itself before it goes back (bot/wakeup.py).
    """


async def create_pool(url: str, *, min_size: int = 2, max_size: int = 20) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        url, min_size=min_size, max_size=max_size, init=_init_connection, command_timeout=60,
        reset=_keep_session)
    assert pool is not None
    return pool


# How the read pool's sessions show in pg_stat_activity, unless its URL names another.
READ_APPLICATION_NAME = "khaacho-read"


async def create_read_pool(url: str, *, min_size: int = 0, max_size: int = 10) -> asyncpg.Pool:
    """A pool for reads that may lag (a replica's URL): every transaction on it is read-only,
    so a write sent to it by mistake fails at once, on the primary's database as on a replica
    (which refuses writes anyway), instead of working until the URL points at a real replica.
    It connects on first use (`min_size` 0): a replica that is down keeps only its pages from
    working, not the server from starting."""
    settings = {"default_transaction_read_only": "on"}
    if "application_name" not in parse_qs(urlsplit(url).query):
        settings["application_name"] = READ_APPLICATION_NAME
    pool = await asyncpg.create_pool(
        url, min_size=min_size, max_size=max_size, init=_init_connection, command_timeout=60,
        server_settings=settings, reset=_keep_session)
    assert pool is not None
    return pool


async def connect(url: str) -> asyncpg.Connection:
    conn = await asyncpg.connect(url)
    await _init_connection(conn)
    return conn
