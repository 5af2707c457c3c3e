"""The local channel: a terminal chat or the web simulator talks to the bot through the same
pipeline as WhatsApp (store → handle → outbox → deliver), with no WhatsApp account.

What a person sees is read back from the tables, whoever handled and delivered it (this process
or a server running next to it): their own messages from `inbound_messages`, the bot's replies
from the outbox once delivered.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import asyncpg

from bot.store import payload_text, store_webhook
from bot.whatsapp import MAX_TEXT, Inbound, user_input

MAX_SHOWN = 100  # items read per call; a client asks again from where it stopped


@dataclass(frozen=True)
class Choice:
    id: str
    title: str


@dataclass(frozen=True)
class Shown:
    """One reply as a person sees it: words, and the buttons or list rows they can tap."""

    outbox_id: int
    text: str
    choices: tuple[Choice, ...]
    failed: bool


@dataclass(frozen=True)
class Said:
    """One message of a conversation, from either side, in the order a chat app shows them."""

    side: Literal["me", "bot"]
    id: int  # inbound_messages.id for "me", outbox.id for "bot": each side counts on its own
    at: datetime
    text: str
    choices: tuple[Choice, ...] = ()
    failed: bool = False


def inbound(wa_id: str, text: str, choice: Choice | None = None) -> Inbound:
    """A message as the webhook would have stored it; a tapped choice is an interactive reply."""
    wamid = f"local.{uuid.uuid4().hex}"
    now = datetime.now(UTC)
    if choice is None:
        body: dict[str, Any] = {"id": wamid, "from": wa_id, "type": "text",
                                "text": {"body": text[:MAX_TEXT]}}
        kind = "text"
    else:
        body = {"id": wamid, "from": wa_id, "type": "interactive",
                "interactive": {"type": "button_reply",
                                "button_reply": {"id": choice.id, "title": choice.title}}}
        kind = "interactive"
    return Inbound(wamid=wamid, wa_id=wa_id, wa_user_id=None, profile_name=None, kind=kind,
                   body=body, sent_at=now)


async def say(
    conn: asyncpg.Connection, wa_id: str, text: str, choice: Choice | None = None
) -> int:
    """Store what the person said, as the webhook would; returns its inbound message id."""
    message = inbound(wa_id, text, choice)
    await store_webhook(conn, [message], [])
    found: int = await conn.fetchval(
        "SELECT id FROM inbound_messages WHERE wamid = $1", message.wamid)
    return found


def choices_of(payload: dict[str, Any]) -> tuple[Choice, ...]:
    interactive = payload.get("interactive") or {}
    action = interactive.get("action") or {}
    if interactive.get("type") == "button":
        return tuple(Choice(b["reply"]["id"], b["reply"]["title"]) for b in action["buttons"])
    if interactive.get("type") == "list":
        return tuple(Choice(r["id"], r["title"])
                     for section in action["sections"] for r in section["rows"])
    return ()


async def replies(conn: asyncpg.Connection, wa_id: str, after_id: int) -> list[Shown]:
    """Replies to `wa_id` that have been delivered (or failed for good) since `after_id`."""
    rows = await conn.fetch(
        """SELECT id, payload, status FROM outbox
           WHERE recipient = $1 AND id > $2 AND status <> 'pending' ORDER BY id LIMIT $3""",
        wa_id, after_id, MAX_SHOWN)
    return [Shown(r["id"], payload_text(r["payload"]), choices_of(r["payload"]),
                  r["status"] == "failed") for r in rows]


async def answered(conn: asyncpg.Connection, wa_id: str, inbound_id: int) -> bool:
    """Whether that message is handled and every reply it owes `wa_id` is delivered (or failed
    for good), by whichever process did it."""
    return bool(await conn.fetchval(
        """SELECT m.handled_at IS NOT NULL AND NOT EXISTS (
                  SELECT 1 FROM outbox o WHERE o.inbound_id = m.id AND o.recipient = $2
                                           AND o.status = 'pending')
           FROM inbound_messages m WHERE m.id = $1""", inbound_id, wa_id))


async def conversation(
    conn: asyncpg.Connection, wa_id: str, after_in: int = 0, after_out: int = 0,
    limit: int = MAX_SHOWN,
) -> list[Said]:
    """Both sides of the conversation with `wa_id` after the given ids, oldest first: the
    person's messages as stored, the replies once delivered. The earliest `limit` of them, so
    asking again after the last ids returned misses nothing."""
    limit = max(1, min(limit, MAX_SHOWN))
    mine = await conn.fetch(
        """SELECT id, received_at AS at, kind, body FROM inbound_messages
           WHERE sender = $1 AND id > $2 ORDER BY id LIMIT $3""", wa_id, after_in, limit)
    theirs = await conn.fetch(
        """SELECT id, created_at AS at, payload, status FROM outbox
           WHERE recipient = $1 AND id > $2 AND status <> 'pending' ORDER BY id LIMIT $3""",
        wa_id, after_out, limit)
    said = [Said("me", r["id"], r["at"], _typed(r["kind"], r["body"])) for r in mine]
    said += [Said("bot", r["id"], r["at"], payload_text(r["payload"]), choices_of(r["payload"]),
                  r["status"] == "failed") for r in theirs]
    # A message is stored before anything answers it, so time orders the two sides; at the same
    # instant the person's message comes first.
    said.sort(key=lambda s: (s.at, s.side != "me", s.id))
    return said[:limit]


async def recent(conn: asyncpg.Connection, wa_id: str, count: int = 6) -> list[Said]:
    """The last few messages of both sides, oldest first, as a chat app shows on opening."""
    first_in = await conn.fetchval(
        """SELECT coalesce(min(id), 0) - 1 FROM (SELECT id FROM inbound_messages
               WHERE sender = $1 ORDER BY id DESC LIMIT $2) AS last""", wa_id, count)
    first_out = await conn.fetchval(
        """SELECT coalesce(min(id), 0) - 1 FROM (SELECT id FROM outbox
               WHERE recipient = $1 AND status <> 'pending' ORDER BY id DESC LIMIT $2) AS last""",
        wa_id, count)
    return (await conversation(conn, wa_id, int(first_in), int(first_out), 2 * count))[-count:]


def _typed(kind: str, body: dict[str, Any]) -> str:
    said = user_input(kind, body)
    return said.text if said.supported else f"[{kind}]"
