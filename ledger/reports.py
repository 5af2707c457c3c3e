"""The read API for dialogs and dashboards: dues, open orders, statements, ageing, daily figures.

Read only. Overdue is computed here from due dates and what each bill still owes (bills_owing,
which the database keeps from the allocations: migration 030), never stored. Every
read takes the `actor` asking and checks they may see it (`ledger.access`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import asyncpg

from ledger import access, registrations
from ledger.actors import STAFF, Actor, require_role
from ledger.lifecycle import (
    BILLED_STATUSES,
    HELD_STATUSES,
    OPEN_STATUSES,
    sql_list,
)
from ledger.order_repo import PAID_SQL, PaymentStatus, payment_status

MAX_ROWS = 200


# Billed orders with what is still owed on each: the bills that owe (migration 030 keeps them
# as allocations are posted and payments reversed; a bill owing nothing has no row). Callers add
# `AND o.<column> ...` conditions (retailer_id, vendor_id, due_at). Before 030 every read summed
# each open bill's allocations again: a year of shops that never pay made the town's ageing page
# 15,000 bills and their payments a view (bench/history_bench.py).
_OUTSTANDING = """
    SELECT o.order_id AS id, o.retailer_id, o.vendor_id, o.accepted_at, o.due_at,
           o.owing_paisa AS outstanding
    FROM bills_owing o WHERE true"""


# The same, as it stood at $2 (a past day's end): orders billed then (a later cancel does not
# count), less payments received by then and not yet reversed then. $3 is BILLED_STATUSES, $4
# the status CANCELLED.
_OUTSTANDING_AT_END = """
    SELECT o.id, o.due_at,
           o.total_paisa - COALESCE((
               SELECT sum(pa.amount_paisa) FROM payment_allocations pa
               JOIN payments p ON p.id = pa.payment_id
               WHERE pa.order_id = o.id AND p.received_at < $2
                 AND (NOT p.reversed OR NOT EXISTS (
                     SELECT 1 FROM ledger_entries r
                     WHERE r.payment_id = p.id AND r.kind = 'REVERSAL'
                       AND r.created_at < $2))), 0) AS outstanding
    FROM orders o
    WHERE o.accepted_at < $2
      AND (o.status = ANY($3::text[]) OR (o.status = $4 AND o.closed_at >= $2))"""


@dataclass(frozen=True)
class VendorBalance:
    vendor_id: int
    vendor_name: str
    balance_paisa: int
    overdue_paisa: int
    next_due_at: datetime | None


@dataclass(frozen=True)
class Balances:
    total_paisa: int
    overdue_paisa: int
    next_due_at: datetime | None
    vendors: tuple[VendorBalance, ...]


@dataclass(frozen=True)
class RetailerBalance:
    retailer_id: int
    shop_name: str
    balance_paisa: int
    overdue_paisa: int
    limit_paisa: int


@dataclass(frozen=True)
class OrderSummary:
    id: int
    number: str
    status: str
    vendor_id: int | None
    vendor_name: str | None
    retailer_id: int
    shop_name: str
    total_paisa: int
    created_at: datetime
    payment_status: PaymentStatus
    due_at: datetime | None


@dataclass(frozen=True)
class StatementLine:
    at: datetime
    kind: str
    order_number: str | None
    vendor_name: str
    amount_paisa: int
    balance_paisa: int  # running, over the accounts the statement covers
    reason: str


@dataclass(frozen=True)
class Statement:
    opening_paisa: int
    closing_paisa: int
    lines: tuple[StatementLine, ...]


@dataclass(frozen=True)
class Ageing:
    d0_30: int
    d31_60: int
    d61_90: int
    d90_plus: int

    @property
    def total(self) -> int:
        return self.d0_30 + self.d31_60 + self.d61_90 + self.d90_plus


@dataclass(frozen=True)
class DailyReport:
    day: date
    orders: int
    orders_value_paisa: int
    outstanding_paisa: int
    overdue_paisa: int


async def balances(
    conn: asyncpg.Connection, retailer_id: int, *, actor: Actor, now: datetime | None = None
) -> Balances:
    """What a retailer owes each vendor and in total, with overdue amounts and the next due date."""
    await access.require_sees_retailer(conn, actor, retailer_id)
    rows = await conn.fetch(
        f"""WITH due AS ({_OUTSTANDING} AND o.retailer_id = $1)
            SELECT a.vendor_id, v.shop_name, a.balance_paisa,
                   COALESCE((SELECT sum(outstanding) FROM due
                             WHERE due.vendor_id = a.vendor_id
                               AND due.due_at < COALESCE($2, now())), 0) AS overdue,
                   (SELECT min(due_at) FROM due
                    WHERE due.vendor_id = a.vendor_id AND due.outstanding > 0
                      AND due.due_at >= COALESCE($2, now())) AS next_due_at
            FROM ledger_accounts a JOIN vendors v ON v.user_id = a.vendor_id
            WHERE a.retailer_id = $1 AND (a.balance_paisa <> 0 OR a.version > 0)
              AND ($3::bigint IS NULL OR a.vendor_id = $3)
            ORDER BY v.shop_name, a.vendor_id""",
        retailer_id, now,
        actor.id if actor.role == "VENDOR" else None,  # a vendor sees only their own account
    )
    vendors = tuple(
        VendorBalance(r["vendor_id"], r["shop_name"], r["balance_paisa"], int(r["overdue"]),
                      r["next_due_at"])
        for r in rows
    )
    dues = [v.next_due_at for v in vendors if v.next_due_at is not None]
    return Balances(
        total_paisa=sum(v.balance_paisa for v in vendors),
        overdue_paisa=sum(v.overdue_paisa for v in vendors),
        next_due_at=min(dues) if dues else None, vendors=vendors,
    )


async def receivables(
    conn: asyncpg.Connection, vendor_id: int, *, actor: Actor, now: datetime | None = None
) -> list[RetailerBalance]:
    """Who owes a vendor what, largest first."""
    access.require_sees_vendor(actor, vendor_id)
    rows = await conn.fetch(
        f"""WITH due AS ({_OUTSTANDING} AND o.vendor_id = $1)
            SELECT a.retailer_id, r.shop_name, a.balance_paisa, r.credit_limit_paisa,
                   COALESCE((SELECT sum(outstanding) FROM due
                             WHERE due.retailer_id = a.retailer_id
                               AND due.due_at < COALESCE($2, now())), 0) AS overdue
            FROM ledger_accounts a JOIN retailers r ON r.user_id = a.retailer_id
            WHERE a.vendor_id = $1 AND a.balance_paisa <> 0
            ORDER BY a.balance_paisa DESC, a.retailer_id LIMIT $3""",
        vendor_id, now, MAX_ROWS,
    )
    return [RetailerBalance(r["retailer_id"], r["shop_name"], r["balance_paisa"],
                            int(r["overdue"]), r["credit_limit_paisa"]) for r in rows]


_SUMMARY = f"""
    SELECT o.id, o.number, o.status, o.vendor_id, v.shop_name AS vendor_name, o.retailer_id,
           r.shop_name, o.total_paisa, o.created_at, o.due_at, {PAID_SQL} AS paid
    FROM orders o JOIN retailers r ON r.user_id = o.retailer_id
    LEFT JOIN vendors v ON v.user_id = o.vendor_id"""


def _summary(row: asyncpg.Record) -> OrderSummary:
    return OrderSummary(
        id=row["id"], number=row["number"], status=row["status"], vendor_id=row["vendor_id"],
        vendor_name=row["vendor_name"], retailer_id=row["retailer_id"],
        shop_name=row["shop_name"], total_paisa=row["total_paisa"],
        created_at=row["created_at"],
        payment_status=payment_status(row["total_paisa"], int(row["paid"])),
        due_at=row["due_at"],
    )


# Shared with ledger.order_list (the web's order lists).
SUMMARY_SQL = _SUMMARY
summary = _summary


async def open_orders(
    conn: asyncpg.Connection, *, actor: Actor, retailer_id: int | None = None,
    vendor_id: int | None = None, limit: int = 50,
) -> list[OrderSummary]:
    """Confirmed orders not finished yet, oldest first (a vendor's queue, a retailer's status).
    Bills imported from a vendor's book were never placed here: they are dues, not orders."""
    await access.require_sees(conn, actor, retailer_id=retailer_id, vendor_id=vendor_id)
    # A vendor's open orders are those offered to or taken by them: an order is PENDING only
    # while no vendor holds it (ledger.assignment), so the vendor's open-orders index (a
    # partial one, without PENDING) finds them instead of a scan of every order.
    # The conditions are spelt out for the ids given, not `($1 IS NULL OR ...)`: once
    # PostgreSQL keeps a generic plan for the statement, such an OR can use no index.
    by_vendor = (f"o.vendor_id = $2 AND o.status IN {sql_list(HELD_STATUSES)}"
                 if vendor_id is not None else "$2::bigint IS NULL")
    # A shop's: the open orders' index (migration 027), whose predicate is spelt as constants.
    by_retailer = (f"o.retailer_id = $1 AND o.status IN {sql_list(OPEN_STATUSES)}"
                   if retailer_id is not None else "$1::bigint IS NULL")
    rows = await conn.fetch(
        f"""{_SUMMARY}
            WHERE o.status = ANY($4::text[]) AND o.source = 'live'
              AND {by_retailer} AND {by_vendor}
            ORDER BY o.created_at, o.id LIMIT $3""",
        retailer_id, vendor_id, min(limit, MAX_ROWS), list(OPEN_STATUSES),
    )
    return [_summary(r) for r in rows]


