"""The local channel: a terminal chat or the web simulator talks to the bot through the same
pipeline as WhatsApp (store → handle → outbox → deliver), with no WhatsApp account."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from bot.store import payload_text, store_webhook
from bot.whatsapp import MAX_TEXT, Inbound


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
) -> None:
    await store_webhook(conn, [inbound(wa_id, text, choice)], [])


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
           WHERE recipient = $1 AND id > $2 AND status <> 'pending' ORDER BY id LIMIT 100""",
        wa_id, after_id)
    return [Shown(r["id"], payload_text(r["payload"]), choices_of(r["payload"]),
                  r["status"] == "failed") for r in rows]


async def recent(conn: asyncpg.Connection, wa_id: str, count: int = 5) -> list[Shown]:
    """The last few replies to `wa_id`, oldest first, as a chat app shows on opening."""
    start = await conn.fetchval(
        """SELECT coalesce(min(id), 0) - 1 FROM (SELECT id FROM outbox
               WHERE recipient = $1 AND status <> 'pending' ORDER BY id DESC LIMIT $2) AS last""",
        wa_id, count)
    return await replies(conn, wa_id, int(start))
