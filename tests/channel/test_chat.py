"""The terminal chat shows every reply as it is delivered, whoever handled the message: alone,
or next to a running server whose workers may take each message first."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import socket
import sys
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot import demo
from bot.app import build_workers, create_app, supervise
from bot.appkeys import POOL
from bot.chat import PROMPT, Screen
from tests.conftest import ROOT, eventually

SITA = "+9779820000002"  # a demo retailer who reads English
_NO_WHATSAPP = {name: "" for name in ("WHATSAPP_ACCESS_TOKEN", "WHATSAPP_PHONE_NUMBER_ID",
                                      "WHATSAPP_APP_SECRET", "WHATSAPP_VERIFY_TOKEN")}


def _env(database_url: str) -> dict[str, str]:
    return {**os.environ, **_NO_WHATSAPP, "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING",
            "WORKER_POLL_SECONDS": "0.2", "SIMULATOR_ENABLED": "false"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
async def server(database_url: str, pool) -> AsyncIterator[str]:  # type: ignore[no-untyped-def]
    """`khaacho serve` on the test database, with its inbox and sender running."""
    async with pool.acquire() as conn:
        await demo.load(conn)
    port = _free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "serve", "--port", str(port), cwd=ROOT,
        env=_env(database_url), stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"

    async def up() -> bool:
        with contextlib.suppress(aiohttp.ClientError):
            async with aiohttp.ClientSession() as session, session.get(url + "/healthz") as r:
                return r.status == 200
        return False

    try:
        await eventually(up, 60, 0.2)
        yield url
    finally:
        process.terminate()
        await process.wait()


class Terminal:
    """`khaacho chat` in a pipe: type a line, read what is shown until the next prompt."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self._buffer = ""

    async def until_prompt(self) -> str:
        assert self.process.stdout is not None
        while not self._buffer.endswith(PROMPT):
            chunk = await asyncio.wait_for(self.process.stdout.read(4096), 60)
            assert chunk, f"the chat ended: {self._buffer!r}"
            self._buffer += chunk.decode()
        shown, self._buffer = self._buffer[: -len(PROMPT)], ""
        return shown

    async def type(self, line: str) -> str:
        assert self.process.stdin is not None
        self.process.stdin.write(line.encode() + b"\n")
        await self.process.stdin.drain()
        return await self.until_prompt()


async def test_chat_next_to_a_running_server_shows_each_reply_after_its_own_message(
        database_url, server):
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "chat", "--as", SITA, cwd=ROOT, env=_env(database_url),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    terminal = Terminal(process)
    try:
        assert "Chatting as" in await terminal.until_prompt()
        first = await terminal.type("chini 1 bora")
        assert "Sugar — 1 bora (50 kg)" in first and "[1] Confirm" in first, first
        second = await terminal.type("chini 2 bora")
        assert "Sugar — 2 bora (100 kg)" in second and "[1] Confirm" in second, second
        # "1" taps Confirm of the latest draft, not of the one it replaced.
        placed = await terminal.type("1")
        assert "Order KH-000001 is placed" in placed, placed
        assert "older message" not in placed and "bora" not in placed, placed
        status = await terminal.type("status")
        assert "KH-000001" in status and "placed" not in status, status
    finally:
        assert process.stdin is not None
        process.stdin.close()
        _, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err


async def test_the_screen_shows_replies_another_process_delivered(settings, pool):
    """Only someone else's workers run here, as when the server takes every message first."""
    async with pool.acquire() as conn:
        await demo.load(conn)
    local = settings.model_copy(update={"whatsapp_verify_token": None,
                                        "whatsapp_app_secret": None})
    app = create_app(local, workers=False)
    from aiohttp import web

    runner = web.AppRunner(app)
    await runner.setup()
    inbox, sender = build_workers(app)
    workers = [asyncio.create_task(supervise("inbox", inbox.run)),
               asyncio.create_task(supervise("sender", sender.run))]
    out = io.StringIO()
    screen = Screen(pool, SITA.lstrip("+"), out, 0.05)
    try:
        from bot import local as channel

        async with pool.acquire() as conn:
            said = await channel.say(conn, SITA.lstrip("+"), "chini 1 bora")
        await screen.wait_for(said, timeout=30)
        assert "Sugar — 1 bora" in out.getvalue() and "[1] Confirm" in out.getvalue()
        confirm = screen.pick("1")
        assert confirm is not None and confirm.id.startswith("order:confirm:")
        assert screen.pick("4") is None and screen.pick("chini") is None
        async with app[POOL].acquire() as conn:
            said = await channel.say(conn, SITA.lstrip("+"), confirm.title, confirm)
        await screen.wait_for(said, timeout=30)
        assert "Order KH-000001 is placed" in out.getvalue()
        assert out.getvalue().count("Sugar — 1 bora") == 1  # each reply shown once
    finally:
        for task in workers:
            task.cancel()
        for task in workers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await runner.cleanup()
