"""Replies are sent once through real crashes: `kill -9` of a `khaacho serve` process while sends
are in flight, and restarts of a (private, throwaway) PostgreSQL server under a burst.

Slower than the rest (marked `slow`; `make test` runs them, at a CI-sized scale). The fake Graph
API answers each send a little late and posts the status webhooks Meta would, so that kills and
restarts land between Meta accepting a message and the app recording it.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from bot.app import create_app
from ledger import db, migrate
from tests.channel.people import message_from, phones
from tests.conftest import APP_SECRET, ROOT, _with_database, eventually, post_webhook, sign
from tests.fakegraph import PHONE_NUMBER_ID, TOKEN, FakeGraph

pytestmark = pytest.mark.slow

USERS = phones(8)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _burst(post: Any, count: int, start: int = 0) -> None:
    """Messages `start` to `count`, round-robin over USERS; each gets exactly one reply."""
    for i in range(start, count):
        response = await post(message_from(USERS[i % len(USERS)], f"wamid.C{i:04d}", "help"))
        assert response.status == 200


async def _post_until_a_send_is_in_flight(
        post: Any, graph: FakeGraph, posted: int, count: int) -> int:
    """Go on posting the burst's messages, a few a second, until a reply is in flight (Meta has
    accepted it and not yet answered); returns how many are posted by then. On a loaded machine
    the app may send every reply of a burst before the test looks, and a restart may find
    nothing left to send: each kill must still land between accepting and answering."""
    loop = asyncio.get_running_loop()
    deadline, next_post = loop.time() + 60, loop.time()
    while graph.unanswered == 0:
        assert loop.time() < deadline, f"no send in flight within 60s; {posted} posted"
        if posted < count and loop.time() >= next_post:
            await _burst(post, posted + 1, posted)
            posted, next_post = posted + 1, loop.time() + 0.2
        else:
            await asyncio.sleep(0.005)
    return posted


async def _all_answered_once(pool: asyncpg.Pool, graph: FakeGraph, count: int) -> None:
    async def done() -> bool:
        async with pool.acquire() as conn:
            row = await conn.fetchrow(
                """SELECT (SELECT count(*) FROM inbound_messages WHERE handled_at IS NULL) AS todo,
                          (SELECT count(*) FROM outbox WHERE status = 'pending') AS pending,
                          (SELECT count(*) FROM outbox) AS replies""")
        return (row["todo"], row["pending"], row["replies"]) == (0, 0, count) and (
            len(graph.references()) == count)
    try:
        await eventually(done, within=90, every=0.1)
    except AssertionError as exc:  # say what was left, for whoever reads the failure
        async with pool.acquire() as conn:
            rows = await conn.fetch(
                """SELECT o.id, o.status, o.attempts, o.sending_since IS NOT NULL AS in_flight,
                          o.next_attempt_at - now() AS due_in, o.last_error
                   FROM outbox o WHERE status <> 'sent' ORDER BY id LIMIT 20""")
            unhandled = await conn.fetchval(
                "SELECT count(*) FROM inbound_messages WHERE handled_at IS NULL")
        raise AssertionError(
            f"{exc}: {unhandled} unhandled; accepted {len(graph.references())} of {count}, "
            f"{graph.duplicates()} twice; not sent: {[dict(r) for r in rows]}") from exc
    async with pool.acquire() as conn:
        statuses = [r["status"] for r in await conn.fetch("SELECT status FROM outbox")]
    assert statuses == ["sent"] * count


class Serve:
    """`khaacho serve` as a real process, killed with SIGKILL and started again."""

    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.env, self.port, self.log = env, port, log
        self.process: asyncio.subprocess.Process | None = None
        self.url = f"http://127.0.0.1:{port}"

    async def start(self, session: aiohttp.ClientSession) -> None:
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1",
                "--port", str(self.port), cwd=ROOT, env=self.env, stdout=log, stderr=log)

        async def up() -> bool:
            assert self.process is not None and self.process.returncode is None, (
                self.log.read_text()[-3000:])
            try:
                async with session.get(f"{self.url}/healthz") as response:
                    return response.status == 200
            except aiohttp.ClientError:
                return False
        await eventually(up, within=60, every=0.1)

    async def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        await self.process.wait()

    async def post(self, session: aiohttp.ClientSession, payload: dict[str, Any]) -> Any:
        body = json.dumps(payload).encode()
        async with session.post(f"{self.url}/webhook", data=body, headers={
                "X-Hub-Signature-256": sign(body), "Content-Type": "application/json"}) as r:
            await r.read()
            return r


@pytest.fixture
async def serve(database_url: str, graph: FakeGraph, tmp_path: Path) -> AsyncIterator[Serve]:
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING",
           "WHATSAPP_APP_SECRET": APP_SECRET, "WHATSAPP_VERIFY_TOKEN": "verify",
           "WHATSAPP_ACCESS_TOKEN": TOKEN, "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
           "WHATSAPP_API_BASE": graph.base_url,  # type: ignore[attr-defined]
           "WORKER_POLL_SECONDS": "0.2", "OUTBOX_BACKOFF_SECONDS": "0.05",
           "OUTBOX_SEND_TIMEOUT_SECONDS": "2", "OUTBOX_CONFIRM_SECONDS": "3"}
    app = Serve(env, port, tmp_path / "serve.log")
    yield app
    if app.process is not None and app.process.returncode is None:
        await app.kill()


async def test_kill_9_while_sending_never_sends_a_reply_twice(serve, graph, pool):
    kills, count = 4, 40
    graph.answer_delay = 0.3  # each send is accepted 0.3 s before the app hears of it
    graph.emit_statuses(f"{serve.url}/webhook", APP_SECRET, delay=0.5)  # after the kill
    async with aiohttp.ClientSession() as session:
        def post(payload: dict[str, Any]) -> Any:
            return serve.post(session, payload)

        await serve.start(session)
        posted = count // 2
        await _burst(post, posted)
        for _ in range(kills):
            posted = await _post_until_a_send_is_in_flight(post, graph, posted, count)
            await serve.kill()  # between Meta accepting a message and the app recording it
            await serve.start(session)
        await _burst(post, count, posted)
        await _all_answered_once(pool, graph, count)
    assert graph.duplicates() == 0
    assert graph.statuses_delivered >= kills  # statuses came in after restarts, as from Meta


class PrivateServer:
    """A throwaway PostgreSQL in a temporary directory (a unix socket, no TCP port), so restarting
    it disturbs nobody else's server."""

    def __init__(self, pgdata: Path) -> None:
        from pgserver import get_server  # type: ignore[attr-defined]

        self.server = get_server(pgdata, cleanup_mode="delete")
        self.url = str(self.server.get_uri())

    def restart(self) -> None:
        from pgserver._commands import pg_ctl  # type: ignore[import-not-found]

        pg_ctl(["-w", "-m", "fast", "-l", str(self.server.log), "restart"],
               pgdata=self.server.pgdata, user=self.server.system_user, timeout=60)

    def close(self) -> None:
        self.server.cleanup()


