"""Disputes and receipts: what a retailer and a vendor do not agree on, kept for operators, and a
retailer's word that an order arrived as it should.

A dispute is open until staff resolve it (resolving by chat can come later: operators list them
with "disputes"). While one is open, what it disputes is never reminded about: an order with a
problem reported, or the whole account when a payment is in question (`ledger.reminders`).
Opening one is done by the services that find the disagreement (`ledger.claims` for payments,
`report_problem` here for orders); each checks who may.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import asyncpg

from ledger.actors import STAFF, Actor, require_role
from ledger.errors import AlreadyDone, NotDelivered, NotPermitted
from ledger.lifecycle import FULFILLED_STATUSES
from ledger.order_repo import Order, OrderRef, visible

DisputeKind = Literal["claim_not_received", "payment_not_mine", "order_problem"]
# What a retailer can say went wrong with an order (buttons under "Problem"); "other" asks for
# nothing more, the note carries what they typed.
PROBLEMS: tuple[str, ...] = ("missing", "damaged", "other")
MAX_NOTE = 500
MAX_LISTED = 20


def payment_ref(payment_id: int) -> str:
    """How a payment is named on a button and in a dispute: "P-000123"."""
    return f"P-{payment_id:06d}"


@dataclass(frozen=True)
class Dispute:
    id: int
    ref: str  # "DS-000001"
    kind: DisputeKind
    retailer_id: int
    vendor_id: int
    shop_name: str
    vendor_name: str
    amount_paisa: int | None
    order_number: str | None
    claim_ref: str | None
    payment_id: int | None
    reason: str
    note: str
    status: str
    created_at: datetime

    @property
    def payment_ref(self) -> str | None:
        return None if self.payment_id is None else payment_ref(self.payment_id)


_SELECT = """
    SELECT d.*, r.shop_name, v.shop_name AS vendor_name, o.number AS order_number,
           c.ref AS claim_ref
    FROM disputes d JOIN retailers r ON r.user_id = d.retailer_id
    JOIN vendors v ON v.user_id = d.vendor_id
    LEFT JOIN orders o ON o.id = d.order_id
    LEFT JOIN payment_claims c ON c.id = d.claim_id"""


def _dispute(row: asyncpg.Record) -> Dispute:
    return Dispute(
        id=row["id"], ref=row["ref"], kind=row["kind"], retailer_id=row["retailer_id"],
        vendor_id=row["vendor_id"], shop_name=row["shop_name"], vendor_name=row["vendor_name"],
        amount_paisa=row["amount_paisa"], order_number=row["order_number"],
        claim_ref=row["claim_ref"], payment_id=row["payment_id"], reason=row["reason"],
        note=row["note"], status=row["status"], created_at=row["created_at"])


async def get(conn: asyncpg.Connection, dispute_id: int) -> Dispute:
    row = await conn.fetchrow(f"{_SELECT} WHERE d.id = $1", dispute_id)
    assert row is not None, dispute_id
    return _dispute(row)


async def open_dispute(
    conn: asyncpg.Connection, *, kind: DisputeKind, retailer_id: int, vendor_id: int,
    raised_by: int, claim_id: int | None = None, payment_id: int | None = None,
    order_id: int | None = None, amount_paisa: int | None = None, reason: str = "",
    note: str = "", now: datetime | None = None,
) -> Dispute:
    """The low-level write the services above share (they check rights first)."""
    dispute_id = await conn.fetchval(
        """INSERT INTO disputes (kind, retailer_id, vendor_id, claim_id, payment_id, order_id,
                                 amount_paisa, raised_by, reason, note, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, COALESCE($11, now()))
           RETURNING id""",
        kind, retailer_id, vendor_id, claim_id, payment_id, order_id, amount_paisa, raised_by,
        reason[:40], " ".join(note.split())[:MAX_NOTE], now)
    return await get(conn, dispute_id)


async def reportable(conn: asyncpg.Connection, order: OrderRef, retailer: Actor) -> Order:
    """The retailer's own delivered order, which they may confirm or report a problem with."""
    if retailer.role != "RETAILER":
        raise NotPermitted(action="order.problem", role=retailer.role)
    found = await visible(conn, order, retailer)
    _require_delivered(found)
    return found


async def report_problem(
    conn: asyncpg.Connection, order: OrderRef, retailer: Actor, reason: str, note: str = "",
    *, now: datetime | None = None,
) -> Dispute:
    """The retailer says a delivered order is not right (items missing, damaged, other): a
    dispute on that order; it is no longer reminded about until staff resolve it."""
    if retailer.role != "RETAILER":
        raise NotPermitted(action="order.problem", role=retailer.role)
    if reason not in PROBLEMS:
        raise ValueError(f"unknown problem {reason!r}")
    async with conn.transaction():
        found = await visible(conn, order, retailer)
        await conn.execute("SELECT 1 FROM orders WHERE id = $1 FOR NO KEY UPDATE", found.id)
        _require_delivered(found)
        assert found.vendor_id is not None, "a delivered order has its vendor"
        already = await conn.fetchval(
            "SELECT id FROM disputes WHERE order_id = $1 AND status = 'open'", found.id)
        if already is not None:
            raise AlreadyDone(action="order.problem", name=found.number, status="open")
        return await open_dispute(
            conn, kind="order_problem", retailer_id=found.retailer_id,
            vendor_id=found.vendor_id, raised_by=retailer.id, order_id=found.id,
            amount_paisa=found.total_paisa, reason=reason, note=note, now=now)


async def confirm_receipt(
    conn: asyncpg.Connection, order: OrderRef, retailer: Actor, *, now: datetime | None = None
) -> Order:
    """The retailer confirms a delivered order arrived as it should (once)."""
    if retailer.role != "RETAILER":
        raise NotPermitted(action="order.received", role=retailer.role)
    async with conn.transaction():
        found = await visible(conn, order, retailer)
        _require_delivered(found)
        done = await conn.fetchval(
            """INSERT INTO order_receipts (order_id, retailer_id, confirmed_at)
               VALUES ($1, $2, COALESCE($3, now()))
               ON CONFLICT (order_id) DO NOTHING RETURNING order_id""",
            found.id, found.retailer_id, now)
        if done is None:
            raise AlreadyDone(action="order.received", name=found.number, status=found.status)
        return found


def _require_delivered(order: Order) -> None:
    if order.status not in FULFILLED_STATUSES:
        raise NotDelivered(order=order.number, status=order.status)


async def received(conn: asyncpg.Connection, order_id: int) -> bool:
    """Whether the retailer confirmed this order arrived."""
    return bool(await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM order_receipts WHERE order_id = $1)", order_id))


async def open_disputes(
    conn: asyncpg.Connection, actor: Actor, *, limit: int = MAX_LISTED
) -> tuple[list[Dispute], int]:
    """Staff: the open disputes, oldest first (at most `limit`), and how many are open."""
    require_role(actor, "disputes.read", *STAFF)
    rows = await conn.fetch(
        f"{_SELECT} WHERE d.status = 'open' ORDER BY d.created_at, d.id LIMIT $1",
        min(limit, MAX_LISTED))
    count = await conn.fetchval("SELECT count(*) FROM disputes WHERE status = 'open'")
    return [_dispute(r) for r in rows], int(count)
