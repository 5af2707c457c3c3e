"""What the ledger knew about retailers at one moment: the facts a credit score is computed from.

Point in time: only rows with a time at or before `as_of` count — orders billed by then (a later
cancellation does not undo a bill that stood then; an earlier one does), payments received by
then and not reversed by then, payment reversals posted by then. Nothing after `as_of` can leak
into a past score, so a score can be recomputed later and agree.

This module is the one place the score's data is read; `ledger.score` is a pure function of what
it returns. When the ledger records business dates, who stated an entry and who acknowledged it,
and disputes, only the queries here change. A few set-based statements serve one retailer or a
whole town alike.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

from ledger.lifecycle import BILLED_STATUSES

# A town is a few thousand retailers; more in one call is a mistake, not a workload.
MAX_RETAILERS = 20_000


@dataclass(frozen=True)
class Bill:
    """An order billed (accepted) by `as_of`, and how it stood then."""

    order_id: int
    vendor_id: int
    accepted_at: datetime
    due_at: datetime
    total_paisa: int
    paid_paisa: int               # allocations of payments standing at as_of
    paid_at: datetime | None      # when those allocations first covered the total; None: not yet

    @property
    def outstanding_paisa(self) -> int:
        return self.total_paisa - self.paid_paisa


@dataclass(frozen=True)
class Facts:
    """One retailer's record as of `as_of`; bills oldest first."""

    retailer_id: int
    as_of: datetime
    limit_paisa: int
    bills: tuple[Bill, ...] = ()
    payments: int = 0             # payments received by as_of
    reversals: tuple[datetime, ...] = field(default=())  # payment reversals posted by as_of


_BILLS = """
    SELECT o.id, o.retailer_id, o.vendor_id, o.accepted_at, o.due_at, o.total_paisa
    FROM orders o
    WHERE o.retailer_id = ANY($1::bigint[]) AND o.accepted_at <= $2
      AND (o.status = ANY($3::text[]) OR (o.status = $4 AND o.closed_at > $2))
    ORDER BY o.retailer_id, o.accepted_at, o.id"""

# Allocations of payments received by as_of whose reversal (if any) came after as_of.
_ALLOCATIONS = """
    SELECT pa.order_id, pa.amount_paisa, p.received_at
    FROM payment_allocations pa
    JOIN payments p ON p.id = pa.payment_id
    WHERE p.retailer_id = ANY($1::bigint[]) AND p.received_at <= $2
      AND (NOT p.reversed OR NOT EXISTS (
          SELECT 1 FROM ledger_entries r
          WHERE r.payment_id = p.id AND r.kind = 'REVERSAL' AND r.created_at <= $2))
    ORDER BY pa.order_id, p.received_at, p.id"""

_PAYMENTS = """
    SELECT p.retailer_id, count(*) AS payments,
           array_remove(array_agg(r.created_at ORDER BY r.created_at), NULL) AS reversals
    FROM payments p
    LEFT JOIN ledger_entries r
           ON r.payment_id = p.id AND r.kind = 'REVERSAL' AND r.created_at <= $2
    WHERE p.retailer_id = ANY($1::bigint[]) AND p.received_at <= $2
    GROUP BY p.retailer_id"""


async def gather(
    conn: asyncpg.Connection, retailer_ids: Sequence[int], as_of: datetime
) -> dict[int, Facts]:
    """The facts of each retailer named (unknown ids are left out), as of `as_of`."""
    if as_of.tzinfo is None:
        raise ValueError("as_of must be an aware datetime")
    ids = sorted(set(retailer_ids))
    if len(ids) > MAX_RETAILERS:
        raise ValueError(f"at most {MAX_RETAILERS} retailers at once")
    limits = await conn.fetch(
        "SELECT user_id, credit_limit_paisa FROM retailers WHERE user_id = ANY($1::bigint[])", ids)
    bill_rows = await conn.fetch(_BILLS, ids, as_of, list(BILLED_STATUSES), "CANCELLED")
    paid: dict[int, list[tuple[int, datetime]]] = defaultdict(list)
    for row in await conn.fetch(_ALLOCATIONS, ids, as_of):
        paid[row["order_id"]].append((row["amount_paisa"], row["received_at"]))
    pays = {row["retailer_id"]: row for row in await conn.fetch(_PAYMENTS, ids, as_of)}
    bills: dict[int, list[Bill]] = defaultdict(list)
    for row in bill_rows:
        amount, paid_at = 0, None
        for part, at in paid.get(row["id"], ()):
            amount += part
            if paid_at is None and amount >= row["total_paisa"]:
                paid_at = at
        bills[row["retailer_id"]].append(Bill(
            order_id=row["id"], vendor_id=row["vendor_id"], accepted_at=row["accepted_at"],
            due_at=row["due_at"], total_paisa=row["total_paisa"], paid_paisa=amount,
            paid_at=paid_at))
    facts = {}
    for row in limits:
        rid = row["user_id"]
        pay = pays.get(rid)
        facts[rid] = Facts(
            retailer_id=rid, as_of=as_of, limit_paisa=row["credit_limit_paisa"],
            bills=tuple(bills.get(rid, ())),
            payments=int(pay["payments"]) if pay else 0,
            reversals=tuple(pay["reversals"]) if pay else ())
    return facts
