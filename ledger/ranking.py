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
    (found,) = await candidates_each(conn, [lines], exclude=exclude, limit=limit)
    return found


async def candidates_each(
    conn: asyncpg.Connection,
    line_sets: Sequence[Sequence[tuple[str, int]]],
    *,
    exclude: Collection[int] = (),
    limit: int = MAX_CANDIDATES,
) -> list[list[Candidate]]:
    """`candidates` for each set of lines (a sku at most once in a set), in one round trip."""
    sets = [k for k, lines in enumerate(line_sets) for _ in lines]
    if not sets:
        return [[] for _ in line_sets]
    rows = await conn.fetch(
        """WITH want AS (SELECT * FROM unnest($1::int[], $2::text[], $3::bigint[])
                                    AS w (set_no, sku, quantity_milli)),
           able AS (
               SELECT w.set_no, vp.vendor_id,
                      -- numeric: quantity times an absurd price must not overflow bigint
                      sum(div(w.quantity_milli::numeric * vp.price_paisa + 500, 1000))
                          AS total_paisa,
                      array_agg(vp.sku ORDER BY vp.sku) AS skus,
                      array_agg(vp.price_paisa ORDER BY vp.sku) AS prices
               FROM want w
               JOIN vendor_products vp
                 ON vp.sku = w.sku AND vp.stock_milli - vp.reserved_milli >= w.quantity_milli
               WHERE vp.vendor_id <> ALL($4::bigint[])
               GROUP BY w.set_no, vp.vendor_id
               HAVING count(*) = (SELECT count(*) FROM want x WHERE x.set_no = w.set_no)),
           ranked AS (
               SELECT a.set_no, a.vendor_id, v.shop_name, a.total_paisa, a.skus, a.prices,
                      COALESCE(r.failures, 0) AS failures, COALESCE(r.fulfilled, 0) AS fulfilled
               FROM able a
               JOIN vendors v ON v.user_id = a.vendor_id
               LEFT JOIN vendor_record r ON r.vendor_id = a.vendor_id
               JOIN users u ON u.id = a.vendor_id AND u.active AND u.role = 'VENDOR'),
           placed AS (
               SELECT *, row_number() OVER (PARTITION BY set_no ORDER BY total_paisa, failures,
                                                fulfilled DESC, vendor_id) AS place
               FROM ranked)
           SELECT * FROM placed WHERE place <= $5 ORDER BY set_no, place""",
        sets, [sku for lines in line_sets for sku, _ in lines],
        [quantity for lines in line_sets for _, quantity in lines], list(exclude), limit,
    )
    found: list[list[Candidate]] = [[] for _ in line_sets]
    for r in rows:
        found[r["set_no"]].append(Candidate(
            vendor_id=r["vendor_id"], shop_name=r["shop_name"], total_paisa=int(r["total_paisa"]),
            prices=dict(zip(r["skus"], r["prices"], strict=True)), failures=r["failures"],
            fulfilled=r["fulfilled"],
        ))
    return found
