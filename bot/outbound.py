"""The one way to tell people things: replies addressed to users are rendered in each recipient's
language and written to the outbox in the caller's transaction, so a message is queued exactly
when the state it reports commits. Chat dialogs, periodic jobs and the web all send through here;
the sender delivers the outbox afterwards.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import asyncpg

from bot import documents, outgoing
from bot.settings import Settings
from bot.store import Queued, enqueue_all, save_document
from ledger import users
from ledger.users import User
from locales import Language
from locales.render import Messages
from locales.replies import Reply


@dataclass(frozen=True)
class Address:
    """Someone who is not (yet) a user row: where to write and in which language."""

    address: str
    language: Language


class Outbound:
    def __init__(self, settings: Settings, messages: Messages) -> None:
        self._settings = settings
        self._messages = messages

    async def send(
        self, conn: asyncpg.Connection, replies: Iterable[Reply], *,
        sender: Address | None = None, inbound_id: int | None = None,
        known: Iterable[User] = (),
    ) -> list[int]:
        """Queue the replies (one round trip; a document is kept first, one more); one without a
        recipient goes to `sender`. Returns the outbox ids.

        A recipient's language is read now, so a switch made in the same transaction counts;
        `known` are users as the caller has them after such a switch (a turn's sender).
        """
        queued: list[Queued] = []
        # A turn's replies mostly go to one or two people.
        addresses = {user.id: Address(user.address, user.language) for user in known}
        for reply in replies:
            if reply.to_user_id is not None:
                to = addresses.get(reply.to_user_id) or await self._address(conn, reply.to_user_id)
                addresses[reply.to_user_id] = to
            elif sender is not None:
                to = sender
            else:
                raise ValueError(f"{reply.template}: a reply with no recipient and no sender")
            queued.append(await self._message(conn, reply, to, inbound_id))
        return await enqueue_all(conn, queued)

    @staticmethod
    async def _address(conn: asyncpg.Connection, user_id: int) -> Address:
        recipient = await users.by_id(conn, user_id)
        if recipient is None:
            raise LookupError(f"reply to unknown user {user_id}")
        return Address(recipient.address, recipient.language)

    async def _message(
        self, conn: asyncpg.Connection, reply: Reply, to: Address, inbound_id: int | None
    ) -> Queued:
        payload = outgoing.build(self._messages, to.language, reply)
        document_id = None
        if reply.attachment is not None:
            # The document is drawn in the recipient's language; the reply's words caption it.
            made = documents.render(reply.attachment, to.language, self._messages)
            document_id = await save_document(conn, made.filename, made.mime_type, made.content)
            payload = outgoing.document(payload, made.filename)
        template_lang = (
            self._settings.whatsapp_template_language_ne if to.language == "ne"
            else self._settings.whatsapp_template_language_en
        )
        fallback: dict[str, Any] | None
        if reply.whatsapp_template is not None:
            fallback = outgoing.named_template(self._messages, to.language, reply,
                                               reply.whatsapp_template, template_lang)
            if reply.window_closed:  # the text could not go: the template is the message
                payload, fallback = fallback, None
        else:
            fallback = outgoing.template_fallback(
                payload, self._settings.whatsapp_template_name, template_lang)
        return Queued(to.address, payload, fallback, inbound_id, document_id)