async def history(
    conn: asyncpg.Connection, retailer_id: int, *, actor: Actor, limit: int = 5,
    with_drafts: bool = False,
) -> list[OrderSummary]:
    """A retailer's last placed orders, newest first ("pahile jastai" repeats the first); drafts
    they dropped only `with_drafts` (they were never orders)."""
    await access.require_sees_retailer(conn, actor, retailer_id)
    rows = await conn.fetch(
        f"""{_SUMMARY}
            WHERE o.retailer_id = $1 AND o.status <> $3
              AND ($4 OR o.confirmed_at IS NOT NULL)
            ORDER BY o.created_at DESC, o.id DESC LIMIT $2""",
        retailer_id, min(limit, MAX_ROWS), "DRAFT", with_drafts,
    )
    return [_summary(r) for r in rows]


async def _balance_before(conn: asyncpg.Connection, retailer_id: int, vendor_id: int | None,
                          moment: datetime) -> int:
    """What the accounts' entries that happened before `moment` sum to: today's balances less
    what happened since (a balance is the sum of its entries; the ledger check holds it), so
    the work is the entries since `moment` (migration 027's index), not the whole history."""
    return int(await conn.fetchval(
        """WITH accounts AS (
               SELECT id, balance_paisa FROM ledger_accounts
               WHERE retailer_id = $1 AND ($2::bigint IS NULL OR vendor_id = $2))
           SELECT (SELECT COALESCE(sum(balance_paisa), 0) FROM accounts)
                  - (SELECT COALESCE(sum(e.amount_paisa), 0)
                     FROM accounts a JOIN ledger_entries e ON e.account_id = a.id
                     WHERE e.happened_at >= $3)""",
        retailer_id, vendor_id, moment))


