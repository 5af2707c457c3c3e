"""`khaacho chat --as PHONE`: a terminal chat with the bot through the local channel.

Every reply is shown as it is delivered, whoever handled the message: this process runs an inbox
and a sender of its own (so the chat works alone), and a server running on the same database may
take a message first; either way the reply is read back from the outbox, after the last one shown,
when the sender announces a delivery. After each line the chat waits until that message is
answered, so the next prompt comes after its replies; a typed number taps a button of the latest
reply that has buttons.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from typing import TextIO

import asyncpg
from aiohttp import web

from bot import local
from bot.app import build_workers, create_app, supervise
from bot.appkeys import POOL
from bot.settings import Settings
from bot.store import DELIVERED_CHANNEL
from bot.wakeup import drain_on_notify

with contextlib.suppress(ImportError):  # line editing for input(), where the platform has it
    import readline  # noqa: F401

PROMPT = "you> "
# How long a line waits for its answer before the prompt comes back anyway (a later reply is
# still shown when it arrives).
REPLY_WAIT_SECONDS = 30.0


class Screen:
    """What this terminal has shown: replies up to `seen`, and the buttons a number taps."""

    def __init__(self, pool: asyncpg.Pool, wa_id: str, out: TextIO, poll_seconds: float) -> None:
        self._pool = pool
        self._wa_id = wa_id
        self._out = out
        self._poll = poll_seconds
        self._lock = asyncio.Lock()
        self._shown = asyncio.Event()
        self.seen = 0
        self.choices: tuple[local.Choice, ...] = ()
        self.reading = False  # the prompt is on screen, waiting for the person to type

    async def open(self) -> None:
        """Show the last few messages of both sides, as a chat app does on opening."""
        async with self._pool.acquire() as conn:
            latest = await conn.fetchval(
                "SELECT coalesce(max(id), 0) FROM outbox WHERE recipient = $1 "
                "AND status <> 'pending'", self._wa_id)
            earlier = await local.recent(conn, self._wa_id)
        self.seen = int(latest)  # older replies are history; `_show` moves past newer ones
        if earlier:
            self._write("— earlier messages —")
        for said in earlier:
            if said.side == "me":
                self._write(PROMPT + said.text)
            else:
                self._show(local.Shown(said.id, said.text, said.choices, said.failed))

    async def catch_up(self) -> None:
        """Show every reply delivered since the last one shown, in order, once."""
        async with self._lock:
            async with self._pool.acquire() as conn:
                shown = await local.replies(conn, self._wa_id, self.seen)
            for reply in shown:
                self._show(reply)
            if shown:
                self._shown.set()

    async def wait_for(self, inbound_id: int, timeout: float = REPLY_WAIT_SECONDS) -> None:
        """Show replies until that message is answered (or `timeout` passes)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            self._shown.clear()
            await self.catch_up()
            async with self._pool.acquire() as conn:
                if await local.answered(conn, self._wa_id, inbound_id):
                    break
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._shown.wait(), min(remaining, self._poll))
        await self.catch_up()  # what was delivered between the last look and the answer

    def pick(self, text: str) -> local.Choice | None:
        """A typed number taps that button of the latest reply that has buttons."""
        if text.isdigit() and 1 <= int(text) <= len(self.choices):
            return self.choices[int(text) - 1]
        return None

    def _show(self, reply: local.Shown) -> None:
        lines = [("bot (FAILED)> " if reply.failed else "bot> ")
                 + reply.text.replace("\n", "\n     ")]
        lines += [f"     [{number}] {choice.title}"
                  for number, choice in enumerate(reply.choices, 1)]
        self._write("\n".join(lines))
        self.seen = max(self.seen, reply.outbox_id)
        self.choices = reply.choices or self.choices

    def _write(self, text: str) -> None:
        if self.reading and self._out.isatty():
            # A reply while the person types: put it above the prompt, then the prompt and what
            # they have typed so far again.
            self._out.write(f"\r\x1b[K{text}\n{PROMPT}{_typed_so_far()}")
        else:
            self._out.write(text + "\n")
        self._out.flush()


async def chat(settings: Settings, phone: str) -> int:
    wa_id = phone.lstrip("+")
    app = create_app(settings, workers=False)
    runner = web.AppRunner(app)
    await runner.setup()  # runs cleanup_ctx: pool and HTTP session, no listening socket
    tasks: list[asyncio.Task[None]] = []
    try:
        inbox, sender = build_workers(app)
        pool = app[POOL]
        screen = Screen(pool, wa_id, sys.stdout, settings.worker_poll_seconds)
        print(f"Chatting as {phone}. Type a message; a number taps a button; Ctrl-D quits.")
        await screen.open()

        async def display() -> None:
            await drain_on_notify(pool, DELIVERED_CHANNEL, screen.catch_up,
                                  settings.worker_poll_seconds)

        tasks = [asyncio.create_task(supervise("chat inbox", inbox.run)),
                 asyncio.create_task(supervise("chat sender", sender.run)),
                 asyncio.create_task(supervise("chat display", display))]
        loop = asyncio.get_running_loop()
        while True:
            screen.reading = True
            line = await loop.run_in_executor(None, _read_line)
            screen.reading = False
            if line is None:
                return 0
            text = line.strip()
            if not text:
                continue
            async with pool.acquire() as conn:
                inbound_id = await local.say(conn, wa_id, text, screen.pick(text))
            await screen.wait_for(inbound_id)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await runner.cleanup()


def _typed_so_far() -> str:
    try:
        import readline
    except ImportError:
        return ""
    return readline.get_line_buffer()


def _read_line() -> str | None:
    try:
        return input(PROMPT)
    except EOFError:
        return None


def run(settings: Settings, phone: str) -> int:
    try:
        return asyncio.run(chat(settings, phone))
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 0
