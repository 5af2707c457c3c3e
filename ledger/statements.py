"""Statements both sides can trust: a retailer's account with a vendor (or with all of them) over
a period, as the entries say it happened: opening balance, every entry on the day it happened
(an imported bill on its bill's date) with what it was, its reference, who stated it and whether
the other side acknowledged it, the running balance, the closing balance and what is owed by
age. Read only; `bot.statement_doc` turns one into a PDF or CSV in the reader's language.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal

import asyncpg

from ledger import access, reports
from ledger.actors import Actor
from ledger.errors import UnknownRetailer
from locales.formats import NEPAL_TIME

What = Literal["order", "bill", "payment", "order_cancelled", "payment_reversed", "adjustment"]
MAX_LINES = 5000     # one statement's entries; a longer period is asked for in parts
MAX_VENDORS = 50     # vendors a retailer chooses between by chat


@dataclass(frozen=True)
class Party:
    user_id: int
    name: str          # the shop's name
    phone: str | None


@dataclass(frozen=True)
class Line:
    happened_on: date  # in Nepal
    what: What
    method: str | None  # a payment's
    reference: str      # the bill or receipt number, the order number, an adjustment's reason
    vendor_name: str
    debit_paisa: int    # the retailer owes more
    credit_paisa: int   # the retailer owes less
    balance_paisa: int  # running, over the accounts the statement covers
    acknowledged: bool  # the other side agreed (the retailer placed the order, the vendor
    imported: bool      # confirmed a claim); from a vendor's old book


@dataclass(frozen=True)
class Statement:
    retailer: Party
    vendor: Party | None   # None: every vendor the retailer deals with
    start: date | None     # None: from the first entry
    end: date              # inclusive, Nepal dates
    opening_paisa: int
    lines: tuple[Line, ...]
    closing_paisa: int
    ageing: reports.Ageing  # what is owed now, by days since billing
    generated_at: datetime
    truncated: bool         # more than MAX_LINES entries: only the first are listed

    @property
    def debits_paisa(self) -> int:
        return sum(line.debit_paisa for line in self.lines)

    @property
    def credits_paisa(self) -> int:
        return sum(line.credit_paisa for line in self.lines)


def _moment(day: date) -> datetime:
    return datetime.combine(day, time(), NEPAL_TIME)


async def party(conn: asyncpg.Connection, user_id: int) -> Party | None:
    row = await conn.fetchrow(
        """SELECT u.id, COALESCE(r.shop_name, v.shop_name, u.name) AS name, u.phone
           FROM users u LEFT JOIN retailers r ON r.user_id = u.id
           LEFT JOIN vendors v ON v.user_id = u.id WHERE u.id = $1""", user_id)
    return None if row is None else Party(row["id"], row["name"], row["phone"])


async def vendors_of(conn: asyncpg.Connection, actor: Actor, retailer_id: int) -> list[Party]:
    """The vendors a retailer has an account with, by name: what "statement" chooses from."""
    await access.require_sees_retailer(conn, actor, retailer_id)
    rows = await conn.fetch(
        """SELECT v.user_id, v.shop_name, u.phone FROM ledger_accounts a
           JOIN vendors v ON v.user_id = a.vendor_id JOIN users u ON u.id = v.user_id
           WHERE a.retailer_id = $1 AND a.version > 0
           ORDER BY v.shop_name, v.user_id LIMIT $2""", retailer_id, MAX_VENDORS)
    return [Party(r["user_id"], r["shop_name"], r["phone"]) for r in rows]


MAX_RETAILERS = 500  # shops a vendor chooses between on the statement page


async def retailers_of(conn: asyncpg.Connection, actor: Actor, vendor_id: int) -> list[Party]:
    """The retailers a vendor has an account with, by name: whom the vendor's statement page
    offers (the vendor itself or staff)."""
    access.require_sees_vendor(actor, vendor_id)
    rows = await conn.fetch(
        """SELECT r.user_id, r.shop_name, u.phone FROM ledger_accounts a
           JOIN retailers r ON r.user_id = a.retailer_id JOIN users u ON u.id = r.user_id
           WHERE a.vendor_id = $1 AND a.version > 0
           ORDER BY r.shop_name, r.user_id LIMIT $2""", vendor_id, MAX_RETAILERS)
    return [Party(r["user_id"], r["shop_name"], r["phone"]) for r in rows]


async def statement(
    conn: asyncpg.Connection, actor: Actor | None, *, retailer_id: int,
    vendor_id: int | None = None, start: date | None = None, end: date | None = None,
    now: datetime | None = None,
) -> Statement:
    """The statement of `retailer_id`'s account with `vendor_id` (None: all their accounts) for
    the Nepal days `start`..`end` (inclusive; None: from the first entry, up to today).

    A retailer reads their own; a vendor only their own account with a retailer they serve;
    staff any. `actor` None is the system (the command line, which its operator runs)."""
    if actor is not None:
        if actor.role == "VENDOR":
            vendor_id = actor.id if vendor_id is None else vendor_id
            access.require_sees_vendor(actor, vendor_id)
        await access.require_sees_retailer(conn, actor, retailer_id)
    retailer = await party(conn, retailer_id)
    if retailer is None or not await conn.fetchval(
            "SELECT true FROM retailers WHERE user_id = $1", retailer_id):
        raise UnknownRetailer(user_id=retailer_id)
    vendor = await party(conn, vendor_id) if vendor_id is not None else None
    moment = now or datetime.now(NEPAL_TIME)
    end = end or moment.astimezone(NEPAL_TIME).date()
    until = _moment(end + timedelta(days=1))
    since = _moment(start) if start is not None else None
    # Balances at the period's edges from what happened since: an account's balance is the sum
    # of its entries (the ledger check holds it), so the balance before `since` is today's less
    # what happened from then on. The work is the period's entries (migration 027's index by
    # account and time), not the account's whole history.
    sums = await conn.fetchrow(
        """WITH accounts AS (
               SELECT id, balance_paisa FROM ledger_accounts
               WHERE retailer_id = $1 AND ($2::bigint IS NULL OR vendor_id = $2)),
           later AS (
               SELECT COALESCE(sum(e.amount_paisa) FILTER (WHERE e.happened_at >= $3), 0)
                          AS since_start,
                      COALESCE(sum(e.amount_paisa) FILTER (WHERE e.happened_at >= $4), 0)
                          AS since_end
               FROM accounts a JOIN ledger_entries e ON e.account_id = a.id
               WHERE e.happened_at >= LEAST(COALESCE($3, $4), $4))
           SELECT b.balance - l.since_start AS opening, b.balance - l.since_end AS closing
           FROM (SELECT COALESCE(sum(balance_paisa), 0) AS balance FROM accounts) b, later l""",
        retailer_id, vendor_id, since, until)
    opening = int(sums["opening"]) if since is not None else 0
    rows = await conn.fetch(
        """SELECT e.happened_at, e.kind, e.amount_paisa, e.source, e.reason,
                  -- agreed on the entry itself, or afterwards ("Correct": ledger.provenance)
                  (e.acknowledged_by IS NOT NULL OR EXISTS (
                      SELECT 1 FROM audit_log l WHERE l.action = 'entry.acknowledge'
                        AND l.subject = 'entry:' || e.id)) AS acknowledged,
                  v.shop_name, o.number, o.reference AS bill, p.method, p.reference AS receipt,
                  po.number AS reversed_order, pp.reference AS reversed_receipt
           FROM ledger_entries e
           JOIN ledger_accounts a ON a.id = e.account_id
           JOIN vendors v ON v.user_id = a.vendor_id
           LEFT JOIN orders o ON o.id = e.order_id AND e.kind = 'ORDER_CREDIT'
           LEFT JOIN payments p ON p.id = e.payment_id AND e.kind = 'PAYMENT_DEBIT'
           LEFT JOIN orders po ON po.id = e.order_id AND e.kind = 'REVERSAL'
           LEFT JOIN payments pp ON pp.id = e.payment_id AND e.kind = 'REVERSAL'
           WHERE a.retailer_id = $1 AND ($2::bigint IS NULL OR a.vendor_id = $2)
             AND e.happened_at >= COALESCE($3::timestamptz, '-infinity') AND e.happened_at < $4
           ORDER BY e.happened_at, e.id LIMIT $5""",
        retailer_id, vendor_id, since, until, MAX_LINES + 1)
    lines: list[Line] = []
    running = opening
    for r in rows[:MAX_LINES]:
        amount = r["amount_paisa"]
        running += amount
        what, reference = _what(r)
        lines.append(Line(
            happened_on=r["happened_at"].astimezone(NEPAL_TIME).date(), what=what,
            method=r["method"], reference=reference, vendor_name=r["shop_name"],
            debit_paisa=max(amount, 0), credit_paisa=max(-amount, 0), balance_paisa=running,
            acknowledged=r["acknowledged"], imported=r["source"] == "import"))
    truncated = len(rows) > MAX_LINES
    # Rights were checked above for exactly this account (reports.ageing alone would not let a
    # retailer narrow to one vendor).
    ageing = await reports.ageing(conn, actor=_SYSTEM, retailer_id=retailer_id,
                                  vendor_id=vendor_id, now=now)
    return Statement(retailer=retailer, vendor=vendor, start=start, end=end,
                     opening_paisa=opening, lines=tuple(lines),
                     closing_paisa=int(sums["closing"]),
                     ageing=ageing, generated_at=moment, truncated=truncated)


def _what(r: asyncpg.Record) -> tuple[What, str]:
    kind = r["kind"]
    if kind == "ORDER_CREDIT":
        return ("bill", r["bill"]) if r["bill"] is not None else ("order", r["number"] or "")
    if kind == "PAYMENT_DEBIT":
        return "payment", r["receipt"] or ""
    if kind == "REVERSAL":
        if r["reversed_order"] is not None:
            return "order_cancelled", r["reversed_order"]
        return "payment_reversed", r["reversed_receipt"] or ""
    return "adjustment", r["reason"]


@dataclass(frozen=True)
class _System:
    """Who reads the ageing of an account whose rights `statement` checked itself."""

    id: int = 0
    role: str = "ADMIN"


_SYSTEM = _System()