async def statement(
    conn: asyncpg.Connection, retailer_id: int, start: datetime, end: datetime, *,
    actor: Actor, vendor_id: int | None = None, limit: int = 1000,
) -> Statement:
    """Entries that happened in [start, end) with the running balance, opening and closing
    balances (a vendor sees only their own account with the retailer). An imported entry
    counts on the day it happened, not the day it was imported."""
    await access.require_sees(conn, actor, retailer_id=retailer_id, vendor_id=vendor_id)
    if actor.role == "VENDOR" and vendor_id is None:
        vendor_id = actor.id
    opening = await _balance_before(conn, retailer_id, vendor_id, start)
    rows = await conn.fetch(
        """SELECT e.happened_at, e.kind, o.number, v.shop_name, e.amount_paisa, e.reason
           FROM ledger_entries e
           JOIN ledger_accounts a ON a.id = e.account_id
           JOIN vendors v ON v.user_id = a.vendor_id
           LEFT JOIN orders o ON o.id = e.order_id
           WHERE a.retailer_id = $1 AND ($2::bigint IS NULL OR a.vendor_id = $2)
             AND e.happened_at >= $3 AND e.happened_at < $4
           ORDER BY e.happened_at, e.id LIMIT $5""",
        retailer_id, vendor_id, start, end, limit,
    )
    running = int(opening)
    lines = []
    for r in rows:
        running += r["amount_paisa"]
        lines.append(StatementLine(r["happened_at"], r["kind"], r["number"], r["shop_name"],
                                   r["amount_paisa"], running, r["reason"]))
    closing = running
    if len(rows) == limit:
        # Lines were cut at the limit; the closing balance still covers the whole range.
        closing = await _balance_before(conn, retailer_id, vendor_id, end)
    return Statement(opening_paisa=int(opening), closing_paisa=closing, lines=tuple(lines))


