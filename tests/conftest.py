"""Test fixtures: a real PostgreSQL (TEST_DATABASE_URL, or an embedded one), a fresh database per
test cloned from a migrated template, and the settings an app under test runs with.

As in production, the tables belong to an owner role that migrates, and the app (and every
service test) connects as the app's role, which owns nothing and may only make the writes its
services make. TEST_DATABASE_URL must be a superuser: it makes both roles and the databases."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import os
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import hypothesis
import pytest
from pydantic import SecretStr

from bot.app import create_app
from bot.settings import Settings
from ledger import db, migrate, roles
from tests.fakegraph import PHONE_NUMBER_ID, TOKEN, FakeGraph

ROOT = Path(__file__).resolve().parent.parent

# Locally Hypothesis explores new examples every run; in CI the same ones, so a landing never
# depends on luck (a bug found locally becomes a fixed example test).
hypothesis.settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis.settings.load_profile("ci")
APP_SECRET = "test-app-secret"
# The test server's owner and app roles log in with it (ignored where local logins are trusted).
ROLE_PASSWORD = "khaacho-test"
VERIFY_TOKEN = "test-verify-token"
# The browser tests (tests/browser) drive this Chromium (Debian's package; no browser download;
# KHAACHO_CHROMIUM names another) and keep their screenshots here.
CHROMIUM = Path(os.environ.get("KHAACHO_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = ROOT / "var" / "screenshots" / "browser"

_counter = itertools.count()


def _with_database(url: str, name: str) -> str:
    """The same server as `url`, another database (works for host and unix-socket URLs)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


async def _admin(url: str, *statements: str) -> None:
    """Run each statement on its own (CREATE DATABASE may not share a transaction)."""
    conn = await asyncpg.connect(url)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def server_url() -> str:
    """A superuser on the test server: it makes the roles and the databases."""
    url = os.environ.get("TEST_DATABASE_URL")
    return url or db.embedded_url(ROOT / "var" / "test")


