"""What the ledger knew about retailers at one moment: the facts a credit score is computed from.

Point in time: only rows with a time at or before `as_of` count — orders billed by then (a later
cancellation does not undo a bill that stood then; an earlier one does), payments received by
then and not reversed by then, payment reversals posted by then. Nothing after `as_of` can leak
into a past score, so a score can be recomputed later and agree.

This module is the one place the score's data is read; `ledger.score` is a pure function of what
it returns. When the ledger records business dates, who stated an entry and who acknowledged it,
and disputes, only the queries here change. A few set-based statements serve one retailer or a
whole town alike.

One retailer's facts can also be read from what `keep` wrote with the analytics refresh
(score_facts, migration 030): the bills paid off by then, which stay as they were unless a
payment is reversed, plus the rest read live. `gather_one` does that when it can, so a shop's
score reads its open bills and the last hour's entries, not a year of history; the facts are
the same either way (tests/ledger/test_score_facts.py).
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


# Bills billed by as_of ($2), of the retailers or the orders named in $1 (`which`).
_BILLS_OF = """
    SELECT o.id, o.retailer_id, o.vendor_id, o.accepted_at, o.due_at, o.total_paisa
    FROM orders o
    WHERE {which} = ANY($1::bigint[]) AND o.accepted_at <= $2
      AND (o.status = ANY($3::text[]) OR (o.status = $4 AND o.closed_at > $2))"""
_BILLS = _BILLS_OF.format(which="o.retailer_id") + """
    ORDER BY o.retailer_id, o.accepted_at, o.id"""

# Allocations of payments received by as_of whose reversal (if any) came after as_of, of the
# retailers or the orders named in $1 (`which`).
_ALLOCATIONS_OF = """
    SELECT pa.order_id, pa.amount_paisa, p.received_at
    FROM payment_allocations pa
    JOIN payments p ON p.id = pa.payment_id
    WHERE {which} = ANY($1::bigint[]) AND p.received_at <= $2
      AND (NOT p.reversed OR NOT EXISTS (
          SELECT 1 FROM ledger_entries r
          WHERE r.payment_id = p.id AND r.kind = 'REVERSAL' AND r.created_at <= $2))
    ORDER BY pa.order_id, p.received_at, p.id"""
_ALLOCATIONS = _ALLOCATIONS_OF.format(which="p.retailer_id")

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
    paid = _paid(await conn.fetch(_ALLOCATIONS, ids, as_of))
    pays = {row["retailer_id"]: row for row in await conn.fetch(_PAYMENTS, ids, as_of)}
    bills: dict[int, list[Bill]] = defaultdict(list)
    for row in bill_rows:
        bills[row["retailer_id"]].append(_bill(row, paid))
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


def _paid(rows: Sequence[asyncpg.Record]) -> dict[int, list[tuple[int, datetime]]]:
    """order id -> its standing allocations (amount, received), in the order they count."""
    paid: dict[int, list[tuple[int, datetime]]] = defaultdict(list)
    for row in rows:
        paid[row["order_id"]].append((row["amount_paisa"], row["received_at"]))
    return paid


def _bill(row: asyncpg.Record, paid: dict[int, list[tuple[int, datetime]]]) -> Bill:
    amount, paid_at = 0, None
    for part, at in paid.get(row["id"], ()):
        amount += part
        if paid_at is None and amount >= row["total_paisa"]:
            paid_at = at
    return Bill(order_id=row["id"], vendor_id=row["vendor_id"], accepted_at=row["accepted_at"],
                due_at=row["due_at"], total_paisa=row["total_paisa"], paid_paisa=amount,
                paid_at=paid_at)


# What `keep` writes, for the retailers $1 as of $2, in one statement (one snapshot: the
# versions and the facts agree). $3 is BILLED_STATUSES, $4 CANCELLED. A bill is settled when the
# allocations standing at $2 pay its total: then the last of them (allocations are positive, so
# the running sum reaches the total at the last one) is when it was paid, as `_bill` finds it.
# A retailer with a payment received, or a reversal posted, after $2 is not kept: the live
# reading could not tell those apart from the kept ones.
_KEEP = """
    WITH standing AS (
        SELECT pa.order_id, pa.amount_paisa, p.received_at
        FROM payment_allocations pa
        JOIN payments p ON p.id = pa.payment_id
        WHERE p.retailer_id = ANY($1::bigint[]) AND p.received_at <= $2
          AND (NOT p.reversed OR NOT EXISTS (
              SELECT 1 FROM ledger_entries r
              WHERE r.payment_id = p.id AND r.kind = 'REVERSAL' AND r.created_at <= $2))),
    paid AS (
        SELECT order_id, sum(amount_paisa) AS paid, max(received_at) AS paid_at
        FROM standing GROUP BY order_id),
    bills AS (
        SELECT o.id, o.retailer_id, o.vendor_id, o.accepted_at, o.due_at, o.total_paisa,
               p.paid_at,
               o.accepted_at <= $2 AND o.status = ANY($3::text[])
                   AND COALESCE(p.paid, 0) >= o.total_paisa AS settled
        FROM orders o LEFT JOIN paid p ON p.order_id = o.id
        WHERE o.retailer_id = ANY($1::bigint[]) AND o.accepted_at IS NOT NULL
          AND (o.status = ANY($3::text[]) OR (o.status = $4 AND o.closed_at > $2))),
    kept AS (
        SELECT retailer_id,
               array_agg(id ORDER BY accepted_at, id) FILTER (WHERE settled) AS bill_ids,
               array_agg(vendor_id ORDER BY accepted_at, id) FILTER (WHERE settled) AS vendor_ids,
               array_agg(accepted_at ORDER BY accepted_at, id) FILTER (WHERE settled) AS accepted,
               array_agg(due_at ORDER BY accepted_at, id) FILTER (WHERE settled) AS due,
               array_agg(total_paisa ORDER BY accepted_at, id) FILTER (WHERE settled) AS totals,
               array_agg(paid_at ORDER BY accepted_at, id) FILTER (WHERE settled) AS paid_at,
               array_agg(id ORDER BY id) FILTER (WHERE NOT settled) AS live_ids
        FROM bills GROUP BY retailer_id),
    pays AS (
        SELECT retailer_id, count(*) FILTER (WHERE received_at <= $2) AS payments,
               bool_or(received_at > $2) AS later
        FROM payments WHERE retailer_id = ANY($1::bigint[]) GROUP BY retailer_id),
    revs AS (
        SELECT p.retailer_id,
               array_agg(r.created_at ORDER BY r.created_at) FILTER (WHERE r.created_at <= $2)
                   AS reversals,
               bool_or(r.created_at > $2) AS later
        FROM payments p
        JOIN ledger_entries r ON r.payment_id = p.id AND r.kind = 'REVERSAL'
        WHERE p.retailer_id = ANY($1::bigint[]) GROUP BY p.retailer_id),
    accounts AS (
        SELECT retailer_id, array_agg(id ORDER BY id) AS account_ids,
               array_agg(version ORDER BY id) AS versions
        FROM ledger_accounts WHERE retailer_id = ANY($1::bigint[]) GROUP BY retailer_id)
    INSERT INTO score_facts AS f (retailer_id, as_of, account_ids, versions, bill_ids,
                                  vendor_ids, accepted, due, totals, paid_at, live_ids,
                                  payments, reversals)
    SELECT r.user_id, $2, COALESCE(a.account_ids, '{}'), COALESCE(a.versions, '{}'),
           COALESCE(k.bill_ids, '{}'), COALESCE(k.vendor_ids, '{}'),
           COALESCE(k.accepted, '{}'), COALESCE(k.due, '{}'), COALESCE(k.totals, '{}'),
           COALESCE(k.paid_at, '{}'), COALESCE(k.live_ids, '{}'), COALESCE(y.payments, 0),
           COALESCE(v.reversals, '{}')
    FROM retailers r
    LEFT JOIN accounts a ON a.retailer_id = r.user_id
    LEFT JOIN kept k ON k.retailer_id = r.user_id
    LEFT JOIN pays y ON y.retailer_id = r.user_id
    LEFT JOIN revs v ON v.retailer_id = r.user_id
    WHERE r.user_id = ANY($1::bigint[])
      AND NOT COALESCE(y.later, false) AND NOT COALESCE(v.later, false)
    ON CONFLICT (retailer_id) DO UPDATE SET
        as_of = EXCLUDED.as_of, account_ids = EXCLUDED.account_ids,
        versions = EXCLUDED.versions, bill_ids = EXCLUDED.bill_ids,
        vendor_ids = EXCLUDED.vendor_ids, accepted = EXCLUDED.accepted, due = EXCLUDED.due,
        totals = EXCLUDED.totals, paid_at = EXCLUDED.paid_at, live_ids = EXCLUDED.live_ids,
        payments = EXCLUDED.payments, reversals = EXCLUDED.reversals"""

# Retailers kept per statement: bounds the rows one statement aggregates.
KEEP_BATCH = 500


async def keep(conn: asyncpg.Connection, as_of: datetime,
               retailer_ids: Sequence[int] | None = None) -> int:
    """Write each retailer's settled record as of `as_of` (every retailer, or those named);
    how many were kept."""
    if as_of.tzinfo is None:
        raise ValueError("as_of must be an aware datetime")
    ids = sorted(set(retailer_ids)) if retailer_ids is not None else [
        r["user_id"] for r in await conn.fetch("SELECT user_id FROM retailers ORDER BY 1")]
    kept = 0
    for start in range(0, len(ids), KEEP_BATCH):
        status = await conn.execute(_KEEP, ids[start:start + KEEP_BATCH], as_of,
                                    list(BILLED_STATUSES), "CANCELLED")
        kept += int(status.split()[-1])
    return kept


# The entries on the retailer's accounts ($1) written since the kept versions ($2, $3): an
# account the row does not name is new, every entry of it is.
_SINCE = """
    SELECT e.kind, e.order_id, e.payment_id
    FROM ledger_accounts a
    LEFT JOIN unnest($2::bigint[], $3::bigint[]) AS k (account_id, version)
           ON k.account_id = a.id
    JOIN ledger_entries e ON e.account_id = a.id AND e.account_version > COALESCE(k.version, 0)
    WHERE a.retailer_id = $1"""

# _BILLS and _ALLOCATIONS for the orders named ($1) rather than the retailers.
_BILLS_NAMED = _BILLS_OF.format(which="o.id")
_ALLOCATIONS_NAMED = _ALLOCATIONS_OF.format(which="pa.order_id")


async def gather_one(conn: asyncpg.Connection, retailer_id: int, as_of: datetime) -> Facts | None:
    """One retailer's facts as of `as_of` (None: no such retailer), as `gather` finds them;
    from their kept record (`keep`) and what changed since when it can be, else by `gather`."""
    facts = await kept_facts(conn, retailer_id, as_of)
    if facts is not None:
        return facts
    return (await gather(conn, [retailer_id], as_of)).get(retailer_id)


async def kept_facts(conn: asyncpg.Connection, retailer_id: int, as_of: datetime) -> Facts | None:
    """The facts from the kept record, or None where it cannot tell: no record, a record newer
    than `as_of`, or a reversal since (it may reopen a bill the record holds as paid off)."""
    if as_of.tzinfo is None:
        raise ValueError("as_of must be an aware datetime")
    kept = await conn.fetchrow(
        """SELECT f.*, r.credit_limit_paisa FROM score_facts f
           JOIN retailers r ON r.user_id = f.retailer_id WHERE f.retailer_id = $1""",
        retailer_id)
    if kept is None or as_of < kept["as_of"]:
        return None
    since = await conn.fetch(_SINCE, retailer_id, kept["account_ids"], kept["versions"])
    if any(e["kind"] == "REVERSAL" for e in since):
        return None
    # Every bill the record does not hold as paid off: those it names, and those billed since
    # (a payment since can only have paid bills among these: the kept ones owed nothing).
    live = sorted({*kept["live_ids"],
                   *(e["order_id"] for e in since if e["kind"] == "ORDER_CREDIT")})
    paid = _paid(await conn.fetch(_ALLOCATIONS_NAMED, live, as_of))
    bills = [_bill(row, paid) for row in await conn.fetch(
        _BILLS_NAMED, live, as_of, list(BILLED_STATUSES), "CANCELLED")]
    bills += [Bill(order_id=i, vendor_id=v, accepted_at=a, due_at=d, total_paisa=t,
                   paid_paisa=t, paid_at=p)
              for i, v, a, d, t, p in zip(kept["bill_ids"], kept["vendor_ids"],
                                          kept["accepted"], kept["due"], kept["totals"],
                                          kept["paid_at"], strict=True)]
    bills.sort(key=lambda b: (b.accepted_at, b.order_id))
    new_payments = [e["payment_id"] for e in since if e["kind"] == "PAYMENT_DEBIT"]
    received = int(await conn.fetchval(
        "SELECT count(*) FROM payments WHERE id = ANY($1::bigint[]) AND received_at <= $2",
        new_payments, as_of)) if new_payments else 0
    return Facts(retailer_id=retailer_id, as_of=as_of, limit_paisa=kept["credit_limit_paisa"],
                 bills=tuple(bills), payments=int(kept["payments"]) + received,
                 reversals=tuple(kept["reversals"]))