def _aged(at: str) -> str:
    """The four ageing sums over `due`'s rows as of `at` (a placeholder, or NULL for now): by
    whole days since billing, as `extract(day FROM at - accepted_at)` counts them (a difference
    of timestamps is whole days and a remainder, so "at most 30 days" is "less than 31 x 24
    hours"), spelt as comparisons of the billing time: a town's open bills are thousands of rows,
    and the numeric day count cost more than reading them."""
    bounds = [f"COALESCE({at}::timestamptz, now()) - interval '{24 * days} hours'"
              for days in (31, 61, 91)]
    return f"""COALESCE(sum(outstanding) FILTER (WHERE accepted_at > {bounds[0]}), 0) AS d0,
        COALESCE(sum(outstanding) FILTER (WHERE accepted_at <= {bounds[0]}
                                            AND accepted_at > {bounds[1]}), 0) AS d31,
        COALESCE(sum(outstanding) FILTER (WHERE accepted_at <= {bounds[1]}
                                            AND accepted_at > {bounds[2]}), 0) AS d61,
        COALESCE(sum(outstanding) FILTER (WHERE accepted_at <= {bounds[2]}), 0) AS d90"""


async def ageing(
    conn: asyncpg.Connection, *, actor: Actor, retailer_id: int | None = None,
    vendor_id: int | None = None, now: datetime | None = None,
) -> Ageing:
    """Outstanding order amounts by days since billing: 0-30, 31-60, 61-90, over 90."""
    await access.require_sees(conn, actor, retailer_id=retailer_id, vendor_id=vendor_id)
    # Spelt out for the ids given (see open_orders): a generic plan of `($1 IS NULL OR ...)`
    # can use no index.
    by_retailer = "o.retailer_id = $1" if retailer_id is not None else "$1::bigint IS NULL"
    by_vendor = "o.vendor_id = $2" if vendor_id is not None else "$2::bigint IS NULL"
    row = await conn.fetchrow(
        f"""WITH due AS ({_OUTSTANDING} AND {by_retailer} AND {by_vendor})
            SELECT {_aged("$3")} FROM due""",
        retailer_id, vendor_id, now,
    )
    assert row is not None
    return Ageing(int(row["d0"]), int(row["d31"]), int(row["d61"]), int(row["d90"]))


async def ageing_by_retailer(
    conn: asyncpg.Connection, vendor_id: int, *, actor: Actor, now: datetime | None = None,
) -> dict[int, Ageing]:
    """A vendor's outstanding amounts by days since billing, per retailer, in one statement
    (the receivables page); retailers owing nothing are left out."""
    access.require_sees_vendor(actor, vendor_id)
    rows = await conn.fetch(
        f"""WITH due AS ({_OUTSTANDING} AND o.vendor_id = $1)
            SELECT retailer_id, {_aged("$2")} FROM due GROUP BY retailer_id""",
        vendor_id, now,
    )
    return {r["retailer_id"]: Ageing(int(r["d0"]), int(r["d31"]), int(r["d61"]), int(r["d90"]))
            for r in rows}


_PLACED = """SELECT count(*) AS orders, COALESCE(sum(total_paisa), 0) AS value FROM orders
              WHERE confirmed_at >= $1 AND confirmed_at < $2"""
# What is owed now on bills due before $1: the bills that owe (migration 030), by due date.
_OVERDUE_NOW = "SELECT COALESCE(sum(owing_paisa), 0) FROM bills_owing WHERE due_at < $1"


