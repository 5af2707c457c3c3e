"""Vendor assignment: offer a confirmed order to the best vendor, pass it on when that vendor
rejects it or does not answer in time, and say so when nobody can take it.

This module never sends messages: it returns Outcomes and the bot layer turns them into WhatsApp
messages (the offer to the vendor; "no vendor" to the retailer and the operators).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import asyncpg

from ledger import lifecycle, ranking
from ledger.order_repo import Order, get

OutcomeKind = Literal["offered", "no_vendor"]

# Each vendor is offered an order once; bounded so one order cannot circle forever.
MAX_OFFERS_PER_ORDER = 10
MAX_EXPIRE_BATCH = 500


@dataclass(frozen=True)
class Outcome:
    kind: OutcomeKind
    order: Order
    vendor_id: int | None           # who is offered the order now (kind "offered")
    previous_vendor_id: int | None  # who had it before and lost it (rejected or timed out)
    reason: str


async def offer_next(
    conn: asyncpg.Connection,
    order_id: int,
    *,
    previous_vendor_id: int | None = None,
    now: datetime | None = None,
) -> Outcome:
    """Offer a PENDING order (locked by the caller) to the best vendor not yet asked.

    When no vendor is left the order becomes REJECTED and the outcome says "no_vendor".
    """
    row = await conn.fetchrow("SELECT number, status FROM orders WHERE id = $1", order_id)
    assert row is not None and row["status"] == "PENDING", row
    asked = [r["vendor_id"] for r in await conn.fetch(
        "SELECT vendor_id FROM vendor_assignments WHERE order_id = $1", order_id
    )]
    best: list[ranking.Candidate] = []
    if len(asked) < MAX_OFFERS_PER_ORDER:
        lines = await conn.fetch(
            "SELECT sku, quantity_milli FROM order_lines WHERE order_id = $1", order_id
        )
        best = await ranking.candidates(
            conn, [(r["sku"], r["quantity_milli"]) for r in lines], exclude=asked, limit=1
        )
    if not best:
        reason = "no vendor can fulfil this order"
        await lifecycle.move(conn, order_id, row["number"], "PENDING", "REJECTED", None, reason,
                             now)
        return Outcome("no_vendor", await get(conn, order_id), None, previous_vendor_id, reason)
    vendor = best[0]
    await conn.execute(
        """INSERT INTO vendor_assignments (order_id, vendor_id, offered_at)
           VALUES ($1, $2, COALESCE($3, now()))""",
        order_id, vendor.vendor_id, now,
    )
    await conn.execute("UPDATE orders SET vendor_id = $2 WHERE id = $1", order_id, vendor.vendor_id)
    reason = f"offered to vendor {vendor.vendor_id}"
    await lifecycle.move(conn, order_id, row["number"], "PENDING", "VENDOR_ASSIGNED", None, reason,
                         now)
    return Outcome("offered", await get(conn, order_id), vendor.vendor_id, previous_vendor_id,
                   reason)


async def close_offer(
    conn: asyncpg.Connection, order_id: int, outcome: str, reason: str = "",
    now: datetime | None = None,
) -> int | None:
    """Answer the open offer of an order; returns the vendor it was made to, if any."""
    vendor_id: int | None = await conn.fetchval(
        """UPDATE vendor_assignments SET outcome = $2, reason = $3,
                  answered_at = COALESCE($4, now())
           WHERE order_id = $1 AND outcome = 'OFFERED' RETURNING vendor_id""",
        order_id, outcome, reason, now,
    )
    return vendor_id


async def withdraw(
    conn: asyncpg.Connection, order_id: int, vendor_id: int, outcome: str, actor_id: int | None,
    reason: str, now: datetime | None = None,
) -> Outcome:
    """Take a VENDOR_ASSIGNED order (locked) back from its vendor and offer it to the next."""
    number = await conn.fetchval("SELECT number FROM orders WHERE id = $1", order_id)
    await close_offer(conn, order_id, outcome, reason, now)
    await lifecycle.move(conn, order_id, number, "VENDOR_ASSIGNED", "PENDING", actor_id, reason,
                         now)
    await conn.execute("UPDATE orders SET vendor_id = NULL WHERE id = $1", order_id)
    return await offer_next(conn, order_id, previous_vendor_id=vendor_id, now=now)


async def expire_offers(
    conn: asyncpg.Connection, now: datetime, timeout: timedelta, *, limit: int = 100
) -> list[Outcome]:
    """Pass on every order whose vendor has not answered within `timeout`.

    Run it periodically from any number of processes: offers being handled elsewhere are skipped
    (SKIP LOCKED), and each order is re-checked under its lock.
    """
    limit = min(limit, MAX_EXPIRE_BATCH)
    outcomes: list[Outcome] = []
    async with conn.transaction():
        rows = await conn.fetch(
            """SELECT o.id, va.vendor_id FROM vendor_assignments va
               JOIN orders o ON o.id = va.order_id
               WHERE va.outcome = 'OFFERED' AND va.offered_at <= $1
               ORDER BY va.offered_at, va.id
               LIMIT $2
               FOR NO KEY UPDATE OF o SKIP LOCKED""",
            now - timeout, limit,
        )
        for row in rows:
            current = await conn.fetchrow(
                "SELECT status, vendor_id FROM orders WHERE id = $1", row["id"]
            )
            if current["status"] != "VENDOR_ASSIGNED" or current["vendor_id"] != row["vendor_id"]:
                continue  # answered between our read and our lock
            outcomes.append(await withdraw(
                conn, row["id"], row["vendor_id"], "EXPIRED", None,
                f"no answer within {int(timeout.total_seconds())} s", now,
            ))
    return outcomes
