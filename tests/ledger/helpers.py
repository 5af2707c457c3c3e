"""Small steps many ledger tests share."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from ledger import orders
from ledger.order_repo import Order
from ledger.pricing import LineRequest
from ledger.users import User


async def accepted_order(
    conn: asyncpg.Connection, retailer: User, vendor: User, lines: list[LineRequest],
    now: datetime | None = None,
) -> Order:
    """An order confirmed by the retailer and accepted by `vendor` (who must get the offer)."""
    draft = await orders.create_draft(conn, retailer, lines)
    done = await orders.confirm(conn, draft.id, retailer, now=now)
    assert done.order.vendor_id == vendor.id, done
    return await orders.accept(conn, draft.id, vendor, now=now)
