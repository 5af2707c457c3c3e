"""The channel's tables: inbound messages stored by wamid, delivery statuses, what the webhook
could not read (quarantined), and the outbox."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from bot import quarantine
from bot.graph import OUTSIDE_WINDOW
from bot.whatsapp import STATUS_RANK, Inbound, Quarantined, StatusUpdate

INBOUND_CHANNEL = "khaacho_inbound"
OUTBOX_CHANNEL = "khaacho_outbox"
# A reply was sent or failed for good: the terminal chat and the simulator show it at once.
DELIVERED_CHANNEL = "khaacho_delivered"


@dataclass(frozen=True)
class Stored:
    new: int  # messages not seen before
    quarantined: int  # items newly set aside


# What PostgreSQL (or asyncpg encoding a parameter) says when a value cannot be stored.
_UNSTORABLE = (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError, ValueError,
               OverflowError)


async def store_webhook(
    conn: asyncpg.Connection,
    messages: Sequence[Inbound],
    statuses: Sequence[StatusUpdate],
    quarantined: Sequence[Quarantined] = (),
) -> Stored:
    """Store a webhook's messages, statuses and quarantined items in one transaction.

    A redelivered message (same wamid) is ignored; a late status never moves one backwards. An
    item the database refuses after all (the reader should have set it aside) is quarantined
    instead of failing the others: the body is then stored again one item at a time.
    """
    try:
        async with conn.transaction():
            return await _store(conn, messages, statuses, quarantined, each=False)
    except _UNSTORABLE:
        async with conn.transaction():
            return await _store(conn, messages, statuses, quarantined, each=True)


async def _store(
    conn: asyncpg.Connection,
    messages: Sequence[Inbound],
    statuses: Sequence[StatusUpdate],
    quarantined: Sequence[Quarantined],
    *,
    each: bool,
) -> Stored:
    refused: list[Quarantined] = []

    async def attempt(kind: str, store: Callable[[Any], Awaitable[bool]], item: Any) -> bool:
        if not each:
            return await store(item)
        try:
            async with conn.transaction():  # a savepoint: only this item is undone
                return await store(item)
        except _UNSTORABLE as exc:
            refused.append(Quarantined(
                kind, f"database refused it: {type(exc).__name__}", _item_raw(item)))
            return False

    new = 0
    for m in messages:
        new += await attempt("message", lambda m: _store_message(conn, m), m)
    for s in statuses:
        await attempt("status", lambda s: _store_status(conn, s), s)
    kept = await quarantine.save(conn, [*quarantined, *refused])
    if new:
        await conn.execute(f"NOTIFY {INBOUND_CHANNEL}")
    return Stored(new=new, quarantined=kept)


async def _store_message(conn: asyncpg.Connection, m: Inbound) -> bool:
    row = await conn.fetchrow(
        """INSERT INTO inbound_messages
               (wamid, sender, wa_id, wa_user_id, profile_name, kind, body, sent_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (wamid) DO NOTHING RETURNING id""",
        m.wamid, m.sender, m.wa_id, m.wa_user_id, m.profile_name, m.kind, m.body, m.sent_at,
    )
    return row is not None


async def _store_status(conn: asyncpg.Connection, s: StatusUpdate) -> bool:
    changed = await conn.fetchval(
        """INSERT INTO message_statuses
               (wamid, status, rank, recipient, error_code, error_title)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (wamid) DO UPDATE SET
               status = EXCLUDED.status, rank = EXCLUDED.rank,
               error_code = EXCLUDED.error_code, error_title = EXCLUDED.error_title,
               updated_at = now()
           WHERE message_statuses.rank < EXCLUDED.rank
           RETURNING true""",
        s.wamid, s.status, STATUS_RANK[s.status], s.recipient, s.error_code, s.error_title,
    )
    if changed and s.status == "failed":
        await delivery_failed(conn, s.wamid, s.error_code, s.error_title)
    return bool(changed)


def _item_raw(item: Inbound | StatusUpdate) -> bytes:
    fields = dataclasses.asdict(item)
    return json.dumps(fields, ensure_ascii=True, default=str).encode("ascii")


async def delivery_failed(
    conn: asyncpg.Connection, wamid: str, code: int | None, title: str | None
) -> None:
    """WhatsApp accepted a message, then could not deliver it: the outbox row becomes failed, for
    operators to see; outside the 24-hour window the same words go again as a template."""
    row = await conn.fetchrow(
        """UPDATE outbox SET status = 'failed', last_error = $2
           WHERE wamid = $1 AND status = 'sent'
           RETURNING id, recipient, payload, fallback, inbound_id""",
        wamid, f"delivery failed: {code} {title or ''}".strip())
    if (row is not None and code == OUTSIDE_WINDOW and row["fallback"]
            and row["payload"].get("type") != "template"):
        await enqueue(conn, row["recipient"], row["fallback"], inbound_id=row["inbound_id"])


async def enqueue(
    conn: asyncpg.Connection,
    recipient: str,
    payload: dict[str, Any],
    *,
    fallback: dict[str, Any] | None = None,
    inbound_id: int | None = None,
    document_id: int | None = None,
) -> int:
    """Write a reply to the outbox inside the caller's transaction; it is sent after commit.
    A document message names its file (`save_document`), uploaded when it is sent."""
    outbox_id: int = await conn.fetchval(
        """INSERT INTO outbox (recipient, payload, fallback, inbound_id, document_id)
           VALUES ($1, $2, $3, $4, $5) RETURNING id""",
        recipient, payload, fallback, inbound_id, document_id,
    )
    await conn.execute(f"NOTIFY {OUTBOX_CHANNEL}")
    return outbox_id


async def save_document(
    conn: asyncpg.Connection, filename: str, mime_type: str, content: bytes
) -> int:
    """Keep a document's bytes for the outbox row that sends it (same transaction)."""
    document_id: int = await conn.fetchval(
        """INSERT INTO outbox_documents (filename, mime_type, content) VALUES ($1, $2, $3)
           RETURNING id""", filename, mime_type, content)
    return document_id


def payload_text(payload: dict[str, Any]) -> str:
    """The words a payload shows a person, for logs, the terminal chat and the simulator."""
    kind = payload.get("type")
    if kind == "text":
        return str(payload["text"]["body"])
    if kind == "interactive":
        return str(payload["interactive"]["body"]["text"])
    if kind == "document":
        document = payload["document"]
        return f"[{document.get('filename', 'document')}] {document.get('caption', '')}".strip()
    return json.dumps(payload.get(kind or "", payload), ensure_ascii=False)
