"""The order lifecycle: the one table of allowed transitions, and the write that follows it.

The database holds the same table (`order_status_transitions`) and refuses anything else in a
trigger; tests/ledger/test_lifecycle.py checks the two agree.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import asyncpg

from ledger.errors import IllegalTransition

Status = Literal[
    "DRAFT", "PENDING", "VENDOR_ASSIGNED", "ACCEPTED", "DISPATCHED", "DELIVERED", "COMPLETED",
    "CANCELLED", "REJECTED",
]
STATUSES: tuple[Status, ...] = (
    "DRAFT", "PENDING", "VENDOR_ASSIGNED", "ACCEPTED", "DISPATCHED", "DELIVERED", "COMPLETED",
    "CANCELLED", "REJECTED",
)

TRANSITIONS: frozenset[tuple[Status, Status]] = frozenset({
    ("DRAFT", "PENDING"),                 # the retailer confirms (credit checked)
    ("DRAFT", "CANCELLED"),               # the retailer cancels, or the draft expires
    ("PENDING", "VENDOR_ASSIGNED"),       # offered to the best vendor
    ("PENDING", "CANCELLED"),
    ("PENDING", "REJECTED"),              # no vendor can fulfil it
    ("VENDOR_ASSIGNED", "ACCEPTED"),      # stock reserved, ORDER_CREDIT posted
    ("VENDOR_ASSIGNED", "PENDING"),       # the vendor rejected or did not answer in time
    ("VENDOR_ASSIGNED", "CANCELLED"),
    ("ACCEPTED", "DISPATCHED"),           # reserved stock taken
    ("ACCEPTED", "CANCELLED"),            # stock released, ORDER_CREDIT reversed
    ("DISPATCHED", "DELIVERED"),
    ("DELIVERED", "COMPLETED"),           # delivered and paid
})

# The named sets of statuses every query and rule uses: SQL gets them as array parameters
# (`status = ANY($1::text[])`), so no module spells a status list of its own (a test checks).

# Confirmed and not yet finished: what "status" shows and a vendor's queue holds.
OPEN_STATUSES: tuple[Status, ...] = (
    "PENDING", "VENDOR_ASSIGNED", "ACCEPTED", "DISPATCHED", "DELIVERED",
)
# Confirmed but not billed yet: counts towards credit exposure on top of the ledger balance.
UNBILLED_STATUSES: tuple[Status, ...] = ("PENDING", "VENDOR_ASSIGNED")
# Billed: the order's ORDER_CREDIT stands and money is owed on it (a vendor accepted it).
BILLED_STATUSES: tuple[Status, ...] = ("ACCEPTED", "DISPATCHED", "DELIVERED", "COMPLETED")
# The vendor holds stock for it (reserved at acceptance, taken at dispatch).
STOCK_HELD_STATUSES: tuple[Status, ...] = ("ACCEPTED",)
# The goods reached the retailer: a vendor's record of fulfilled orders counts these.
FULFILLED_STATUSES: tuple[Status, ...] = ("DELIVERED", "COMPLETED")
CLOSED_STATUSES: tuple[Status, ...] = ("COMPLETED", "CANCELLED", "REJECTED")
# Nothing to repeat: a draft, or an order cancelled before anything was sent.
NEVER_PLACED: tuple[Status, ...] = ("DRAFT", "CANCELLED")
# Billed and not finished: the bills reminders look at (paid ones complete once delivered).
OPEN_BILL_STATUSES: tuple[Status, ...] = ("ACCEPTED", "DISPATCHED", "DELIVERED")
# Held by a vendor (offered or taken, not finished): orders_vendor_open's predicate.
HELD_STATUSES: tuple[Status, ...] = ("VENDOR_ASSIGNED", "ACCEPTED", "DISPATCHED", "DELIVERED")


def sql_list(statuses: tuple[Status, ...]) -> str:
    """`('ACCEPTED', 'DELIVERED')` for SQL text: only where the planner must see constants (a
    partial index's predicate, which a parameter cannot prove; a statement whose plan for any
    status is dearer than one for these, so it would be planned afresh at every call);
    elsewhere pass statuses as parameters."""
    return "(" + ", ".join(f"'{s}'" for s in statuses) + ")"
# Not billed yet, drafts included: an admin may let such an order past the credit limit, and
# its retailer may still cancel it.
OVERRIDABLE_STATUSES: tuple[Status, ...] = ("DRAFT", *UNBILLED_STATUSES)
RETAILER_CANCELLABLE_STATUSES: tuple[Status, ...] = ("DRAFT", *UNBILLED_STATUSES)
# Staff may also cancel an accepted order (its stock is released and its credit reversed).
STAFF_CANCELLABLE_STATUSES: tuple[Status, ...] = (*RETAILER_CANCELLABLE_STATUSES, "ACCEPTED")

# The timestamp column each arrival sets, when there is one.
_STAMP: dict[Status, str] = {
    "PENDING": "confirmed_at",
    "DISPATCHED": "dispatched_at",
    "DELIVERED": "delivered_at",
    "COMPLETED": "closed_at",
    "CANCELLED": "closed_at",
    "REJECTED": "closed_at",
}


def allowed(from_status: str, to_status: str) -> bool:
    return (from_status, to_status) in TRANSITIONS


async def move(
    conn: asyncpg.Connection,
    order_id: int,
    number: str,
    from_status: str,
    to_status: Status,
    actor_id: int | None,
    reason: str = "",
    now: datetime | None = None,
) -> None:
    """Move a locked order from `from_status` to `to_status` and log who did it and why.

    The caller holds the order row lock and has read `from_status` under it; the compare in the
    WHERE clause still guards against a caller that did not.
    """
    if not allowed(from_status, to_status):
        raise IllegalTransition(order=number, from_status=from_status, to_status=to_status)
    stamp = _STAMP.get(to_status)
    # First arrival only: an order offered again (VENDOR_ASSIGNED -> PENDING) keeps the time it
    # was confirmed, which is the day the reports count it on.
    extra = f", {stamp} = COALESCE({stamp}, $4, now())" if stamp else ""
    done = await conn.fetchval(
        f"""UPDATE orders SET status = $2, updated_at = COALESCE($4, now()){extra}
            WHERE id = $1 AND status = $3 RETURNING id""",
        order_id, to_status, from_status, now,
    )
    if done is None:
        current = await conn.fetchval("SELECT status FROM orders WHERE id = $1", order_id)
        raise IllegalTransition(order=number, from_status=current, to_status=to_status)
    await conn.execute(
        """INSERT INTO order_transitions (order_id, from_status, to_status, actor_id, reason, at)
           VALUES ($1, $2, $3, $4, $5, COALESCE($6, now()))""",
        order_id, from_status, to_status, actor_id, reason, now,
    )


async def move_many(
    conn: asyncpg.Connection,
    moves: list[tuple[int, datetime]],
    from_status: str,
    to_status: Status,
    actor_id: int | None,
    reason: str = "",
) -> list[int]:
    """`move` for many locked orders at once, each at its own time: (order id, when). Only those
    still in `from_status` move; their ids are returned (the caller checks they all did)."""
    if not allowed(from_status, to_status):
        raise IllegalTransition(order=str(len(moves)), from_status=from_status,
                                to_status=to_status)
    if not moves:
        return []
    stamp = _STAMP.get(to_status)
    extra = f", {stamp} = COALESCE(o.{stamp}, m.at)" if stamp else ""
    rows = await conn.fetch(
        f"""UPDATE orders o SET status = $3, updated_at = m.at{extra}
            FROM unnest($1::bigint[], $2::timestamptz[]) AS m (id, at)
            WHERE o.id = m.id AND o.status = $4 RETURNING o.id, m.at""",
        [order_id for order_id, _ in moves], [at for _, at in moves], to_status, from_status)
    await conn.execute(
        """INSERT INTO order_transitions (order_id, from_status, to_status, actor_id, reason, at)
           SELECT m.id, $3, $4, $5, $6, m.at
           FROM unnest($1::bigint[], $2::timestamptz[]) AS m (id, at) ORDER BY m.id""",
        [r["id"] for r in rows], [r["at"] for r in rows], from_status, to_status, actor_id,
        reason)
    return [r["id"] for r in rows]
