"""The latest migration applied the way a deploy applies it: on a database at the migration
before it, while the app keeps taking webhooks, handling them and sending replies (docs/
operations.md: Deploys). Nothing the app does may fail or be held up for good meanwhile."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import asyncpg
import pytest

from bot.app import create_app
from ledger import catalog_store, db, migrate, migration_lint, roles
from tests.channel.people import message_from, phones
from tests.conftest import ROLE_PASSWORD, _admin, eventually, post_webhook

USERS = phones(4)


@pytest.fixture
async def previous(server_url: str, template_db: str,
                   monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[str, str]]:
    """A database at the second-to-last shipped migration: (owner URL, app URL)."""
    # A process serves one database, and notes what it has seen of its schema; this one has
    # seen other tests' databases, all migrated.
    monkeypatch.setattr(catalog_store, "_versioned", False)
    name = f"khaacho_live_{os.getpid()}"
    await _admin(server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)",
                 f"CREATE DATABASE {name} OWNER {roles.OWNER_ROLE}",
                 f"REVOKE TEMPORARY ON DATABASE {name} FROM PUBLIC")
    owner = db.as_role(server_url, roles.OWNER_ROLE, ROLE_PASSWORD, name)
    conn = await db.connect(owner)
    try:
        await migrate.migrate(conn, app_role=roles.APP_ROLE, migrations=migrate.available()[:-1])
    finally:
        await conn.close()
    yield owner, db.as_role(server_url, roles.APP_ROLE, ROLE_PASSWORD, name)
    await _admin(server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


class Load:
    """The app on `app_url`, taking signed webhooks from a few people in a loop, as a running
    build does while a deploy migrates."""

    def __init__(self, client, graph) -> None:  # type: ignore[no-untyped-def]
        self.client, self.graph = client, graph
        self.posted: list[str] = []
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while not self._stop.is_set():
            wamid = f"wamid.L{len(self.posted):05d}"
            response = await post_webhook(self.client, message_from(
                USERS[len(self.posted) % len(USERS)], wamid, "help"))
            assert response.status == 200
            self.posted.append(wamid)
            await asyncio.sleep(0.01)

    async def __aenter__(self) -> Load:
        self._task = asyncio.create_task(self._run())
        await eventually(lambda: len(self.graph.sent) >= 4, within=60)  # answering, too
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._stop.set()
        assert self._task is not None
        await self._task


async def _migrate(owner_url: str, migrations: list[migrate.Migration]) -> list[str]:
    conn = await db.connect(owner_url)
    try:
        return await migrate.migrate(conn, app_role=roles.APP_ROLE, migrations=migrations)
    finally:
        await conn.close()


async def _inbound(app_url: str) -> asyncpg.Record:
    conn = await db.connect(app_url)
    try:
        return await conn.fetchrow(
            """SELECT count(*) FILTER (WHERE handled_at IS NULL) AS todo,
                      count(*) FILTER (WHERE last_error IS NOT NULL) AS failed,
                      count(*) AS stored,
                      (SELECT count(*) FROM outbox WHERE status <> 'sent') AS unsent
               FROM inbound_messages""")
    finally:
        await conn.close()


def _app(wa_settings, owner_url: str, app_url: str):  # type: ignore[no-untyped-def]
    return create_app(wa_settings.model_copy(update={
        "database_url": app_url, "migrate_database_url": owner_url,
        "analytics_refresh_seconds": 0}))  # the summary tables may be the latest migration's


async def test_the_latest_migration_applies_while_the_app_serves(previous, wa_settings, graph,
                                                                 aiohttp_client):
    owner_url, app_url = previous
    latest = migrate.available()[-1]
    client = await aiohttp_client(_app(wa_settings, owner_url, app_url))
    async with Load(client, graph) as load:
        assert await _migrate(owner_url, migrate.available()) == [latest.name]
        after = len(load.posted)
        # Still serving on the new schema: more webhooks taken and answered.
        await eventually(lambda: len(load.posted) >= after + 10, within=60)

    async def all_answered() -> bool:
        row = await _inbound(app_url)
        assert row["failed"] == 0
        return (row["todo"], row["unsent"], row["stored"]) == (0, 0, len(load.posted))
    await eventually(all_answered, within=60)
    assert graph.duplicates() == 0


async def test_a_migration_the_running_version_does_not_survive_shows_here_too(
        previous, wa_settings, graph, aiohttp_client):
    """The same load notices a contraction shipped too early (and so does the checker)."""
    owner_url, app_url = previous
    await _migrate(owner_url, migrate.available())
    breaking = migrate.Migration(
        999, "999_rename_state.sql", "ALTER TABLE conversations RENAME COLUMN state TO step;")
    assert [f.rule for f in migration_lint.check([breaking])] == ["rename-column"]
    client = await aiohttp_client(_app(wa_settings, owner_url, app_url))
    async with Load(client, graph):
        await _migrate(owner_url, [*migrate.available(), breaking])

        async def failing() -> bool:
            return bool((await _inbound(app_url))["failed"])
        await eventually(failing, within=60)
