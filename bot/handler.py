"""Handles one stored inbound message: find the user, ask the dialogs, queue the replies."""

from __future__ import annotations

import logging

import asyncpg

from bot import outgoing
from bot.settings import Settings
from bot.store import enqueue
from bot.whatsapp import user_input
from dialogs import router
from dialogs.io import Event, Reply
from ledger import users
from locales import Language, guess_language
from locales.render import Messages

log = logging.getLogger(__name__)


class Handler:
    def __init__(self, settings: Settings, messages: Messages) -> None:
        self.settings = settings
        self.messages = messages

    async def handle(self, conn: asyncpg.Connection, row: asyncpg.Record) -> None:
        """Runs inside the caller's transaction: replies commit with the state they report."""
        user = await users.by_address(conn, row["wa_id"], row["wa_user_id"])
        said = user_input(row["kind"], row["body"])
        event = Event(
            inbound_id=row["id"], address=row["sender"], wa_id=row["wa_id"],
            wa_user_id=row["wa_user_id"], profile_name=row["profile_name"], user=user,
            text=said.text, choice_id=said.choice_id, supported=said.supported,
            received_at=row["received_at"],
        )
        sender_language = user.language if user else guess_language(said.text)
        for reply in await router.respond(conn, event):
            await self.send(conn, reply, event.address, sender_language, row["id"])

    async def send(
        self, conn: asyncpg.Connection, reply: Reply, address: str, lang: Language,
        inbound_id: int | None = None,
    ) -> None:
        if reply.to_user_id is not None:
            recipient = await users.by_id(conn, reply.to_user_id)
            if recipient is None:
                raise LookupError(f"reply to unknown user {reply.to_user_id}")
            address, lang = recipient.address, recipient.language
        payload = outgoing.build(self.messages, lang, reply)
        template_lang = (
            self.settings.whatsapp_template_language_ne if lang == "ne"
            else self.settings.whatsapp_template_language_en
        )
        fallback = outgoing.template_fallback(
            payload, self.settings.whatsapp_template_name, template_lang
        )
        await enqueue(conn, address, payload, fallback=fallback, inbound_id=inbound_id)

    async def give_up(self, conn: asyncpg.Connection, row: asyncpg.Record) -> None:
        """After the last failed attempt: tell the user, so nothing is silently dropped."""
        user = await users.by_address(conn, row["wa_id"], row["wa_user_id"])
        lang = user.language if user else "ne"
        await self.send(conn, Reply("failed"), row["sender"], lang, row["id"])