async def daily_report(
    conn: asyncpg.Connection, day: date, *, actor: Actor, tz: str = "Asia/Kathmandu"
) -> DailyReport:
    """An admin's numbers for one local day: orders confirmed and their value; what is owed and
    overdue at the day's end. A day not over yet (today) reads what is owed now from the
    accounts' balances and the open bills, so it costs the same for a year of orders as for a
    week; a past day is worked out from the entries as they stood at its end."""
    require_role(actor, "report.daily", *STAFF)
    zone = ZoneInfo(tz)
    start = datetime.combine(day, time(), zone)
    end = datetime.combine(day + timedelta(days=1), time(), zone)
    if end > await conn.fetchval("SELECT now()"):
        placed = await conn.fetchrow(_PLACED, start, end)
        assert placed is not None
        outstanding = await conn.fetchval(
            "SELECT COALESCE(sum(balance_paisa), 0) FROM ledger_accounts")
        overdue = await conn.fetchval(_OVERDUE_NOW, end)
        return DailyReport(day=day, orders=placed["orders"],
                           orders_value_paisa=int(placed["value"]),
                           outstanding_paisa=int(outstanding), overdue_paisa=int(overdue))
    row = await conn.fetchrow(
        f"""SELECT
              (SELECT count(*) FROM orders WHERE confirmed_at >= $1 AND confirmed_at < $2)
                  AS orders,
              (SELECT COALESCE(sum(total_paisa), 0) FROM orders
               WHERE confirmed_at >= $1 AND confirmed_at < $2) AS value,
              (SELECT COALESCE(sum(amount_paisa), 0) FROM ledger_entries WHERE happened_at < $2)
                  AS outstanding,
              (SELECT COALESCE(sum(outstanding), 0) FROM ({_OUTSTANDING_AT_END}) due
               WHERE due.due_at < $2) AS overdue""",
        start, end, list(BILLED_STATUSES), "CANCELLED",
    )
    assert row is not None
    return DailyReport(day=day, orders=row["orders"], orders_value_paisa=int(row["value"]),
                       outstanding_paisa=int(row["outstanding"]),
                       overdue_paisa=int(row["overdue"]))


@dataclass(frozen=True)
class FailedMessage:
    recipient: str
    error: str


@dataclass(frozen=True)
class AdminReport:
    """What staff see with "report": the day's figures, messages that could not be delivered,
    and registrations waiting for them."""

    daily: DailyReport
    failed_count: int
    failed: tuple[FailedMessage, ...]  # the latest few
    pending_registrations: int


FAILED_SHOWN = 5


async def admin_report(
    conn: asyncpg.Connection, actor: Actor, day: date, *, tz: str = "Asia/Kathmandu"
) -> AdminReport:
    require_role(actor, "report.daily", *STAFF)
    start = datetime.combine(day, time(), ZoneInfo(tz))
    failed = await conn.fetch(
        """SELECT recipient, last_error FROM outbox WHERE status = 'failed' AND created_at >= $1
           ORDER BY id DESC LIMIT $2""", start, FAILED_SHOWN)
    failed_count = await conn.fetchval(
        "SELECT count(*) FROM outbox WHERE status = 'failed' AND created_at >= $1", start)
    return AdminReport(
        daily=await daily_report(conn, day, actor=actor, tz=tz), failed_count=int(failed_count),
        failed=tuple(FailedMessage(r["recipient"], (r["last_error"] or "")[:60]) for r in failed),
        pending_registrations=await registrations.count_pending(conn),
    )


@dataclass(frozen=True)
class FailedRow:
    """A message that could not be delivered, for staff to follow up."""

    id: int
    recipient: str          # the WhatsApp address it was for
    user_id: int | None     # who that is, when we know them
    name: str | None
    kind: str               # text, interactive, template, document…
    preview: str            # the start of what it said
    error: str
    attempts: int
    created_at: datetime


MAX_FAILED_PAGE = 100


async def failed_messages(
    conn: asyncpg.Connection, actor: Actor, *, before_id: int | None = None, limit: int = 50,
) -> list[FailedRow]:
    """The outbox's failed messages, newest first, with the reason each failed (the Graph API's
    answer, or the delivery status it sent later); `before_id` pages on. Staff only."""
    require_role(actor, "messages.failed", *STAFF)
    rows = await conn.fetch(
        """SELECT o.id, o.recipient, o.payload->>'type' AS kind,
                  left(COALESCE(o.payload->'text'->>'body',
                                o.payload->'interactive'->'body'->>'text',
                                o.payload->'template'->>'name',
                                o.payload->'document'->>'filename', ''), 120) AS preview,
                  COALESCE(o.last_error, '') AS error, o.attempts, o.created_at,
                  u.id AS user_id, u.name
           FROM outbox o
           LEFT JOIN LATERAL (SELECT id, name FROM users
                              WHERE wa_id = o.recipient OR wa_user_id = o.recipient
                              ORDER BY id LIMIT 1) u ON true
           WHERE o.status = 'failed' AND ($1::bigint IS NULL OR o.id < $1)
           ORDER BY o.id DESC LIMIT $2""",
        before_id, max(1, min(limit, MAX_FAILED_PAGE)))
    return [FailedRow(r["id"], r["recipient"], r["user_id"], r["name"], r["kind"] or "",
                      r["preview"], r["error"][:300], r["attempts"], r["created_at"])
            for r in rows]