@pytest.fixture(scope="session")
def template_db(server_url: str) -> Iterator[str]:
    """A database owned and migrated by the owner role, with the app role's privileges granted,
    that every test's database is cloned from (the roles are made on the server if missing)."""
    name = f"khaacho_tpl_{os.getpid()}"

    async def build() -> None:
        conn = await asyncpg.connect(server_url)
        try:
            await roles.create_login_roles(conn, password=ROLE_PASSWORD)
        finally:
            await conn.close()
        await _admin(server_url, f"DROP DATABASE IF EXISTS {name}",
                     f"CREATE DATABASE {name} OWNER {roles.OWNER_ROLE}")
        conn = await asyncpg.connect(db.as_role(server_url, roles.OWNER_ROLE, ROLE_PASSWORD, name))
        try:
            await migrate.migrate(conn, app_role=roles.APP_ROLE)
        finally:
            await conn.close()

    asyncio.run(build())
    yield name
    asyncio.run(_admin(server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture
async def database_name(server_url: str, template_db: str) -> AsyncIterator[str]:
    """A fresh, migrated database for one test."""
    name = f"khaacho_t_{os.getpid()}_{next(_counter)}"
    # A database's own privileges are not copied from its template (everything inside is): the
    # template's migration took TEMPORARY away from PUBLIC, so take it here too.
    await _admin(server_url,
                 f"CREATE DATABASE {name} TEMPLATE {template_db} OWNER {roles.OWNER_ROLE}",
                 f"REVOKE TEMPORARY ON DATABASE {name} FROM PUBLIC")
    yield name
    await _admin(server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def database_url(server_url: str, database_name: str) -> str:
    """The test database as the app's role: what the app under test, its CLI and the services'
    tests connect as."""
    return db.as_role(server_url, roles.APP_ROLE, ROLE_PASSWORD, database_name)


@pytest.fixture
def owner_url(server_url: str, database_name: str) -> str:
    """The test database as the owner role, which migrates (and is bound by the triggers)."""
    return db.as_role(server_url, roles.OWNER_ROLE, ROLE_PASSWORD, database_name)


@pytest.fixture
def superuser_url(server_url: str, database_name: str) -> str:
    """The test database as the server's superuser: only for tests that break it on purpose."""
    return _with_database(server_url, database_name)


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await db.create_pool(database_url, min_size=1, max_size=10)
    yield pool
    await pool.close()


@pytest.fixture
async def counted(database_url: str) -> AsyncIterator[tuple[asyncpg.Pool, list[str]]]:
    """A pool like the app's whose connections note every statement they run (asyncpg tells
    its loggers on the loop's next turn: `await asyncio.sleep(0)` before counting)."""
    statements: list[str] = []

    async def init(conn: asyncpg.Connection) -> None:
        await db._init_connection(conn)  # noqa: SLF001 - the app's own codecs
        conn.add_query_logger(lambda logged: statements.append(logged.query))

    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=10, init=init,
                                     reset=db._keep_session)  # noqa: SLF001 - as the app's
    yield pool, statements
    await pool.close()


@pytest.fixture
async def owner_conn(owner_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await db.connect(owner_url)
    yield conn
    await conn.close()


@pytest.fixture
def settings(database_url: str, owner_url: str) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        migrate_database_url=owner_url,
        whatsapp_verify_token=SecretStr(VERIFY_TOKEN),
        whatsapp_app_secret=SecretStr(APP_SECRET),
        worker_poll_seconds=0.05,
        outbox_backoff_seconds=0.01,
        metrics_refresh_seconds=0.05,
        # Reminders and digests follow the wall clock; tests that want them turn them on and
        # pass the moment themselves, so no other test gets a digest at 08:00 Nepal time.
        reminders_enabled=False,
        # Bank reports are signed; with WhatsApp configured the key must be set (a fixed one).
        report_signing_key=SecretStr("AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="),
    )


@pytest.fixture
async def graph(aiohttp_server) -> AsyncIterator[FakeGraph]:  # type: ignore[no-untyped-def]
    fake = FakeGraph()
    server = await aiohttp_server(fake.app(), host="127.0.0.1")
    fake.base_url = str(server.make_url("/v21.0"))  # type: ignore[attr-defined]
    yield fake


@pytest.fixture
def wa_settings(settings: Settings, graph: FakeGraph) -> Settings:
    """Settings of an app that sends through the fake Graph API."""
    return settings.model_copy(update={
        "whatsapp_access_token": SecretStr(TOKEN),
        "whatsapp_phone_number_id": PHONE_NUMBER_ID,
        "whatsapp_api_base": graph.base_url,  # type: ignore[attr-defined]
    })


@pytest.fixture
def start_app(wa_settings: Settings, aiohttp_client):  # type: ignore[no-untyped-def]
    """Start an instance of the whole app (webhook, workers, sender) on the fake Graph API.

    `wa_settings` comes first so the test's database outlives every app at teardown.
    """

    async def start(workers: bool = True):  # type: ignore[no-untyped-def]
        return await aiohttp_client(create_app(wa_settings, workers=workers))

    return start


@pytest.fixture
async def client(start_app):  # type: ignore[no-untyped-def]
    return await start_app()


def sign(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def post_webhook(client, payload: dict | bytes):  # type: ignore[no-untyped-def]
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return await client.post("/webhook", data=body, headers={
        "X-Hub-Signature-256": sign(body), "Content-Type": "application/json"})


async def eventually(check, within: float = 10.0, every: float = 0.02):  # type: ignore[no-untyped-def]
    """Poll `check` (sync or async) until it returns something truthy; fail after `within` s."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {within}s")
        await asyncio.sleep(every)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without Chromium the browser tests are skipped (and the summary says so, below)."""
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason=f"{CHROMIUM} is missing: the browser tests did not run")
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:  # type: ignore[no-untyped-def]
    """Say plainly whether the browser tests ran, and where their screenshots are."""
    browser = [r for key in ("passed", "failed", "error", "skipped")
               for r in terminalreporter.stats.get(key, [])
               if getattr(r, "when", "call") in ("call", "setup")
               and "tests/browser/" in getattr(r, "nodeid", "")]
    if not browser:
        return
    if not CHROMIUM.exists():
        terminalreporter.write_line(
            f"BROWSER TESTS DID NOT RUN: {CHROMIUM} is missing "
            f"({len({r.nodeid for r in browser})} skipped; install Debian's chromium package)",
            red=True, bold=True)
    elif SCREENSHOTS.exists():
        terminalreporter.write_line(f"browser screenshots: {SCREENSHOTS}")


async def khaacho(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """The command line in its own process, with exactly these database settings."""
    base = {k: v for k, v in os.environ.items()
            if k not in ("DATABASE_URL", "MIGRATE_DATABASE_URL", "KHAACHO_DATA_DIR")}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", *args, cwd=ROOT,
        env={**base, "LOG_LEVEL": "WARNING", "WHATSAPP_ACCESS_TOKEN": "",
             "WHATSAPP_PHONE_NUMBER_ID": "", **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 180)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()