@pytest.fixture
def private_pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateServer]:
    import warnings

    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
        warnings.simplefilter("ignore")
        server = PrivateServer(tmp_path_factory.mktemp("pg") / "data")
    yield server
    server.close()


async def test_postgresql_restarts_under_a_burst_send_each_reply_once_and_listen_again(
        private_pg, graph, wa_settings, aiohttp_client):
    admin = await asyncpg.connect(private_pg.url)
    await admin.execute("CREATE DATABASE khaacho")
    await admin.close()
    url = _with_database(private_pg.url, "khaacho")
    conn = await db.connect(url)
    await migrate.migrate(conn)
    await conn.close()
    settings = wa_settings.model_copy(update={
        "database_url": url, "worker_poll_seconds": 0.5, "outbox_send_timeout_seconds": 2,
        "outbox_confirm_seconds": 3})
    client = await aiohttp_client(create_app(settings))
    graph.answer_delay = 0.3
    graph.emit_statuses(str(client.make_url("/webhook")), APP_SECRET, delay=0.1)
    pool = await db.create_pool(url, min_size=1, max_size=4)
    try:
        count = 40
        await _burst(lambda p: post_webhook(client, p), count)
        for _ in range(2):
            await eventually(lambda: graph.unanswered > 0, within=60, every=0.005)
            await asyncio.to_thread(private_pg.restart)  # sends in flight meanwhile
        await _all_answered_once(pool, graph, count)
        assert graph.duplicates() == 0

        async def listening_again() -> bool:
            async with pool.acquire() as conn:
                names = {r["application_name"] for r in await conn.fetch(
                    "SELECT application_name FROM pg_stat_activity WHERE datname = 'khaacho'")}
            return names >= {"khaacho listens on khaacho_inbound",
                             "khaacho listens on khaacho_outbox"}
        # Both workers listen on the restarted server again: wake-ups need no poll.
        await eventually(listening_again, within=30)
        before = len(graph.sent)
        await post_webhook(client, message_from(USERS[0], "wamid.AFTER", "help"))
        await eventually(lambda: len(graph.sent) == before + 1, within=30)
    finally:
        await pool.close()

