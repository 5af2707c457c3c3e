"""Graceful shutdown of a real `khaacho serve` process (docs/operations.md: Deploys): on SIGTERM it
stops taking webhooks, finishes the messages in hand, leaves the rest in the database for the
next process, and exits 0 within SHUTDOWN_TIMEOUT_SECONDS.

The fake Graph API answers each send late, so the SIGTERM lands while sends are in flight; it
posts no status webhooks, so a send cut off unanswered would be sent again by the next process
and show up as a duplicate."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from tests.channel.people import message_from
from tests.channel.test_crash_recovery import USERS, Serve, _all_answered_once, _free_port
from tests.conftest import APP_SECRET, eventually
from tests.fakegraph import PHONE_NUMBER_ID, TOKEN, FakeGraph

pytestmark = pytest.mark.slow

BOUND = 10.0  # SHUTDOWN_TIMEOUT_SECONDS of the first test
SLACK = 5.0  # closing the pool and the interpreter, on a loaded machine


def _env(database_url: str, graph: FakeGraph, **extra: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": database_url, "LOG_LEVEL": "INFO",
            "WHATSAPP_APP_SECRET": APP_SECRET, "WHATSAPP_VERIFY_TOKEN": "verify",
            "WHATSAPP_ACCESS_TOKEN": TOKEN, "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
            "WHATSAPP_API_BASE": graph.base_url,  # type: ignore[attr-defined]
            "WORKER_POLL_SECONDS": "0.2", "OUTBOX_BACKOFF_SECONDS": "0.05",
            "OUTBOX_CONFIRM_SECONDS": "3", **extra}


@pytest.fixture
async def processes() -> AsyncIterator[list[Serve]]:
    started: list[Serve] = []
    yield started
    for app in started:
        if app.process is not None and app.process.returncode is None:
            await app.kill()


async def _terminate(app: Serve) -> tuple[int, float]:
    """SIGTERM; the exit code and how long the process took to exit."""
    assert app.process is not None
    started = time.monotonic()
    os.kill(app.process.pid, signal.SIGTERM)
    code = await asyncio.wait_for(app.process.wait(), BOUND + 30)
    return code, time.monotonic() - started


async def _counts(pool: asyncpg.Pool) -> asyncpg.Record:
    async with pool.acquire() as conn:
        return await conn.fetchrow(
            """SELECT (SELECT count(*) FROM inbound_messages WHERE handled_at IS NULL) AS todo,
                      (SELECT count(*) FROM outbox WHERE status = 'pending') AS unsent,
                      (SELECT count(*) FROM outbox
                        WHERE status = 'pending' AND sending_since IS NOT NULL) AS in_flight""")


async def test_sigterm_mid_burst_finishes_what_is_in_hand_and_the_next_process_the_rest(
        database_url, graph, pool, tmp_path: Path, processes):
    graph.answer_delay = 0.4  # every send is in flight for a while
    port = _free_port()
    env = _env(database_url, graph, SHUTDOWN_TIMEOUT_SECONDS=str(BOUND),
               OUTBOX_SEND_TIMEOUT_SECONDS="5", OUTBOX_CONCURRENCY="2")
    first = Serve(env, port, tmp_path / "first.log")
    processes.append(first)
    acknowledged: list[str] = []
    refused: list[dict[str, Any]] = []

    async def post(session: aiohttp.ClientSession, i: int) -> None:
        payload = message_from(USERS[i % len(USERS)], f"wamid.S{i:04d}", "help")
        try:
            response = await first.post(session, payload)
        except aiohttp.ClientError:  # the listener is closed: Meta would retry it later
            refused.append(payload)
            return
        if response.status == 200:
            acknowledged.append(f"wamid.S{i:04d}")
        else:
            refused.append(payload)

    async with aiohttp.ClientSession() as session:
        await first.start(session)
        for i in range(20):
            await post(session, i)
        await eventually(lambda: graph.unanswered > 0, within=60, every=0.005)

        async def keep_posting() -> None:  # webhooks keep arriving during the shutdown
            i = 20
            while len(refused) < 3 and i < 400:  # until some were refused, however slow
                await post(session, i)
                i += 1
                await asyncio.sleep(0.02)

        poster = asyncio.create_task(keep_posting())
        await asyncio.sleep(0.05)
        code, took = await _terminate(first)
        await poster

    assert code == 0, first.log.read_text()[-3000:]
    assert took < BOUND + SLACK
    # No send was cut off in flight, and something was left for the next process.
    left = await _counts(pool)
    assert left["in_flight"] == 0
    assert left["todo"] + left["unsent"] > 0
    # Every webhook answered 200 was stored; the others were not acknowledged.
    async with pool.acquire() as conn:
        stored = {r["wamid"] for r in await conn.fetch("SELECT wamid FROM inbound_messages")}
    assert set(acknowledged) <= stored
    assert refused, "the shutdown refused nothing: it did not land mid-burst"
    total = len(acknowledged) + len(refused)
    log = first.log.read_text()
    assert "stopping: finishing the messages in hand" in log and "workers stopped" in log
    assert "cut off" not in log

    second = Serve(env, port, tmp_path / "second.log")
    processes.append(second)
    async with aiohttp.ClientSession() as session:
        await second.start(session)
        for payload in refused:  # Meta delivers again what was not acknowledged
            response = await second.post(session, payload)
            assert response.status == 200
        await _all_answered_once(pool, graph, total)
    assert graph.duplicates() == 0


async def test_a_send_that_outlasts_the_bound_is_cut_off_and_the_process_still_exits(
        database_url, graph, pool, tmp_path: Path, processes):
    bound = 2.0
    graph.answer_late_next(1, 60)  # Meta takes the message and answers far too late
    env = _env(database_url, graph, SHUTDOWN_TIMEOUT_SECONDS=str(bound),
               OUTBOX_SEND_TIMEOUT_SECONDS="30")
    app = Serve(env, _free_port(), tmp_path / "serve.log")
    processes.append(app)
    async with aiohttp.ClientSession() as session:
        await app.start(session)
        response = await app.post(session, message_from(USERS[0], "wamid.LATE", "help"))
        assert response.status == 200
        await eventually(lambda: graph.unanswered > 0, within=60, every=0.005)
        code, took = await _terminate(app)
    assert code == 0
    assert bound <= took < bound + SLACK
    assert "sender still busy after 2s: cut off" in app.log.read_text()
    # The send cut off is in doubt, as after a crash: its status webhook or, failing that, the
    # confirmation wait settles it in the next process (bot/sender.py).
    assert (await _counts(pool))["in_flight"] == 1
