"""Handles one stored inbound message: find the user, ask the dialogs, queue the replies."""

from __future__ import annotations

import logging
import math

import asyncpg

from bot.outbound import Address, Outbound
from bot.whatsapp import user_input
from dialogs import router
from dialogs.io import Event, Policy
from ledger import users
from locales import guess_language
from locales.replies import Reply

log = logging.getLogger(__name__)


class Handler:
    def __init__(self, outbound: Outbound, policy: Policy) -> None:
        self.outbound = outbound
        self.policy = policy

    async def handle(self, conn: asyncpg.Connection, row: asyncpg.Record) -> None:
        """Runs inside the caller's transaction: replies commit with the state they report."""
        user = await users.by_address(conn, row["wa_id"], row["wa_user_id"])
        said = user_input(row["kind"], row["body"])
        event = Event(
            inbound_id=row["id"], address=row["sender"], wa_id=row["wa_id"],
            wa_user_id=row["wa_user_id"], profile_name=row["profile_name"], user=user,
            text=said.text, choice_id=said.choice_id, supported=said.supported,
            received_at=row["received_at"], media_id=said.media_id,
        )
        sender = Address(row["sender"], user.language if user else guess_language(said.text))
        answer = await router.respond(conn, event, self.policy)
        await self.outbound.send(conn, answer.replies, sender=sender, inbound_id=row["id"],
                                 known=[answer.sender] if answer.sender else [])

    async def throttled(
        self, conn: asyncpg.Connection, row: asyncpg.Record, window_seconds: float
    ) -> None:
        """A number sending too fast (bot/inbox.py decides who floods) is told once per flood,
        in their language, that their messages wait."""
        user = await users.by_address(conn, row["wa_id"], row["wa_user_id"])
        lang = user.language if user else guess_language(user_input(row["kind"], row["body"]).text)
        reply = Reply("throttled", {"minutes": max(1, math.ceil(window_seconds / 60))})
        await self.outbound.send(conn, [reply], sender=Address(row["sender"], lang),
                                 inbound_id=row["id"])

    async def give_up(self, conn: asyncpg.Connection, row: asyncpg.Record) -> None:
        """After the last failed attempt: tell the user, so nothing is silently dropped."""
        user = await users.by_address(conn, row["wa_id"], row["wa_user_id"])
        sender = Address(row["sender"], user.language if user else "ne")
        await self.outbound.send(conn, [Reply("failed")], sender=sender, inbound_id=row["id"])
