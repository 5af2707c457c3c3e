"""`khaacho chat --as PHONE`: a terminal chat with the bot through the local channel."""

from __future__ import annotations

import asyncio
import sys

from aiohttp import web

from bot import local
from bot.app import build_workers, create_app
from bot.appkeys import POOL
from bot.settings import Settings

_PROMPT = "you> "


def _show(reply: local.Shown) -> None:
    print(("bot (FAILED)> " if reply.failed else "bot> ") + reply.text.replace("\n", "\n     "))
    for number, choice in enumerate(reply.choices, 1):
        print(f"     [{number}] {choice.title}")


async def chat(settings: Settings, phone: str) -> int:
    wa_id = phone.lstrip("+")
    app = create_app(settings, workers=False)
    runner = web.AppRunner(app)
    await runner.setup()  # runs cleanup_ctx: pool and HTTP session, no listening socket
    try:
        inbox, sender = build_workers(app)
        pool = app[POOL]
        print(f"Chatting as {phone}. Type a message; a number taps a button; Ctrl-D quits.")
        seen = 0
        choices: tuple[local.Choice, ...] = ()
        async with pool.acquire() as conn:
            earlier = await local.recent(conn, wa_id)
        if earlier:
            print("— earlier messages —")
        for reply in earlier:
            _show(reply)
            seen, choices = reply.outbox_id, reply.choices or choices
        loop = asyncio.get_running_loop()
        while True:
            line = await loop.run_in_executor(None, _read_line)
            if line is None:
                return 0
            text = line.strip()
            if not text:
                continue
            picked = None
            if text.isdigit() and 1 <= int(text) <= len(choices):
                picked = choices[int(text) - 1]
            async with pool.acquire() as conn:
                await local.say(conn, wa_id, text, picked)
            await inbox.drain()
            await sender.drain()
            async with pool.acquire() as conn:
                shown = await local.replies(conn, wa_id, seen)
            for reply in shown:
                _show(reply)
                seen, choices = reply.outbox_id, reply.choices or choices
    finally:
        await runner.cleanup()


def _read_line() -> str | None:
    try:
        return input(_PROMPT)
    except EOFError:
        return None


def run(settings: Settings, phone: str) -> int:
    try:
        return asyncio.run(chat(settings, phone))
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 0
