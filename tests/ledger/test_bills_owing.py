"""bills_owing (migration 030): what each bill still owes, kept by triggers as allocations are
posted, payments reversed, orders accepted, cancelled and completed and books imported, equals
what the order and its allocations say at every step; and only those triggers write it."""

from __future__ import annotations

import asyncpg
import pytest

from ledger import check, lifecycle, orders, payments, reports
from tests.ledger.conftest import World, import_old_book, line
from tests.ledger.helpers import accepted_order

# Each billed order's total less its standing allocations, where that is more than nothing.
_RECOMPUTED = """
    SELECT o.id, o.retailer_id, o.vendor_id, o.accepted_at, o.due_at,
           o.total_paisa - COALESCE((SELECT sum(pa.amount_paisa) FROM payment_allocations pa
                                     JOIN payments p ON p.id = pa.payment_id AND NOT p.reversed
                                     WHERE pa.order_id = o.id), 0) AS owing
    FROM orders o WHERE o.status = ANY($1::text[])"""


async def kept(conn: asyncpg.Connection) -> dict[int, int]:
    """order id -> owing, as the table has it (and its copies of the order's columns agree)."""
    rows = await conn.fetch(
        """SELECT b.order_id, b.owing_paisa,
                  (b.retailer_id, b.vendor_id, b.accepted_at, b.due_at)
                  = (o.retailer_id, o.vendor_id, o.accepted_at, o.due_at) AS same
           FROM bills_owing b JOIN orders o ON o.id = b.order_id""")
    assert all(r["same"] for r in rows), rows
    return {r["order_id"]: r["owing_paisa"] for r in rows}


async def recomputed(conn: asyncpg.Connection) -> dict[int, int]:
    rows = await conn.fetch(_RECOMPUTED, list(lifecycle.BILLED_STATUSES))
    return {r["id"]: r["owing"] for r in rows if r["owing"] > 0}


async def owing(conn: asyncpg.Connection) -> dict[int, int]:
    """The kept figure, after checking it against the recomputation."""
    found = await kept(conn)
    assert found == await recomputed(conn)
    return found


async def test_the_figure_follows_every_way_a_bill_is_paid_or_unpaid(
    conn: asyncpg.Connection, world: World
) -> None:
    w = world
    assert await owing(conn) == {}
    oil = await accepted_order(conn, w.retailer, w.vendor, [line("TEL", 1, "l")])  # 24,000
    rice = await accepted_order(conn, w.retailer, w.vendor, [line("CHAMAL", 2)])    # 18,000
    assert await owing(conn) == {oil.id: 24_000, rice.id: 18_000}
    # A payment is allocated oldest bill first: the oil is paid off, the rice in part.
    paid = await payments.record(conn, retailer_id=w.retailer.id, vendor_id=w.vendor.id,
                                 amount_paisa=30_000, method="cash", actor=w.vendor,
                                 idempotency_key="p1")
    assert await owing(conn) == {rice.id: 12_000}
    # Delivered and paid: it completes, and owes nothing still.
    await orders.deliver(conn, oil.id, w.vendor)
    assert (await orders.get(conn, oil.id)).status == "COMPLETED"
    assert await owing(conn) == {rice.id: 12_000}
    # The payment bounces: both bills owe again, the completed one included.
    await payments.reverse_payment(conn, paid.payment_id, w.admin, "cheque bounced",
                                   idempotency_key="bounce")
    assert await owing(conn) == {oil.id: 24_000, rice.id: 18_000}
    # A retry of the reversal changes nothing.
    await payments.reverse_payment(conn, paid.payment_id, w.admin, "cheque bounced",
                                   idempotency_key="bounce")
    assert await owing(conn) == {oil.id: 24_000, rice.id: 18_000}
    # A new payment goes to the oldest again, the completed bill the bounce reopened.
    await payments.record(conn, retailer_id=w.retailer.id, vendor_id=w.vendor.id,
                          amount_paisa=25_000, method="esewa", actor=w.vendor,
                          idempotency_key="p2")
    assert await owing(conn) == {rice.id: 17_000}
    # Cancelling an accepted, unpaid bill: its credit is reversed and it owes nothing.
    sugar = await accepted_order(conn, w.retailer, w.vendor2, [line("CHINI", 1)])
    assert (await owing(conn))[sugar.id] == 11_000
    await orders.cancel(conn, sugar.id, w.admin, "changed mind")
    assert await owing(conn) == {rice.id: 17_000}
    # An imported book: its bill is born owing, its payment pays part of it.
    bill = await import_old_book(conn, w.vendor2, w.retailer2, sale=("2026-01-05", 300),
                                 payment=("2026-01-10", 100))
    assert await owing(conn) == {rice.id: 17_000, bill: 20_000}
    # What the reads built on it say: the shop's dues, the allocation plan.
    dues = await reports.balances(conn, w.retailer.id, actor=w.admin)
    assert dues.total_paisa == 17_000
    assert [(b.order_id, b.outstanding_paisa)
            for b in await payments.open_bills(conn, w.retailer.id, w.vendor.id)] == [
        (rice.id, 17_000)]
    assert (await check.run(conn)).ok


