"""score_facts (migration 030): a retailer's facts read from their kept record plus what changed
since are the facts `score_data.gather` reads from the whole history, at every later moment,
after payments, new bills, imported bills and partly paid ones; a reversal since (which may
reopen a bill the record holds as paid off) reads the whole history again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from ledger import analytics, payments, score_data, scores
from ledger.score import compute
from tests.ledger.conftest import World, import_old_book, line
from tests.ledger.helpers import accepted_order

START = datetime(2025, 1, 1, 5, tzinfo=UTC)


async def both(conn: asyncpg.Connection, retailer_id: int, as_of: datetime
               ) -> score_data.Facts:
    """The facts by both readings, which must agree (and the kept one must have run)."""
    kept = await score_data.kept_facts(conn, retailer_id, as_of)
    assert kept is not None, "the kept record was not used"
    assert kept == (await score_data.gather(conn, [retailer_id], as_of))[retailer_id]
    assert compute(kept) == compute(
        (await score_data.gather(conn, [retailer_id], as_of))[retailer_id])
    return kept


async def history(conn: asyncpg.Connection, world: World) -> None:
    """Eight months of oil bills: most paid on time, some late, one in part, the last unpaid;
    and sugar from the other vendor."""
    w = world
    for i in range(8):
        order = await accepted_order(conn, w.retailer, w.vendor, [line("TEL", 10)],
                                     now=START + timedelta(days=25 * i))
        assert order.due_at is not None
        if i == 7:
            continue
        late = timedelta(days=9 if i % 3 == 2 else -2)
        amount = order.total_paisa // 2 if i == 6 else order.total_paisa
        await payments.record(conn, retailer_id=w.retailer.id, vendor_id=w.vendor.id,
                              amount_paisa=amount, method="cash", actor=w.operator,
                              idempotency_key=f"pay:{i}", now=order.due_at + late)
    sugar = await accepted_order(conn, w.retailer, w.vendor2, [line("CHINI", 5)],
                                 now=START + timedelta(days=60))
    await payments.record(conn, retailer_id=w.retailer.id, vendor_id=w.vendor2.id,
                          amount_paisa=sugar.total_paisa, method="esewa", actor=w.operator,
                          idempotency_key="sugar", now=START + timedelta(days=70))


async def test_the_kept_record_and_the_changes_since_give_the_same_facts(
    conn: asyncpg.Connection, world: World
) -> None:
    w = world
    await history(conn, w)
    kept_at = START + timedelta(days=200)
    assert await score_data.keep(conn, kept_at) == 2  # both retailers
    facts = await both(conn, w.retailer.id, kept_at)
    assert compute(facts).score is not None
    assert len(facts.bills) == 9 and sum(b.paid_at is not None for b in facts.bills) == 7
    await both(conn, w.retailer2.id, kept_at)  # no history at all
    await both(conn, w.retailer.id, kept_at + timedelta(days=30))
    # Since: a new bill, a payment that pays off the part-paid one and some of the unpaid one,
    # and a vendor's old book with a bill from before the record and its payment.
    new = await accepted_order(conn, w.retailer, w.vendor, [line("TEL", 4)],
                               now=kept_at + timedelta(days=1))
    await payments.record(conn, retailer_id=w.retailer.id, vendor_id=w.vendor.id,
                          amount_paisa=150_000, method="bank", actor=w.operator,
                          idempotency_key="since", now=kept_at + timedelta(days=5))
    await import_old_book(conn, w.vendor2, w.retailer, sale=("2025-03-05", 700),
                          payment=("2025-03-20", 300))
    for days in (0, 3, 6, 40, 400):
        facts = await both(conn, w.retailer.id, kept_at + timedelta(days=days))
    assert new.id in {b.order_id for b in facts.bills} and len(facts.bills) == 11
    assert facts.payments == 10
    # The service reads it so, as of now too.
    now = await conn.fetchval("SELECT now()")
    await both(conn, w.retailer.id, now)
    assert (await scores.for_retailer(conn, w.admin, w.retailer.id, as_of=now)) == compute(
        (await score_data.gather(conn, [w.retailer.id], now))[w.retailer.id])


async def test_a_reversal_since_or_an_older_moment_reads_the_whole_history(
    conn: asyncpg.Connection, world: World
) -> None:
    w = world
    await history(conn, w)
    kept_at = START + timedelta(days=200)
    await score_data.keep(conn, kept_at)
    # Before the record: it cannot say.
    assert await score_data.kept_facts(conn, w.retailer.id, kept_at - timedelta(days=1)) is None
    # A payment the record holds as paying a bill off bounces: the bill owes again.
    paid = await conn.fetchval(
        "SELECT id FROM payments WHERE idempotency_key = 'pay:0'")
    await payments.reverse_payment(conn, paid, w.admin, "bounced", idempotency_key="bounce",
                                   now=kept_at + timedelta(days=2))
    later = kept_at + timedelta(days=3)
    assert await score_data.kept_facts(conn, w.retailer.id, later) is None
    gathered = (await score_data.gather(conn, [w.retailer.id], later))[w.retailer.id]
    assert await score_data.gather_one(conn, w.retailer.id, later) == gathered
    assert gathered.bills[0].paid_at is None and len(gathered.reversals) == 1
    # Kept again after the reversal, the record holds it.
    await score_data.keep(conn, later)
    await both(conn, w.retailer.id, later + timedelta(days=1))


async def test_a_retailer_with_payments_dated_after_the_moment_is_not_kept(
    conn: asyncpg.Connection, world: World
) -> None:
    await history(conn, world)
    # Kept as of a moment before the last payments were received: those shops are left out.
    assert await score_data.keep(conn, START + timedelta(days=100)) == 1  # retailer2 only
    assert await score_data.kept_facts(conn, world.retailer.id,
                                       START + timedelta(days=300)) is None
    await both(conn, world.retailer2.id, START + timedelta(days=300))


async def test_the_analytics_refresh_keeps_every_retailer(
    conn: asyncpg.Connection, world: World
) -> None:
    await history(conn, world)
    refreshed = await analytics.refresh(conn, full=True)
    assert refreshed.ran
    at = await conn.fetchval("SELECT max(as_of) FROM score_facts")
    assert await conn.fetchval("SELECT count(*) FROM score_facts") == 2
    await both(conn, world.retailer.id, at)
