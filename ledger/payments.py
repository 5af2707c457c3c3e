"""Payments from retailers to vendors: recorded once, posted to the ledger, allocated to orders.

A payment is allocated to the retailer's billed orders with that vendor, oldest first; each order
is then UNPAID, PARTIAL or PAID (computed from live allocations, never stored by hand). A reversed
payment (a bounced cheque) keeps its rows but stops counting. Payments more than the balance are
refused: an advance has nothing to be allocated to.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args

import asyncpg

from ledger import lifecycle, postings
from ledger.actors import Actor, clean_reason, is_staff
from ledger.audit import audit
from ledger.errors import (
    IdempotencyConflict,
    IllegalTransition,
    InvalidAmount,
    NotPermitted,
    NotReversible,
    PaymentExceedsBalance,
)
from ledger.lifecycle import BILLED_STATUSES
from ledger.order_repo import (
    PAID_SQL,
    OrderRef,
    PaymentStatus,
    payment_status,
    visible,
)
from ledger.postings import MAX_AMOUNT_PAISA, Entry, Posting, is_paisa

Method = Literal["cash", "bank", "esewa", "khalti", "fonepay", "cheque", "other"]
METHODS: tuple[str, ...] = get_args(Method)
MAX_REFERENCE = 100
MAX_PAYMENT_KEY = postings.MAX_KEY_LENGTH - len("payment:")


@dataclass(frozen=True)
class Allocation:
    order_id: int
    order_number: str
    amount_paisa: int
    payment_status: PaymentStatus


@dataclass(frozen=True)
class PaymentResult:
    payment_id: int
    entry: Entry
    allocations: tuple[Allocation, ...]
    balance_paisa: int  # of this retailer x vendor account, after the payment
    replayed: bool = False


def _entry_key(payment_key: str) -> str:
    return f"payment:{payment_key}"


async def record(
    conn: asyncpg.Connection,
    *,
    retailer_id: int,
    vendor_id: int,
    amount_paisa: int,
    method: str,
    reference: str = "",
    actor: Actor,
    idempotency_key: str,
    now: datetime | None = None,
    stated_by: int | None = None,
    acknowledged_by: int | None = None,
) -> PaymentResult:
    """Record a payment (vendor for itself, operator or admin), post it and allocate it.

    The entry says who stated the payment (`stated_by`, by default the actor: a retailer whose
    claim the vendor confirms states it, and the vendor acknowledges it) and who acknowledged it.
    """
    if not is_staff(actor) and not (actor.role == "VENDOR" and actor.id == vendor_id):
        raise NotPermitted(action="payment.record", role=actor.role)
    if not is_paisa(amount_paisa) or not 0 < amount_paisa <= MAX_AMOUNT_PAISA:
        raise InvalidAmount(amount_paisa=amount_paisa)
    if method not in METHODS:
        raise ValueError(f"unknown payment method {method!r}")
    # An empty key would make every keyless payment a "retry" of the first one.
    if not idempotency_key or len(idempotency_key) > MAX_PAYMENT_KEY:
        raise ValueError(f"idempotency key must be 1..{MAX_PAYMENT_KEY} characters")
    reference = " ".join(reference.split())[:MAX_REFERENCE]
    async with conn.transaction():
        account = (await postings.lock_accounts(conn, [(retailer_id, vendor_id)]))[
            (retailer_id, vendor_id)]
        # Looked up after the lock: a retry racing the original sees it committed.
        earlier = await conn.fetchrow(
            "SELECT * FROM payments WHERE idempotency_key = $1", idempotency_key
        )
        if earlier is not None:
            same = (earlier["retailer_id"], earlier["vendor_id"], earlier["amount_paisa"],
                    earlier["method"], earlier["reference"]) == (
                        retailer_id, vendor_id, amount_paisa, method, reference)
            if not same:
                raise IdempotencyConflict(key=idempotency_key)
            return await _result(conn, earlier["id"], idempotency_key, replayed=True)
        if amount_paisa > account.balance_paisa:
            raise PaymentExceedsBalance(amount_paisa=amount_paisa,
                                        balance_paisa=account.balance_paisa)
        payment_id = await conn.fetchval(
            """INSERT INTO payments (retailer_id, vendor_id, amount_paisa, method, reference,
                                     recorded_by, idempotency_key, received_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, COALESCE($8, now())) RETURNING id""",
            retailer_id, vendor_id, amount_paisa, method, reference, actor.id, idempotency_key,
            now,
        )
        await postings.post(conn, Posting(
            idempotency_key=_entry_key(idempotency_key), retailer_id=retailer_id,
            vendor_id=vendor_id, kind="PAYMENT_DEBIT", amount_paisa=-amount_paisa,
            actor_id=actor.id, reason=f"{method} {reference}".strip(), payment_id=payment_id,
            stated_by=stated_by, acknowledged_by=acknowledged_by,
        ), now=now)
        await _allocate(conn, payment_id, retailer_id, vendor_id, amount_paisa)
        await _complete_paid(conn, payment_id, actor.id, now)
        return await _result(conn, payment_id, idempotency_key)


async def record_for_order(
    conn: asyncpg.Connection,
    order: OrderRef,
    amount_paisa: int,
    method: str,
    reference: str = "",
    *,
    actor: Actor,
    idempotency_key: str,
    now: datetime | None = None,
) -> PaymentResult:
    """"paid KH-000123 5000": the order names the account; allocation is still oldest first."""
    found = await visible(conn, order, actor)  # ownership before anything about its state
    if found.status not in BILLED_STATUSES:
        raise IllegalTransition(order=found.number, from_status=found.status, to_status="PAID")
    assert found.vendor_id is not None, "a billed order has its vendor"
    return await record(
        conn, retailer_id=found.retailer_id, vendor_id=found.vendor_id,
        amount_paisa=amount_paisa, method=method, reference=reference, actor=actor,
        idempotency_key=idempotency_key, now=now,
    )


async def reverse_payment(
    conn: asyncpg.Connection, payment_id: int, actor: Actor, reason: str, *,
    idempotency_key: str, now: datetime | None = None,
) -> Entry:
    """Undo a payment (bounced cheque, wrong entry): a REVERSAL entry; its allocations lapse."""
    if not is_staff(actor):
        raise NotPermitted(action="payment.reverse", role=actor.role)
    why = clean_reason(reason, "payment.reverse")
    async with conn.transaction():
        payment = await conn.fetchrow("SELECT * FROM payments WHERE id = $1", payment_id)
        if payment is None:
            raise NotReversible(payment_id=payment_id)
        await postings.lock_accounts(conn, [(payment["retailer_id"], payment["vendor_id"])])
        debit = await conn.fetchval(
            "SELECT id FROM ledger_entries WHERE idempotency_key = $1",
            _entry_key(payment["idempotency_key"]),
        )
        assert debit is not None, "every payment has its PAYMENT_DEBIT"
        entry = await postings.reverse(
            conn, debit, idempotency_key=f"payment-reversal:{idempotency_key}",
            actor_id=actor.id, reason=why, now=now,
        )
        if not entry.replayed:
            await conn.execute("UPDATE payments SET reversed = true WHERE id = $1", payment_id)
            await audit(conn, actor.id, "payment.reverse", f"payment:{payment_id}", why,
                        {"entry_id": entry.id, "amount_paisa": payment["amount_paisa"]})
        return entry


@dataclass(frozen=True)
class Bill:
    """A billed order still owed on, as allocation sees it: oldest billed first."""

    order_id: int
    billed_at: datetime
    outstanding_paisa: int


async def open_bills(conn: asyncpg.Connection, retailer_id: int, vendor_id: int) -> list[Bill]:
    """The account's billed orders with something still owed, oldest billed first: the bills
    that owe (migration 030 keeps them as allocations are posted and payments reversed), so a
    payment reads the account's unpaid bills, not each open bill's allocations again."""
    rows = await conn.fetch(
        """SELECT order_id, accepted_at, owing_paisa FROM bills_owing
           WHERE retailer_id = $1 AND vendor_id = $2 ORDER BY accepted_at, order_id""",
        retailer_id, vendor_id,
    )
    return [Bill(r["order_id"], r["accepted_at"], r["owing_paisa"]) for r in rows]


def plan_allocation(bills: Iterable[Bill], amount: int) -> list[tuple[int, int]]:
    """(order id, share) of a payment of `amount`: oldest bill first, each paid off before the
    next gets anything. The one rule both live payments and imported books follow."""
    left = amount
    plan: list[tuple[int, int]] = []
    for bill in bills:
        if left == 0:
            break
        share = min(left, bill.outstanding_paisa)
        if share > 0:
            plan.append((bill.order_id, share))
            left -= share
    return plan


async def _allocate(
    conn: asyncpg.Connection, payment_id: int, retailer_id: int, vendor_id: int, amount: int
) -> None:
    """Oldest billed order first; the account lock (held) keeps two payments from racing."""
    plan = plan_allocation(await open_bills(conn, retailer_id, vendor_id), amount)
    if plan:
        await conn.executemany(
            """INSERT INTO payment_allocations (payment_id, order_id, amount_paisa)
               VALUES ($1, $2, $3)""",
            [(payment_id, order_id, share) for order_id, share in plan],
        )


async def _complete_paid(
    conn: asyncpg.Connection, payment_id: int, actor_id: int, now: datetime | None
) -> None:
    """Delivered orders this payment paid off are now COMPLETED."""
    # The status is a constant, not a parameter: a plan for any status was dearer than one for
    # this status, so PostgreSQL planned the statement afresh at every payment.
    rows = await conn.fetch(
        f"""SELECT o.id, o.number FROM orders o
            JOIN payment_allocations pa ON pa.order_id = o.id AND pa.payment_id = $1
            WHERE o.status IN {lifecycle.sql_list(("DELIVERED",))} AND {PAID_SQL} = o.total_paisa
            ORDER BY o.id
            FOR NO KEY UPDATE OF o""",
        payment_id,
    )
    for row in rows:
        await lifecycle.move(conn, row["id"], row["number"], "DELIVERED", "COMPLETED", actor_id,
                             "paid in full", now)


async def _result(
    conn: asyncpg.Connection, payment_id: int, key: str, replayed: bool = False
) -> PaymentResult:
    entry_id = await conn.fetchval(
        "SELECT id FROM ledger_entries WHERE idempotency_key = $1", _entry_key(key)
    )
    entry = await postings.get(conn, entry_id)
    assert entry is not None
    rows = await conn.fetch(
        f"""SELECT pa.order_id, o.number, pa.amount_paisa, o.total_paisa, {PAID_SQL} AS paid
            FROM payment_allocations pa JOIN orders o ON o.id = pa.order_id
            WHERE pa.payment_id = $1 ORDER BY o.accepted_at, o.id""",
        payment_id,
    )
    balance = await conn.fetchval(
        "SELECT balance_paisa FROM ledger_accounts WHERE id = $1", entry.account_id
    )
    return PaymentResult(
        payment_id=payment_id, entry=entry,
        allocations=tuple(
            Allocation(r["order_id"], r["number"], r["amount_paisa"],
                       payment_status(r["total_paisa"], int(r["paid"])))
            for r in rows
        ),
        balance_paisa=balance, replayed=replayed,
    )