async def test_the_town_ageing_and_overdue_read_the_kept_figure(
    conn: asyncpg.Connection, world: World
) -> None:
    w = world
    oil = await accepted_order(conn, w.retailer, w.vendor, [line("TEL", 1, "l")])
    await payments.record(conn, retailer_id=w.retailer.id, vendor_id=w.vendor.id,
                          amount_paisa=4_000, method="cash", actor=w.vendor,
                          idempotency_key="p1")
    later = await conn.fetchval("SELECT now() + interval '45 days'")
    ageing = await reports.ageing(conn, actor=w.admin, now=later)
    assert (ageing.d0_30, ageing.d31_60, ageing.total) == (0, 20_000, 20_000)
    assert await owing(conn) == {oil.id: 20_000}


@pytest.mark.parametrize("sql", [
    "UPDATE bills_owing SET owing_paisa = 1",
    "DELETE FROM bills_owing",
    """INSERT INTO bills_owing (order_id, retailer_id, vendor_id, accepted_at, due_at,
                                owing_paisa)
       SELECT id, retailer_id, vendor_id, accepted_at, due_at, 1 FROM orders""",
])
async def test_only_the_triggers_write_the_figure(
    conn: asyncpg.Connection, world: World, sql: str
) -> None:
    w = world
    await accepted_order(conn, w.retailer, w.vendor, [line("TEL", 1, "l")])
    before = await owing(conn)
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="kept by the ledger's triggers"):
        await conn.execute(sql)
    assert await owing(conn) == before


async def test_ageing_buckets_whole_days_as_the_day_count_did(
    conn: asyncpg.Connection, world: World
) -> None:
    """The buckets' edges, spelt as comparisons of the billing time, fall where
    `extract(day FROM now - accepted_at)` put them: an hour either side of each."""
    w = world
    oil = await accepted_order(conn, w.retailer, w.vendor, [line("TEL", 1, "l")])
    names = ("d0_30", "d31_60", "d61_90", "d90_plus")
    for days in (0, 30, 31, 60, 61, 90, 91):
        for hours in (-1, 1):
            at = await conn.fetchval(
                "SELECT accepted_at + make_interval(days => $2, hours => $3) FROM orders "
                "WHERE id = $1", oil.id, days, hours)
            counted = await conn.fetchval(
                "SELECT extract(day FROM $2::timestamptz - accepted_at)::int FROM orders "
                "WHERE id = $1", oil.id, at)
            bucket = 0 if counted <= 30 else 1 if counted <= 60 else 2 if counted <= 90 else 3
            ageing = await reports.ageing(conn, actor=w.admin, now=at)
            assert getattr(ageing, names[bucket]) == ageing.total == 24_000, (days, hours)
            by_shop = await reports.ageing_by_retailer(conn, w.vendor.id, actor=w.vendor, now=at)
            assert by_shop == {w.retailer.id: ageing}
