"""Periodic work of the dialogs, run by every app process (rows are claimed with SKIP LOCKED):
drafts left unconfirmed expire with a notice; vendors who do not answer lose the offer to the
next vendor, and everyone involved is told."""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime, timedelta

import asyncpg

from dialogs import notify, understanding
from dialogs.io import Reply
from ledger import assignment, orders, users
from ledger.errors import LedgerError

log = logging.getLogger(__name__)

BATCH = 100


async def tick(
    conn: asyncpg.Connection, now: datetime, *, draft_ttl: timedelta, offer_timeout: timedelta
) -> list[Reply]:
    """One round of the periodic jobs; the caller holds the transaction and sends the replies
    (each is addressed to a user)."""
    replies = await expire_conversations(conn, now, draft_ttl)
    # Drafts no conversation points at any more (the retailer was blocked, say): no notice.
    await orders.expire_drafts(conn, now, 2 * draft_ttl, limit=BATCH)
    parser = await understanding.parser(conn)
    for outcome in await assignment.expire_offers(conn, now, offer_timeout, limit=BATCH):
        replies.extend(await notify.outcome(conn, parser, outcome, tell_retailer=True))
    assert all(r.to_user_id is not None for r in replies)
    return replies


async def expire_conversations(conn: asyncpg.Connection, now: datetime,
                               ttl: timedelta) -> list[Reply]:
    """Retailers in the middle of an order for longer than `ttl`: cancel the draft, say so."""
    rows = await conn.fetch(
        """SELECT user_id, data FROM conversations
           WHERE dialog = 'retailer' AND state <> 'idle' AND updated_at <= $1
           ORDER BY updated_at LIMIT $2 FOR UPDATE SKIP LOCKED""",
        now - ttl, BATCH,
    )
    replies = []
    for row in rows:
        data = row["data"] if isinstance(row["data"], dict) else {}
        order_id = data.get("order_id")
        retailer = await users.by_id(conn, row["user_id"])
        if order_id is not None and retailer is not None:
            # Only a draft expires: an order confirmed meanwhile goes on; a vanished one is done.
            with contextlib.suppress(LedgerError):
                if (await orders.get(conn, order_id)).status == "DRAFT":
                    await orders.cancel(conn, order_id, retailer, "draft expired", now=now)
        await conn.execute(
            """UPDATE conversations SET state = 'idle', data = '{}', version = version + 1,
                   updated_at = now() WHERE user_id = $1""", row["user_id"])
        replies.append(Reply("draft_expired", to_user_id=row["user_id"]))
    if replies:
        log.info("expired %d unconfirmed drafts", len(replies))
    return replies
