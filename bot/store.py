"""The channel's tables: inbound messages stored by wamid, delivery statuses, and the outbox."""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from bot.graph import OUTSIDE_WINDOW
from bot.whatsapp import STATUS_RANK, Inbound, StatusUpdate

INBOUND_CHANNEL = "khaacho_inbound"
OUTBOX_CHANNEL = "khaacho_outbox"


async def store_webhook(
    conn: asyncpg.Connection, messages: list[Inbound], statuses: list[StatusUpdate]
) -> int:
    """Store a webhook's messages and statuses in one transaction; return how many are new.

    A redelivered message (same wamid) is ignored; a late status never moves one backwards.
    """
    new = 0
    async with conn.transaction():
        for m in messages:
            row = await conn.fetchrow(
                """INSERT INTO inbound_messages
                       (wamid, sender, wa_id, wa_user_id, profile_name, kind, body, sent_at)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                   ON CONFLICT (wamid) DO NOTHING RETURNING id""",
                m.wamid, m.sender, m.wa_id, m.wa_user_id, m.profile_name, m.kind, m.body,
                m.sent_at,
            )
            new += row is not None
        for s in statuses:
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
                s.wamid, s.status, STATUS_RANK[s.status], s.recipient, s.error_code,
                s.error_title,
            )
            if changed and s.status == "failed":
                await delivery_failed(conn, s.wamid, s.error_code, s.error_title)
        if new:
            await conn.execute(f"NOTIFY {INBOUND_CHANNEL}")
    return new


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
) -> int:
    """Write a reply to the outbox inside the caller's transaction; it is sent after commit."""
    outbox_id: int = await conn.fetchval(
        """INSERT INTO outbox (recipient, payload, fallback, inbound_id)
           VALUES ($1, $2, $3, $4) RETURNING id""",
        recipient, payload, fallback, inbound_id,
    )
    await conn.execute(f"NOTIFY {OUTBOX_CHANNEL}")
    return outbox_id


def payload_text(payload: dict[str, Any]) -> str:
    """The words a payload shows a person, for logs, the terminal chat and the simulator."""
    kind = payload.get("type")
    if kind == "text":
        return str(payload["text"]["body"])
    if kind == "interactive":
        return str(payload["interactive"]["body"]["text"])
    return json.dumps(payload.get(kind or "", payload), ensure_ascii=False)
