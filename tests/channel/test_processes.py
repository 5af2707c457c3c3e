"""More than one process on one database: `khaacho serve --workers N` (children sharing the port,
SIGTERM passed on), roles (web only, workers only), and work split with nothing done twice: two
senders on one outbox, two rounds of jobs and reminders at the same moment."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import aiohttp
import pytest

from bot.app import job_timing, run_jobs
from bot.outbound import Outbound
from bot.sender import Sender
from bot.store import enqueue
from ledger import db
from locales.render import Messages
from tests.channel.people import message_from, phones
from tests.channel.test_chat import _free_port
from tests.conftest import APP_SECRET, eventually, sign
from tests.fakegraph import PHONE_NUMBER_ID, TOKEN, FakeGraph
from tests.ledger.conftest import build_world, line
from tests.ledger.helpers import accepted_order

ROOT = Path(__file__).resolve().parents[2]
NPT = timezone(timedelta(hours=5, minutes=45))


async def test_two_senders_on_one_outbox_send_each_reply_once_and_in_order(
        wa_settings, graph, database_url, pool):  # type: ignore[no-untyped-def]
    """Two sender processes (each its own pool and rate) drain one outbox between them."""
    people = phones(40)
    async with pool.acquire() as conn, conn.transaction():
        for k in range(5):
            for person in people:
                await enqueue(conn, person, {"type": "text", "text": {"body": f"{person} {k}"}})
    from bot.graph import GraphClient

    pools = [await db.create_pool(database_url, min_size=1, max_size=8) for _ in range(2)]
    try:
        async with aiohttp.ClientSession() as http:
            senders = [Sender(p, GraphClient(http, graph.base_url, PHONE_NUMBER_ID, TOKEN),
                              rate_per_second=1000, max_attempts=5, backoff_seconds=0.01,
                              poll_seconds=0.05, concurrency=4) for p in pools]
            sent = await asyncio.gather(*(s.drain() for s in senders))
    finally:
        for p in pools:
            await p.close()
    assert sum(sent) == 200 and all(n > 0 for n in sent), sent  # both took a share
    assert len(graph.sent) == 200 and graph.duplicates() == 0
    for person in people:  # each recipient's replies in the order they were queued
        assert graph.texts_to(person) == [f"{person} {k}" for k in range(5)]
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM outbox WHERE status = 'sent'") == 200


async def test_two_processes_running_the_reminder_round_at_once_remind_each_retailer_once(
        settings, database_url, pool):  # type: ignore[no-untyped-def]
    async with pool.acquire() as conn:
        world = await build_world(conn)
        await accepted_order(conn, world.retailer, world.vendor, [line("TEL", 1)],
                             now=datetime(2026, 11, 10, 11, 0, tzinfo=NPT))
    # Operator alerts off: the round runs days ahead of the clock the outbox rows carry, so its
    # "oldest unsent" would be days old and alert (tests/channel/test_alerts.py has those).
    timing = job_timing(settings.model_copy(update={"reminders_enabled": True,
                                                    "operator_alerts_enabled": False}))
    at = datetime(2026, 12, 7, 10, 0, tzinfo=NPT)
    pools = [await db.create_pool(database_url, min_size=1, max_size=4) for _ in range(2)]
    try:
        for _ in range(3):  # the same moment, again and again: nothing more is sent
            await asyncio.gather(*(run_jobs(p, Outbound(settings, Messages()), timing, at)
                                   for p in pools))
    finally:
        for p in pools:
            await p.close()
    async with pool.acquire() as conn:
        sent = await conn.fetch(
            "SELECT kind, user_id FROM reminder_log WHERE outcome = 'sent' ORDER BY kind")
        queued = await conn.fetchval("SELECT count(*) FROM outbox")
    # The retailer's reminder and the vendor's morning digest, once each.
    assert [(r["kind"], r["user_id"]) for r in sent] == [
        ("digest", world.vendor.id), ("reminder", world.retailer.id)]
    assert queued == 2


def _env(database_url: str, graph: FakeGraph) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING",
            "WHATSAPP_APP_SECRET": APP_SECRET, "WHATSAPP_VERIFY_TOKEN": "verify",
            "WHATSAPP_ACCESS_TOKEN": TOKEN, "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
            "WHATSAPP_API_BASE": graph.base_url,  # type: ignore[attr-defined]
            "WORKER_POLL_SECONDS": "0.2", "SIMULATOR_ENABLED": "false",
            "OUTBOX_RATE_PER_SECOND": "200"}


class Served:
    def __init__(self, process: asyncio.subprocess.Process, port: int) -> None:
        self.process, self.url = process, f"http://127.0.0.1:{port}"

    async def post(self, session: aiohttp.ClientSession, payload: dict[str, object]) -> int:
        body = json.dumps(payload).encode()
        async with session.post(f"{self.url}/webhook", data=body, headers={
                "X-Hub-Signature-256": sign(body), "Content-Type": "application/json"}) as r:
            return r.status


@pytest.fixture
async def serve(database_url, graph, tmp_path):  # type: ignore[no-untyped-def]
    """Start `khaacho serve` with the given arguments; everything started is stopped after."""
    started: list[asyncio.subprocess.Process] = []

    async def start(*args: str, port: int | None = None) -> Served:
        port = port or _free_port()
        with (tmp_path / f"serve-{len(started)}.log").open("ab") as log:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1",
                "--port", str(port), *args, cwd=ROOT, env=_env(database_url, graph),
                stdout=log, stderr=log)
        started.append(process)
        served = Served(process, port)
        async with aiohttp.ClientSession() as session:
            async def up() -> bool:
                assert process.returncode is None
                try:
                    async with session.get(f"{served.url}/readyz") as response:
                        return response.status == 200
                except aiohttp.ClientError:
                    return False
            await eventually(up, within=60, every=0.1)
        return served

    yield start
    for process in started:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)  # the parent stops its children
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()


async def _listeners(pool, channel: str) -> set[int]:  # type: ignore[no-untyped-def]
    async with pool.acquire() as conn:
        return {r["pid"] for r in await conn.fetch(
            """SELECT pid FROM pg_stat_activity WHERE datname = current_database()
                 AND application_name = $1""", f"khaacho listens on {channel}")}


def _children(parent: int) -> list[int]:
    """The server processes `parent` started (not multiprocessing's resource tracker)."""
    listing = Path(f"/proc/{parent}/task/{parent}/children")
    pids = [int(pid) for pid in listing.read_text().split()]
    return [pid for pid in pids
            if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]


async def test_serve_with_two_workers_shares_the_port_and_stops_on_sigterm(
        serve, graph, pool):  # type: ignore[no-untyped-def]
    served = await serve("--workers", "2")
    await eventually(lambda: _children(served.process.pid), within=10)
    # Each child listens for inbound messages on its own connection.
    await eventually(lambda: _two(pool, "khaacho_inbound"), within=30, every=0.2)
    people = phones(20)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:
        for i, person in enumerate(people):
            # A new connection each time: the kernel spreads them over both processes.
            assert await served.post(session, message_from(person, f"wamid.P{i}", "help")) == 200
    await eventually(lambda: all(graph.texts_to(p) for p in people), within=60, every=0.1)
    assert graph.duplicates() == 0
    children = _children(served.process.pid)
    assert len(children) == 2
    served.process.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(served.process.wait(), 60) == 0
    assert not [pid for pid in children if _alive(pid)]  # the children stopped too


def _nice(pid: int) -> int:
    # /proc/PID/stat: the 19th field (after the command, which is in parentheses) is nice.
    return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[16])


