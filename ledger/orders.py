"""The order lifecycle service: drafts, confirmation, acceptance, dispatch, delivery, cancel.

Each function validates its actor (a retailer acts on its own orders, a vendor only on orders
assigned to it, staff on any), opens a transaction (a savepoint inside the caller's), and takes
locks in one order everywhere: retailer row, then order row, then stock rows (by sku), then
ledger accounts. Illegal transitions are refused here with a clear error and, underneath, by the
database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from ledger import assignment, credit, lifecycle, postings, pricing, ranking, stock
from ledger.actors import Actor, is_staff
from ledger.assignment import Outcome
from ledger.errors import (
    IdempotencyConflict,
    IllegalTransition,
    NotPermitted,
    NotYourOrder,
    NoVendorCanFill,
    OrderHasPayments,
    OrderNotEditable,
    OrderNotPaid,
)
from ledger.lifecycle import Status
from ledger.order_repo import (
    PAID_SQL,
    Order,
    OrderRef,
    find_with_retailer,
    get,
    lock,
    lock_ref,
    order_of,
    visible,
)
from ledger.postings import Posting

__all__ = [
    "Confirmation", "Order", "accept", "cancel", "complete", "confirm", "create_draft",
    "deliver", "dispatch", "expire_drafts", "get", "reject", "replace_draft_lines", "visible",
]

MAX_DRAFT_EXPIRY_BATCH = 500


@dataclass(frozen=True)
class Confirmation:
    order: Order
    outcome: Outcome | None  # None when this was a retry of an earlier confirmation
    replayed: bool = False


def _credit_key(order_id: int) -> str:
    return f"order:{order_id}:credit"


def _require_retailer_or_staff(actor: Actor, row: asyncpg.Record) -> None:
    if is_staff(actor):
        return
    if actor.role != "RETAILER" or actor.id != row["retailer_id"]:
        raise NotYourOrder(order=row["number"])


def _require_vendor_or_staff(actor: Actor, row: asyncpg.Record) -> None:
    if is_staff(actor):
        return
    if actor.role != "VENDOR" or actor.id != row["vendor_id"]:
        raise NotYourOrder(order=row["number"])


def _require_status(row: asyncpg.Record, to_status: Status, *allowed: str) -> None:
    if row["status"] not in allowed:
        raise IllegalTransition(order=row["number"], from_status=row["status"],
                                to_status=to_status)


async def _write_lines(
    conn: asyncpg.Connection, order_id: int, quote: pricing.Quote
) -> None:
    """The quote's lines as the order's, numbered from 1: one statement however many lines."""
    lines = quote.lines
    await conn.execute(
        """INSERT INTO order_lines (order_id, line_no, sku, quantity_milli, unit_text,
                                    unit_price_paisa, line_total_paisa)
           SELECT $1, l.n, l.sku, l.quantity_milli, l.unit_text, l.unit_price_paisa,
                  l.line_total_paisa
             FROM unnest($2::text[], $3::bigint[], $4::text[], $5::bigint[], $6::bigint[])
                  WITH ORDINALITY
                  AS l (sku, quantity_milli, unit_text, unit_price_paisa, line_total_paisa, n)""",
        order_id, [q.sku for q in lines], [q.quantity_milli for q in lines],
        [q.unit_text for q in lines], [q.unit_price_paisa for q in lines],
        [q.line_total_paisa for q in lines],
    )


async def create_draft(
    conn: asyncpg.Connection,
    retailer: Actor,
    lines: Sequence[pricing.LineRequest],
    *,
    request_key: str | None = None,
) -> Order:
    """A priced DRAFT for a retailer; the same `request_key` again returns the same draft."""
    if retailer.role != "RETAILER":
        raise NotPermitted(action="order.create", role=retailer.role)
    async with conn.transaction():
        if request_key is not None:
            existing = await conn.fetchrow(
                "SELECT id, retailer_id FROM orders WHERE request_key = $1", request_key
            )
            if existing is not None:
                if existing["retailer_id"] != retailer.id:
                    raise IdempotencyConflict(key=request_key)
                return await get(conn, existing["id"])
        await credit.require_active(conn, retailer.id)
        quote = await pricing.quote(conn, lines)
        # A new draft has no vendor and no payment yet; its lines are the quote's.
        row = await conn.fetchrow(
            """WITH d AS (SELECT padded_number('D-', nextval('order_draft_seq')) AS ref)
               INSERT INTO orders (retailer_id, total_paisa, request_key, number, draft_ref)
               SELECT $1, $2, $3, d.ref, d.ref FROM d
               ON CONFLICT (request_key) DO NOTHING
               RETURNING *, NULL::text AS vendor_name, 0 AS paid_paisa""",
            retailer.id, quote.total_paisa, request_key,
        )
        if row is None:  # the same request, committed concurrently
            return await get(conn, await find_by_request_key(conn, request_key))
        await _write_lines(conn, row["id"], quote)
        return order_of(row, quote.lines, priced_by=quote)


async def find_by_request_key(conn: asyncpg.Connection, request_key: str | None) -> int:
    found = await conn.fetchval("SELECT id FROM orders WHERE request_key = $1", request_key)
    assert found is not None
    return int(found)


async def replace_draft_lines(
    conn: asyncpg.Connection, order: OrderRef, retailer: Actor,
    lines: Sequence[pricing.LineRequest],
) -> Order:
    """Edit a draft: its lines are replaced and re-priced now."""
    async with conn.transaction():
        row = await lock_ref(conn, order)
        _require_retailer_or_staff(retailer, row)
        if row["status"] != "DRAFT":
            raise OrderNotEditable(order=row["number"], status=row["status"])
        quote = await pricing.quote(conn, lines)
        await conn.execute("DELETE FROM order_lines WHERE order_id = $1", row["id"])
        await _write_lines(conn, row["id"], quote)
        updated = await conn.fetchrow(
            f"""UPDATE orders o SET total_paisa = $2, updated_at = now() WHERE o.id = $1
                RETURNING o.*, {PAID_SQL} AS paid_paisa,
                          (SELECT shop_name FROM vendors WHERE user_id = o.vendor_id)
                              AS vendor_name""",
            row["id"], quote.total_paisa,
        )
        return order_of(updated, quote.lines, priced_by=quote)


async def confirm(
    conn: asyncpg.Connection,
    order: OrderRef,
    actor: Actor,
    *,
    confirm_key: str | None = None,
    now: datetime | None = None,
) -> Confirmation:
    """DRAFT -> PENDING within the credit limit, then offered to the best vendor."""
    order_id, retailer_id = await find_with_retailer(conn, order)
    async with conn.transaction():
        if confirm_key is not None:
            done = await conn.fetchval(
                "SELECT id FROM orders WHERE confirm_key = $1", confirm_key
            )
            if done is not None:
                if done != order_id:
                    raise IdempotencyConflict(key=confirm_key)
                return Confirmation(await get(conn, order_id), None, replayed=True)
        await credit.lock_retailer(conn, retailer_id)
        row = await lock(conn, order_id)
        _require_retailer_or_staff(actor, row)
        if confirm_key is not None and row["confirm_key"] == confirm_key:
            return Confirmation(await get(conn, order_id), None, replayed=True)
        _require_status(row, "PENDING", "DRAFT")
        lines = await conn.fetch(
            "SELECT sku, quantity_milli FROM order_lines WHERE order_id = $1", order_id)
        if not await ranking.candidates(conn, [(r["sku"], r["quantity_milli"]) for r in lines],
                                        limit=1):
            raise NoVendorCanFill(order=row["number"])  # never "placed" for nobody to take
        await credit.require_within_limit(conn, retailer_id, order_id, row["total_paisa"])
        if confirm_key is not None:
            await conn.execute(
                "UPDATE orders SET confirm_key = $2 WHERE id = $1", order_id, confirm_key
            )
        number = await conn.fetchval(
            """UPDATE orders SET number = padded_number('KH-', nextval('order_number_seq'))
               WHERE id = $1 AND number NOT LIKE 'KH-%' RETURNING number""", order_id)
        await lifecycle.move(conn, order_id, number or row["number"], "DRAFT", "PENDING",
                             actor.id, "confirmed", now)
        outcome = await assignment.offer_next(conn, order_id, now=now)
        return Confirmation(outcome.order, outcome)


async def accept(
    conn: asyncpg.Connection, order: OrderRef, vendor: Actor, *, now: datetime | None = None
) -> Order:
    """The assigned vendor accepts: credit re-checked, stock reserved, ORDER_CREDIT posted."""
    order_id, retailer_id = await find_with_retailer(conn, order)
    async with conn.transaction():
        await credit.lock_retailer(conn, retailer_id)
        row = await lock(conn, order_id)
        _require_vendor_or_staff(vendor, row)
        _require_status(row, "ACCEPTED", "VENDOR_ASSIGNED")
        await credit.require_within_limit(conn, retailer_id, order_id, row["total_paisa"])
        lines = await conn.fetch(
            "SELECT sku, quantity_milli FROM order_lines WHERE order_id = $1", order_id
        )
        await stock.reserve(conn, order_id, row["vendor_id"],
                            [(r["sku"], r["quantity_milli"]) for r in lines], now)
        await assignment.close_offer(conn, order_id, "ACCEPTED", now=now)
        # Due date from the retailer's terms at the time of billing.
        await conn.execute(
            """UPDATE orders SET accepted_at = COALESCE($2, now()),
                      due_at = COALESCE($2, now()) + make_interval(days => r.credit_terms_days)
               FROM retailers r WHERE orders.id = $1 AND r.user_id = orders.retailer_id""",
            order_id, now,
        )
        await lifecycle.move(conn, order_id, row["number"], "VENDOR_ASSIGNED", "ACCEPTED",
                             vendor.id, "accepted", now)
        # The vendor states the debt by accepting; the retailer acknowledged it by placing this
        # very order at this total (unless staff placed it for them).
        placed_by = await conn.fetchval(
            """SELECT actor_id FROM order_transitions WHERE order_id = $1 AND from_status = $2
               ORDER BY id LIMIT 1""", order_id, "DRAFT")
        await postings.post(conn, Posting(
            idempotency_key=_credit_key(order_id), retailer_id=retailer_id,
            vendor_id=row["vendor_id"], kind="ORDER_CREDIT", amount_paisa=row["total_paisa"],
            actor_id=vendor.id, reason=f"order {row['number']}", order_id=order_id,
            acknowledged_by=retailer_id if placed_by == retailer_id != vendor.id else None,
        ), now=now)
        return await get(conn, order_id)


async def reject(
    conn: asyncpg.Connection, order: OrderRef, vendor: Actor, reason: str = "",
    *, now: datetime | None = None,
) -> Outcome:
    """The assigned vendor declines; the order goes to the next vendor (or nobody)."""
    async with conn.transaction():
        row = await lock_ref(conn, order)
        order_id = row["id"]
        _require_vendor_or_staff(vendor, row)
        _require_status(row, "PENDING", "VENDOR_ASSIGNED")
        why = " ".join(reason.split())[:500] or "rejected by vendor"
        return await assignment.withdraw(
            conn, order_id, row["vendor_id"], "REJECTED", vendor.id, why, now
        )


async def dispatch(
    conn: asyncpg.Connection, order: OrderRef, actor: Actor, *, now: datetime | None = None
) -> Order:
    """The goods leave the vendor: the reserved stock is taken."""
    async with conn.transaction():
        row = await lock_ref(conn, order)
        order_id = row["id"]
        _require_vendor_or_staff(actor, row)
        _require_status(row, "DISPATCHED", "ACCEPTED")
        await stock.take(conn, order_id, now)
        await lifecycle.move(conn, order_id, row["number"], "ACCEPTED", "DISPATCHED", actor.id,
                             "dispatched", now)
        return await get(conn, order_id)


async def deliver(
    conn: asyncpg.Connection, order: OrderRef, actor: Actor, *, now: datetime | None = None
) -> Order:
    """Delivered; an order already paid in full completes at once. Delivering an accepted order
    dispatches it first: a vendor who hands the goods over at the counter skips a step, and both
    steps are logged."""
    async with conn.transaction():
        row = await lock_ref(conn, order)
        order_id = row["id"]
        _require_vendor_or_staff(actor, row)
        _require_status(row, "DELIVERED", "DISPATCHED", "ACCEPTED")
        if row["status"] == "ACCEPTED":
            await stock.take(conn, order_id, now)
            await lifecycle.move(conn, order_id, row["number"], "ACCEPTED", "DISPATCHED",
                                 actor.id, "dispatched on delivery", now)
        await lifecycle.move(conn, order_id, row["number"], "DISPATCHED", "DELIVERED", actor.id,
                             "delivered", now)
        # Payments allocate under the account lock; holding it, "paid" cannot change under us.
        await postings.lock_accounts(conn, [(row["retailer_id"], row["vendor_id"])])
        if await _paid(conn, order_id) == row["total_paisa"]:
            await lifecycle.move(conn, order_id, row["number"], "DELIVERED", "COMPLETED",
                                 actor.id, "delivered and paid", now)
        return await get(conn, order_id)


async def complete(
    conn: asyncpg.Connection, order: OrderRef, actor: Actor, *, now: datetime | None = None
) -> Order:
    """Close a delivered order that is paid in full."""
    async with conn.transaction():
        row = await lock_ref(conn, order)
        order_id = row["id"]
        _require_vendor_or_staff(actor, row)
        _require_status(row, "COMPLETED", "DELIVERED")
        paid = await _paid(conn, order_id)
        if paid != row["total_paisa"]:
            raise OrderNotPaid(order=row["number"], paid_paisa=paid,
                               total_paisa=row["total_paisa"])
        await lifecycle.move(conn, order_id, row["number"], "DELIVERED", "COMPLETED", actor.id,
                             "completed", now)
        return await get(conn, order_id)


async def cancel(
    conn: asyncpg.Connection, order: OrderRef, actor: Actor, reason: str = "",
    *, now: datetime | None = None,
) -> Order:
    """Cancel: the retailer before acceptance, staff up to dispatch.

    After acceptance the stock hold is released and the ORDER_CREDIT reversed; an order that
    already has payments allocated is refused (reverse the payment first).
    """
    async with conn.transaction():
        row = await lock_ref(conn, order)
        order_id = row["id"]
        _require_retailer_or_staff(actor, row)
        _require_status(row, "CANCELLED", *(
            lifecycle.STAFF_CANCELLABLE_STATUSES if is_staff(actor)
            else lifecycle.RETAILER_CANCELLABLE_STATUSES))
        why = " ".join(reason.split())[:500] or "cancelled"
        status = row["status"]
        if status == "VENDOR_ASSIGNED":
            await assignment.close_offer(conn, order_id, "WITHDRAWN", why, now)
        if status == "ACCEPTED":
            await stock.release(conn, order_id, now)
            await postings.lock_accounts(conn, [(row["retailer_id"], row["vendor_id"])])
            paid = await _paid(conn, order_id)
            if paid:
                raise OrderHasPayments(order=row["number"], paid_paisa=paid)
            credit_entry = await conn.fetchval(
                """SELECT id FROM ledger_entries WHERE idempotency_key = $1""",
                _credit_key(order_id),
            )
            assert credit_entry is not None, "an accepted order has its ORDER_CREDIT"
            await postings.reverse(
                conn, credit_entry, idempotency_key=f"{_credit_key(order_id)}:reversal",
                actor_id=actor.id, reason=f"order {row['number']} cancelled: {why}", now=now,
            )
        await lifecycle.move(conn, order_id, row["number"], status, "CANCELLED", actor.id, why,
                             now)
        return await get(conn, order_id)


async def expire_drafts(
    conn: asyncpg.Connection, now: datetime, ttl: timedelta, *, limit: int = 100
) -> list[Order]:
    """Cancel drafts left unconfirmed for longer than `ttl`; the bot tells each retailer."""
    limit = min(limit, MAX_DRAFT_EXPIRY_BATCH)
    async with conn.transaction():
        rows = await conn.fetch(
            """SELECT id, number FROM orders WHERE status = $3 AND created_at <= $1
               ORDER BY created_at, id LIMIT $2 FOR NO KEY UPDATE SKIP LOCKED""",
            now - ttl, limit, "DRAFT",
        )
        expired = []
        for row in rows:
            await lifecycle.move(conn, row["id"], row["number"], "DRAFT", "CANCELLED", None,
                                 "draft expired", now)
            expired.append(await get(conn, row["id"]))
        return expired


async def _paid(conn: asyncpg.Connection, order_id: int) -> int:
    return int(await conn.fetchval(f"SELECT {PAID_SQL} FROM orders o WHERE o.id = $1", order_id))
