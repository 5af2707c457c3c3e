"""Payments both sides agree on: a retailer's claim is confirmed into a payment or rejected into a
dispute; a vendor's payment is agreed or disputed by its retailer within a window; a delivered
order is received or has a problem; vendors say how they want to be paid. Each checks who may,
and the database refuses any other change to claims, disputes and receipts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from ledger import claims, disputes, orders, payinfo, payments, provenance
from ledger.errors import (
    AlreadyDone,
    ClaimNotFound,
    DisputeTooLate,
    IdempotencyConflict,
    NotDelivered,
    NotPermitted,
    PaymentExceedsBalance,
    PaymentNotFound,
    TooManyClaims,
)
from tests.ledger.conftest import World, line
from tests.ledger.helpers import accepted_order

T0 = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)
WINDOW = timedelta(days=3)


async def _owing(conn: asyncpg.Connection, world: World, kg: float = 2) -> int:
    order = await accepted_order(conn, world.retailer, world.vendor, [line("TEL", kg)], T0)
    return order.total_paisa


async def test_a_confirmed_claim_is_posted_as_a_payment_stated_by_the_retailer(
    conn: asyncpg.Connection, world: World
) -> None:
    total = await _owing(conn, world)
    made = await claims.claim(conn, world.retailer, vendor_id=world.vendor.id,
                              amount_paisa=10_000, method="esewa", media_id="1493571161466011",
                              request_key="inbound:1")
    assert (made.ref, made.status, made.vendor_name) == ("C-000001", "pending", "Himal Traders")
    assert await conn.fetchval("SELECT count(*) FROM payments") == 0  # not money yet
    again = await claims.claim(conn, world.retailer, vendor_id=world.vendor.id,
                               amount_paisa=10_000, method="esewa", request_key="inbound:1")
    assert again.replayed and again.id == made.id
    with pytest.raises(IdempotencyConflict):
        await claims.claim(conn, world.retailer, vendor_id=world.vendor.id,
                           amount_paisa=20_000, method="esewa", request_key="inbound:1")

    done = await claims.confirm(conn, made.ref, world.vendor)
    assert done.claim.status == "confirmed" and done.claim.payment_id == done.payment.payment_id
    assert done.payment.balance_paisa == total - 10_000
    said = await provenance.of_entry(conn, done.payment.entry.id)
    assert said is not None
    assert (said.stated_by, said.acknowledged_by) == (world.retailer.id, world.vendor.id)
    with pytest.raises(AlreadyDone):
        await claims.confirm(conn, made.ref, world.vendor)
    with pytest.raises(AlreadyDone):
        await claims.reject(conn, made.ref, world.vendor)


async def test_only_what_is_owed_to_that_vendor_can_be_claimed_and_only_they_decide(
    conn: asyncpg.Connection, world: World
) -> None:
    total = await _owing(conn, world)
    with pytest.raises(PaymentExceedsBalance):
        await claims.claim(conn, world.retailer, vendor_id=world.vendor.id,
                           amount_paisa=total + 1, method="cash", request_key="k1")
    with pytest.raises(PaymentExceedsBalance):  # nothing owed to vendor2
        await claims.claim(conn, world.retailer, vendor_id=world.vendor2.id, amount_paisa=100,
                           method="cash", request_key="k2")
    with pytest.raises(NotPermitted):
        await claims.claim(conn, world.vendor, vendor_id=world.vendor.id, amount_paisa=100,
                           method="cash", request_key="k3")
    made = await claims.claim(conn, world.retailer, vendor_id=world.vendor.id, amount_paisa=100,
                              method="cash", request_key="k4")
    with pytest.raises(ClaimNotFound):  # another vendor, another retailer: it does not exist
        await claims.confirm(conn, made.ref, world.vendor2)
    with pytest.raises(ClaimNotFound):
        await claims.get(conn, made.ref, world.retailer2)
    with pytest.raises(NotPermitted):  # the retailer sees it but does not decide it
        await claims.confirm(conn, made.ref, world.retailer)
    staff_done = await claims.confirm(conn, made.ref, world.operator)
    assert staff_done.claim.status == "confirmed"


async def test_a_claim_not_received_becomes_a_dispute_staff_see(
    conn: asyncpg.Connection, world: World
) -> None:
    await _owing(conn, world)
    made = await claims.claim(conn, world.retailer, vendor_id=world.vendor.id,
                              amount_paisa=5_000, method="cash", request_key="k")
    rejected = await claims.reject(conn, made.ref, world.vendor)
    assert rejected.claim.status == "rejected"
    assert (rejected.dispute.kind, rejected.dispute.claim_ref, rejected.dispute.amount_paisa) == (
        "claim_not_received", made.ref, 5_000)
    assert await conn.fetchval("SELECT count(*) FROM payments") == 0
    listed, count = await disputes.open_disputes(conn, world.operator)
    assert [d.ref for d in listed] == [rejected.dispute.ref] and count == 1
    with pytest.raises(NotPermitted):
        await disputes.open_disputes(conn, world.vendor)


async def test_claims_waiting_are_bounded(conn: asyncpg.Connection, world: World) -> None:
    await _owing(conn, world, kg=10)
    for n in range(claims.MAX_PENDING):
        await claims.claim(conn, world.retailer, vendor_id=world.vendor.id, amount_paisa=100,
                           method="cash", request_key=f"k{n}")
    with pytest.raises(TooManyClaims):
        await claims.claim(conn, world.retailer, vendor_id=world.vendor.id, amount_paisa=100,
                           method="cash", request_key="one-more")


async def test_a_vendors_payment_is_agreed_or_disputed_by_its_retailer_within_the_window(
    conn: asyncpg.Connection, world: World
) -> None:
    await _owing(conn, world)
    paid = [await payments.record(conn, retailer_id=world.retailer.id, vendor_id=world.vendor.id,
                                  amount_paisa=1_000, method="cash", actor=world.vendor,
                                  idempotency_key=f"p{n}", now=T0 + timedelta(days=1))
            for n in range(3)]
    first, second, third = (disputes.payment_ref(p.payment_id) for p in paid)
    agreed = await claims.acknowledge_payment(conn, first, world.retailer)
    said = await provenance.of_entry(conn, agreed.entry_id)
    assert said is not None
    assert (said.stated_by, said.acknowledged_by) == (world.vendor.id, world.retailer.id)
    with pytest.raises(AlreadyDone):
        await claims.acknowledge_payment(conn, first, world.retailer)
    with pytest.raises(PaymentNotFound):  # not theirs: it does not exist to them
        await claims.dispute_payment(conn, second, world.retailer2, window=WINDOW)
    found = await claims.dispute_payment(conn, second, world.retailer, window=WINDOW,
                                         now=T0 + timedelta(days=3))
    assert (found.kind, found.payment_ref) == ("payment_not_mine", second)
    with pytest.raises(AlreadyDone):
        await claims.dispute_payment(conn, second, world.retailer, window=WINDOW)
    with pytest.raises(AlreadyDone):  # disputed: no longer to be agreed with
        await claims.acknowledge_payment(conn, second, world.retailer)
    with pytest.raises(DisputeTooLate):
        await claims.dispute_payment(conn, third, world.retailer, window=WINDOW,
                                     now=T0 + timedelta(days=4, hours=1))
    with pytest.raises(PaymentNotFound):
        await claims.dispute_payment(conn, "P-999999", world.retailer, window=WINDOW)


async def test_a_delivered_order_is_received_once_or_has_a_problem_reported_once(
    conn: asyncpg.Connection, world: World
) -> None:
    order = await accepted_order(conn, world.retailer, world.vendor, [line("TEL", 1)], T0)
    with pytest.raises(NotDelivered):
        await disputes.confirm_receipt(conn, order.id, world.retailer)
    with pytest.raises(NotDelivered):
        await disputes.report_problem(conn, order.id, world.retailer, "missing")
    await orders.deliver(conn, order.id, world.vendor)
    with pytest.raises(NotPermitted):
        await disputes.confirm_receipt(conn, order.id, world.vendor)
    await disputes.confirm_receipt(conn, order.number, world.retailer)
    assert await disputes.received(conn, order.id)
    with pytest.raises(AlreadyDone):
        await disputes.confirm_receipt(conn, order.number, world.retailer)
    found = await disputes.report_problem(conn, order.number, world.retailer, "damaged",
                                          "2 tins   dented")
    assert (found.kind, found.order_number, found.reason, found.note) == (
        "order_problem", order.number, "damaged", "2 tins dented")
    with pytest.raises(AlreadyDone):
        await disputes.report_problem(conn, order.number, world.retailer, "other")


async def test_vendors_say_how_they_want_to_be_paid(conn: asyncpg.Connection,
                                                   world: World) -> None:
    lines = await payinfo.set_details(conn, world.vendor, world.vendor.id, "esewa",
                                      "  98100\n00001 ")
    lines = await payinfo.set_details(conn, world.vendor, world.vendor.id, "cash", "at the shop")
    assert [(p.method, p.details) for p in lines] == [("cash", "at the shop"),
                                                      ("esewa", "98100 00001")]
    assert [p.method for p in await payinfo.remove(conn, world.vendor, world.vendor.id,
                                                   "cash")] == ["esewa"]
    with pytest.raises(NotPermitted):
        await payinfo.set_details(conn, world.vendor2, world.vendor.id, "esewa", "mine now")


REFUSED = (asyncpg.InsufficientPrivilegeError, asyncpg.CheckViolationError)


async def test_the_database_refuses_any_other_change_to_claims_disputes_and_receipts(
    conn: asyncpg.Connection, world: World
) -> None:
    await _owing(conn, world)
    open_claim = await claims.claim(conn, world.retailer, vendor_id=world.vendor.id,
                                    amount_paisa=2_000, method="cash", request_key="a")
    other = await payments.record(conn, retailer_id=world.retailer.id, vendor_id=world.vendor.id,
                                  amount_paisa=999, method="cash", actor=world.vendor,
                                  idempotency_key="other")
    confirmed = (await claims.confirm(conn, (await claims.claim(
        conn, world.retailer, vendor_id=world.vendor.id, amount_paisa=1_000, method="cash",
        request_key="b")).ref, world.vendor)).claim
    statements = [
        ("UPDATE payment_claims SET amount_paisa = 1 WHERE id = $1", open_claim.id),
        ("UPDATE payment_claims SET status = 'rejected', decided_by = $2, decided_at = now() "
         "WHERE id = $1", confirmed.id, world.vendor.id),
        ("UPDATE payment_claims SET status = 'confirmed', payment_id = $2, decided_by = $3, "
         "decided_at = now() WHERE id = $1", open_claim.id, other.payment_id, world.vendor.id),
        ("UPDATE payment_claims SET status = 'rejected', decided_by = $2, decided_at = now() "
         "WHERE id = $1", open_claim.id, world.retailer.id),
        ("DELETE FROM payment_claims WHERE id = $1", open_claim.id),
        ("INSERT INTO payment_claims (retailer_id, vendor_id, amount_paisa, method, request_key, "
         "status) VALUES ($1, $2, 100, 'cash', 'c', 'confirmed')", world.retailer.id,
         world.vendor.id),
        ("INSERT INTO disputes (kind, retailer_id, vendor_id, claim_id, raised_by) "
         "VALUES ('claim_not_received', $1, $2, $3, $1)", world.retailer.id, world.vendor.id,
         open_claim.id),
        ("INSERT INTO disputes (kind, retailer_id, vendor_id, payment_id, raised_by) "
         "VALUES ('payment_not_mine', $1, $2, $3, $1)", world.retailer2.id, world.vendor.id,
         other.payment_id),
    ]
    for statement, *args in statements:
        with pytest.raises(REFUSED):
            async with conn.transaction():
                await conn.execute(statement, *args)
    found = await claims.dispute_payment(conn, disputes.payment_ref(other.payment_id),
                                         world.retailer, window=WINDOW)
    for statement, *args in [
        ("UPDATE disputes SET note = 'changed' WHERE id = $1", found.id),
        ("UPDATE disputes SET status = 'resolved', resolved_by = $2, resolved_at = now(), "
         "resolution = 'paid' WHERE id = $1", found.id, world.vendor.id),
        ("DELETE FROM disputes WHERE id = $1", found.id),
        ("TRUNCATE disputes CASCADE",),
    ]:
        with pytest.raises(REFUSED):
            async with conn.transaction():
                await conn.execute(statement, *args)
    # Staff resolve it once, saying what they decided (resolving by chat comes later).
    await conn.execute(
        "UPDATE disputes SET status = 'resolved', resolved_by = $2, resolved_at = now(), "
        "resolution = 'the vendor corrects it' WHERE id = $1", found.id, world.operator.id)
    order = await accepted_order(conn, world.retailer, world.vendor, [line("TEL", 1)], T0)
    with pytest.raises(REFUSED):
        async with conn.transaction():
            await conn.execute("INSERT INTO order_receipts (order_id, retailer_id) VALUES ($1, $2)",
                               order.id, world.retailer.id)
    await orders.deliver(conn, order.id, world.vendor)
    await disputes.confirm_receipt(conn, order.id, world.retailer)
    with pytest.raises(REFUSED):
        async with conn.transaction():
            await conn.execute("DELETE FROM order_receipts WHERE order_id = $1", order.id)


async def test_a_payment_the_retailer_agrees_to_afterwards_shows_as_acknowledged(conn, world):
    from ledger import payments, provenance, statements
    from tests.ledger.conftest import line
    from tests.ledger.helpers import accepted_order

    await accepted_order(conn, world.retailer, world.vendor, [line("TEL", 1)])
    await payments.record(conn, retailer_id=world.retailer.id, vendor_id=world.vendor.id,
                          amount_paisa=10_000, method="cash", actor=world.vendor,
                          idempotency_key="ack-later")

    async def acknowledged() -> list[bool]:
        found = await statements.statement(conn, None, retailer_id=world.retailer.id,
                                           vendor_id=world.vendor.id)
        return [ln.acknowledged for ln in found.lines if ln.credit_paisa]

    assert await acknowledged() == [False]  # stated by the vendor alone
    entry = await conn.fetchval("SELECT id FROM ledger_entries WHERE kind = 'PAYMENT_DEBIT'")
    await provenance.acknowledge(conn, entry, stated_by=world.vendor.id,
                                 acknowledged_by=world.retailer.id, how="retailer agreed")
    assert await acknowledged() == [True]  # the retailer tapped "Correct"