def _alive(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "zombie" not in status.read_text()


async def _two(pool, channel: str) -> bool:  # type: ignore[no-untyped-def]
    return len(await _listeners(pool, channel)) == 2


async def test_a_web_process_stores_and_a_workers_process_handles(
        serve, graph, pool):  # type: ignore[no-untyped-def]
    web = await serve("--role", "web")
    async with aiohttp.ClientSession() as session:
        assert await web.post(session, message_from("9779811111111", "wamid.W1", "help")) == 200
        await asyncio.sleep(1.0)  # a web process handles nothing, however long it is given
        async with pool.acquire() as conn:
            assert await conn.fetchval(
                "SELECT count(*) FROM inbound_messages WHERE handled_at IS NULL") == 1
        assert not await _listeners(pool, "khaacho_inbound")
        workers = await serve("--role", "workers")
        await eventually(lambda: graph.texts_to("9779811111111"), within=30, every=0.1)
        # WORKERS_NICE (5): the handling runs at a lower CPU priority than the webhook.
        assert _nice(workers.process.pid) == _nice(web.process.pid) + 5
        async with session.get(f"{workers.url}/webhook") as response:
            assert response.status == 404  # no webhook, pages or API on a workers process
        async with session.get(f"{workers.url}/healthz") as response:
            assert response.status == 200
    assert graph.duplicates() == 0

