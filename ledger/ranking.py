"""Which vendors can fulfil a set of lines, best first: the rule pricing and assignment share.

A vendor qualifies only if it carries every line with enough unreserved stock. Ties are broken by
the vendor's total for these lines, then its record (fewer rejected or expired offers, then more
delivered orders), then its id so the choice is deterministic.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import asyncpg

from ledger.lifecycle import FULFILLED_STATUSES

# Offers a vendor let down (vendor_assignments.outcome): they count against its record; orders
# in FULFILLED_STATUSES count for it. Both are counted as they happen, in vendor_record
# (migration 026's triggers, which spell these two lists; tests/ledger/test_vendor_record.py).
FAILED_OUTCOMES = ("REJECTED", "EXPIRED")
RECORD_STATUSES = FULFILLED_STATUSES
# Bounded: nobody needs more than this many alternatives for one order.
MAX_CANDIDATES = 20


@dataclass(frozen=True)
class Candidate:
    vendor_id: int
    shop_name: str
    total_paisa: int
    prices: dict[str, int]  # sku -> the vendor's paisa per base unit
    failures: int
    fulfilled: int


async def candidates(
    conn: asyncpg.Connection,
    lines: Sequence[tuple[str, int]],
    *,
    exclude: Collection[int] = (),
    limit: int = MAX_CANDIDATES,
) -> list[Candidate]:
    """Vendors able to fulfil all `(sku, quantity_milli)` lines now, best first."""
    if not lines:
        return []
    skus = [sku for sku, _ in lines]
    quantities = [quantity for _, quantity in lines]
    rows = await conn.fetch(
        """WITH want AS (SELECT * FROM unnest($1::text[], $2::bigint[]) AS w (sku, quantity_milli)),
           able AS (
               SELECT vp.vendor_id,
                      -- numeric: quantity times an absurd price must not overflow bigint
                      sum(div(w.quantity_milli::numeric * vp.price_paisa + 500, 1000))
                          AS total_paisa,
                      array_agg(vp.sku ORDER BY vp.sku) AS skus,
                      array_agg(vp.price_paisa ORDER BY vp.sku) AS prices
               FROM want w
               JOIN vendor_products vp
                 ON vp.sku = w.sku AND vp.stock_milli - vp.reserved_milli >= w.quantity_milli
               WHERE vp.vendor_id <> ALL($3::bigint[])
               GROUP BY vp.vendor_id
               HAVING count(*) = (SELECT count(*) FROM want))
           SELECT a.vendor_id, v.shop_name, a.total_paisa, a.skus, a.prices,
                  COALESCE(r.failures, 0) AS failures, COALESCE(r.fulfilled, 0) AS fulfilled
           FROM able a
           JOIN vendors v ON v.user_id = a.vendor_id
           LEFT JOIN vendor_record r ON r.vendor_id = a.vendor_id
           JOIN users u ON u.id = a.vendor_id AND u.active AND u.role = 'VENDOR'
           ORDER BY a.total_paisa, failures, fulfilled DESC, a.vendor_id
           LIMIT $4""",
        skus, quantities, list(exclude), limit,
    )
    return [
        Candidate(
            vendor_id=r["vendor_id"], shop_name=r["shop_name"], total_paisa=int(r["total_paisa"]),
            prices=dict(zip(r["skus"], r["prices"], strict=True)), failures=r["failures"],
            fulfilled=r["fulfilled"],
        )
        for r in rows
    ]
