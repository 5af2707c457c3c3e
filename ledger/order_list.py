"""Orders as a list for the web and the API: filtered by status, Nepal days, vendor and retailer,
newest first, a page at a time (keyset on the order id, so a page never shifts when new orders
arrive: the next page starts strictly below the last id seen).

Read only. What a person sees is decided here, whatever they ask for: a vendor only orders
assigned to them, a retailer only their own, staff everything. Drafts (never placed) and bills
imported from a vendor's book (dues, not orders) are not orders here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import asyncpg

from ledger import reports
from ledger.actors import Actor, is_staff
from ledger.errors import NotPermitted
from ledger.reports import OrderSummary
from locales.formats import NEPAL_TIME

MAX_LIMIT = 100


@dataclass(frozen=True)
class Page:
    orders: tuple[OrderSummary, ...]
    next_before_id: int | None  # the last order's id when more may follow, else None


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), NEPAL_TIME)


async def page(
    conn: asyncpg.Connection, actor: Actor, *, statuses: Sequence[str] = (),
    start: date | None = None, end: date | None = None, vendor_id: int | None = None,
    retailer_id: int | None = None, before_id: int | None = None, limit: int = 50,
) -> Page:
    """Orders the actor may see, newest first, at most `limit` (1..MAX_LIMIT), created on Nepal
    days `start`..`end` inclusive, below `before_id` (the previous page's `next_before_id`).
    A vendor asking for another vendor's orders, or a retailer for another retailer's, is
    `NotPermitted`."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit {limit}")
    if actor.role == "VENDOR":
        if vendor_id not in (None, actor.id):
            raise NotPermitted(action="orders.read", role=actor.role)
        vendor_id = actor.id
    elif actor.role == "RETAILER":
        if retailer_id not in (None, actor.id):
            raise NotPermitted(action="orders.read", role=actor.role)
        retailer_id = actor.id
    elif not is_staff(actor):
        raise NotPermitted(action="orders.read", role=actor.role)
    rows = await conn.fetch(
        f"""{reports.SUMMARY_SQL}
            WHERE o.source = 'live' AND o.confirmed_at IS NOT NULL
              AND (cardinality($1::text[]) = 0 OR o.status = ANY($1::text[]))
              AND ($2::timestamptz IS NULL OR o.created_at >= $2)
              AND ($3::timestamptz IS NULL OR o.created_at < $3)
              AND ($4::bigint IS NULL OR o.vendor_id = $4)
              AND ($5::bigint IS NULL OR o.retailer_id = $5)
              AND ($6::bigint IS NULL OR o.id < $6)
            ORDER BY o.id DESC LIMIT $7""",
        list(statuses), _start_of(start) if start else None,
        _start_of(end + timedelta(days=1)) if end else None, vendor_id, retailer_id, before_id,
        limit + 1,
    )
    found = tuple(reports.summary(r) for r in rows[:limit])
    more = len(rows) > limit
    return Page(found, found[-1].id if more and found else None)
