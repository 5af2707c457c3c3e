"""The notice a flooding sender gets, once per flood, when the inbox starts skipping their
messages (bot/inbox.py decides who floods; this only says so, in the sender's language)."""

from __future__ import annotations

import math

import asyncpg

from bot import outgoing
from bot.store import enqueue
from bot.whatsapp import user_input
from dialogs.io import Reply
from ledger import users
from locales import guess_language
from locales.render import Messages


async def notify_throttled(
    conn: asyncpg.Connection, row: asyncpg.Record, messages: Messages, window_seconds: float
) -> None:
    """Queue the polite "you are sending too fast" notice in the caller's transaction."""
    user = await users.by_address(conn, row["wa_id"], row["wa_user_id"])
    lang = user.language if user else guess_language(user_input(row["kind"], row["body"]).text)
    minutes = max(1, math.ceil(window_seconds / 60))
    payload = outgoing.build(messages, lang, Reply("throttled", {"minutes": minutes}))
    await enqueue(conn, row["sender"], payload, inbound_id=row["id"])
