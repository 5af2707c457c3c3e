"""Payments: recorded once, allocated oldest order first, statuses computed, reversible."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from ledger import check, orders, payments
from ledger.errors import (
    IdempotencyConflict,
    NotPermitted,
    NotYourOrder,
    OrderHasPayments,
    PaymentExceedsBalance,
)
from tests.ledger.conftest import World, line
from tests.ledger.helpers import accepted_order

T0 = datetime(2025, 3, 1, 4, 0, tzinfo=UTC)


async def test_partial_payment_is_allocated_oldest_order_first(
    conn: asyncpg.Connection, world: World
) -> None:
    old = await accepted_order(conn, world.retailer, world.vendor, [line("TEL", 1)], T0)
    new = await accepted_order(conn, world.retailer, world.vendor, [line("TEL", 2)],
                               T0 + timedelta(days=1))
    paid = await payments.record(
        conn, retailer_id=world.retailer.id, vendor_id=world.vendor.id, amount_paisa=30_000,
        method="esewa", reference="ES-1", actor=world.vendor, idempotency_key="pay-1",
    )
    assert [(a.order_number, a.amount_paisa, a.payment_status) for a in paid.allocations] == [
        (old.number, 24_000, "PAID"), (new.number, 6_000, "PARTIAL")]
    assert paid.balance_paisa == 72_000 - 30_000
    assert (await orders.get(conn, new.id)).outstanding_paisa == 42_000
    assert (await check.run(conn)).lines() == []


async def test_payment_retry_returns_the_same_result(
    conn: asyncpg.Connection, world: World
) -> None:
    await accepted_order(conn, world.retailer, world.vendor, [line("TEL", 1)])
    kwargs = dict(retailer_id=world.retailer.id, vendor_id=world.vendor.id, amount_paisa=1000,
                  method="cash", actor=world.vendor, idempotency_key="pay-1")
    first = await payments.record(conn, **kwargs)  # type: ignore[arg-type]
    again = await payments.record(conn, **kwargs)  # type: ignore[arg-type]
    assert again.replayed and again.payment_id == first.payment_id and again.entry == first.entry
    assert await conn.fetchval("SELECT count(*) FROM payments") == 1
    with pytest.raises(IdempotencyConflict):
        await payments.record(conn, **{**kwargs, "amount_paisa": 2000})  # type: ignore[arg-type]


async def test_payment_above_the_balance_is_refused(conn: asyncpg.Connection, world: World) -> None:
    await accepted_order(conn, world.retailer, world.vendor, [line("TEL", 1)])
    with pytest.raises(PaymentExceedsBalance) as caught:
        await payments.record(
            conn, retailer_id=world.retailer.id, vendor_id=world.vendor.id,
            amount_paisa=24_001, method="cash", actor=world.vendor, idempotency_key="p")
    assert caught.value.params == {"amount_paisa": 24_001, "balance_paisa": 24_000}


async def test_only_the_vendor_paid_or_staff_record_payments(
    conn: asyncpg.Connection, world: World
) -> None:
    order = await accepted_order(conn, world.retailer, world.vendor, [line("TEL", 1)])
    for who in (world.vendor2, world.retailer):
        with pytest.raises(NotPermitted):
            await payments.record(
                conn, retailer_id=world.retailer.id, vendor_id=world.vendor.id,
                amount_paisa=100, method="cash", actor=who, idempotency_key="p")
    with pytest.raises(NotYourOrder):
        await payments.record_for_order(conn, order.number, 100, "cash", actor=world.vendor2,
                                        idempotency_key="p")
    done = await payments.record_for_order(conn, order.number, 100, "fonepay", "FP-9",
                                           actor=world.operator, idempotency_key="p")
    assert done.balance_paisa == 23_900


async def test_delivered_order_completes_when_paid(conn: asyncpg.Connection, world: World) -> None:
    order = await accepted_order(conn, world.retailer, world.vendor, [line("TEL", 1)])
    await orders.dispatch(conn, order.id, world.vendor)
    delivered = await orders.deliver(conn, order.id, world.vendor)
    assert delivered.status == "DELIVERED"
    await payments.record_for_order(conn, order.id, 24_000, "cash", actor=world.vendor,
                                    idempotency_key="p")
    done = await orders.get(conn, order.id)
    assert (done.status, done.payment_status) == ("COMPLETED", "PAID")


async def test_reversed_payment_stops_counting(conn: asyncpg.Connection, world: World) -> None:
    order = await accepted_order(conn, world.retailer, world.vendor, [line("TEL", 1)])
    paid = await payments.record_for_order(conn, order.id, 24_000, "cheque", "CHQ-1",
                                           actor=world.vendor, idempotency_key="p")
    assert (await orders.get(conn, order.id)).payment_status == "PAID"
    with pytest.raises(NotPermitted):
        await payments.reverse_payment(conn, paid.payment_id, world.vendor, "bounced",
                                       idempotency_key="r")
    reversal = await payments.reverse_payment(conn, paid.payment_id, world.admin, "cheque bounced",
                                              idempotency_key="r")
    assert reversal.balance_after_paisa == 24_000
    again = await orders.get(conn, order.id)
    assert (again.payment_status, again.outstanding_paisa) == ("UNPAID", 24_000)
    assert await conn.fetchval(
        "SELECT reason FROM audit_log WHERE action = 'payment.reverse'") == "cheque bounced"


async def test_cancelling_a_paid_order_is_refused(conn: asyncpg.Connection, world: World) -> None:
    order = await accepted_order(conn, world.retailer, world.vendor, [line("TEL", 1)])
    await payments.record_for_order(conn, order.id, 1000, "cash", actor=world.vendor,
                                    idempotency_key="p")
    with pytest.raises(OrderHasPayments):
        await orders.cancel(conn, order.id, world.admin, "wrong order")
    assert (await orders.get(conn, order.id)).status == "ACCEPTED"


async def test_payment_without_an_idempotency_key_is_refused(
    conn: asyncpg.Connection, world: World
) -> None:
    await accepted_order(conn, world.retailer, world.vendor, [line("TEL", 1)])
    for bad in ("", "x" * 300):
        with pytest.raises(ValueError, match="idempotency key"):
            await payments.record(
                conn, retailer_id=world.retailer.id, vendor_id=world.vendor.id,
                amount_paisa=1000, method="cash", actor=world.vendor, idempotency_key=bad)
    assert await conn.fetchval("SELECT count(*) FROM payments") == 0
