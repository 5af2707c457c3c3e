"""Orders through their life: pricing, confirmation, assignment, acceptance, stock, cancel."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg
import pytest

from ledger import assignment, order_repo, orders, pricing, stock
from ledger.errors import (
    IllegalTransition,
    InvalidAmount,
    InvalidQuantity,
    NotPermitted,
    NotYourOrder,
    NoVendorCanFill,
    OrderNotFound,
    StockInsufficient,
    UnknownProduct,
)
from tests.ledger.conftest import World, carry, line, make_user


async def vendor_stock(conn: asyncpg.Connection, vendor_id: int, sku: str) -> tuple[int, int]:
    row = await conn.fetchrow(
        "SELECT stock_milli, reserved_milli FROM vendor_products WHERE vendor_id = $1 AND sku = $2",
        vendor_id, sku,
    )
    return row["stock_milli"], row["reserved_milli"]


def test_line_total_rounds_half_up_in_integers() -> None:
    assert pricing.line_total(500, 11500) == 5750        # 0.5 kg at Rs 115
    assert pricing.line_total(1, 500) == 1                # 0.5 paisa rounds up
    assert pricing.line_total(1, 499) == 0
    assert pricing.line_total(333, 3) == 1                # 0.999 paisa


def test_quantities_become_exact_milli_units() -> None:
    assert pricing.to_milli(Decimal("0.5")) == 500
    assert pricing.to_milli(Decimal("25")) == 25_000
    for bad in ("0", "-1", "0.0005"):
        with pytest.raises(InvalidQuantity):
            pricing.to_milli(Decimal(bad))


async def test_draft_is_priced_at_the_cheapest_vendor_carrying_everything(
    conn: asyncpg.Connection, world: World
) -> None:
    sugar = await orders.create_draft(conn, world.retailer, [line("CHINI", 2.5)])
    assert sugar.lines[0].unit_price_paisa == 11000       # vendor2 is cheaper for sugar
    assert sugar.total_paisa == 27_500 and sugar.lines[0].unit_text == "kg"
    mixed = await orders.create_draft(conn, world.retailer, [line("CHINI", 1), line("TEL", 1, "l")])
    assert [ln.unit_price_paisa for ln in mixed.lines] == [11500, 24000]  # only vendor has oil
    assert mixed.status == "DRAFT" and mixed.vendor_id is None


async def test_a_draft_written_comes_with_the_quote_that_priced_it(
    conn: asyncpg.Connection, world: World
) -> None:
    """The chat shows a draft with who would get it, or what nobody has enough of: the quote it
    was priced by comes back with it, the same as asking again, and not when read back."""
    draft = await orders.create_draft(conn, world.retailer, [line("CHINI", 2.5)])
    assert draft.priced_by == await pricing.quote(conn, [line("CHINI", 2.5)])
    assert draft.priced_by is not None and draft.priced_by.vendor_id == world.vendor2.id
    assert await orders.get(conn, draft.id) == draft  # as written, without reading it back
    edited = await orders.replace_draft_lines(conn, draft.id, world.retailer,
                                              [line("CHINI", 1), line("TEL", 1, "l")])
    assert edited.priced_by == await pricing.quote(conn, [line("CHINI", 1), line("TEL", 1, "l")])
    assert edited.priced_by is not None and edited.priced_by.vendor_id == world.vendor.id
    assert (await orders.get(conn, draft.id)).priced_by is None
    assert await orders.get(conn, draft.id) == edited  # the quote is not part of the order


async def test_several_sets_of_lines_are_quoted_as_each_alone_in_two_round_trips(
    conn: asyncpg.Connection, world: World
) -> None:
    """A choice between products prices the draft with each of them: the quotes, and the reason
    one cannot be priced, are what quoting each set alone gives, in two statements for all."""
    sets = [[line("CHINI", 2.5)], [line("CHINI", 1), line("TEL", 1, "l")],
            [line("TEL", 5000)], [line("UNICORN", 1)], [line("CHINI", 10**7)], [],
            [line("CHINI", 1), line("CHINI", 2)]]
    alone: list[object] = []
    for lines in sets:
        try:
            alone.append(await pricing.quote(conn, lines))
        except Exception as exc:  # noqa: BLE001 - compared below, by kind and by what it says
            alone.append((type(exc), str(exc)))
    statements: list[str] = []
    conn.add_query_logger(note := lambda logged: statements.append(logged.query))
    together = await pricing.quotes(conn, [s for s in sets if s != [line("TEL", 5000)]])
    await asyncio.sleep(0)  # asyncpg tells its loggers on the loop's next turn
    conn.remove_query_logger(note)
    assert len(statements) == 2  # the set nobody can fill asks one more: left out here
    alone.pop(2)
    assert [q if isinstance(q, pricing.Quote) else (type(q), str(q)) for q in together] == alone
    assert isinstance(together[2], UnknownProduct) and isinstance(together[3], InvalidQuantity)
    assert [q.vendor_id for q in await pricing.quotes(conn, [sets[2], sets[0]])] == [
        None, world.vendor2.id]


async def test_an_order_named_by_its_number_is_read_or_locked_in_one_statement(
    conn: asyncpg.Connection, world: World
) -> None:
    """A vendor types "accept kh-000123": the number, in any case, names the order in the same
    statement that reads or locks it; a number nobody has is named back as typed, upper case."""
    draft = await orders.create_draft(conn, world.retailer, [line("CHINI", 1)])
    statements: list[str] = []
    conn.add_query_logger(note := lambda logged: statements.append(logged.query))
    async with conn.transaction():
        assert (await order_repo.lock_ref(conn, f" {draft.number.lower()} "))["id"] == draft.id
    assert await orders.get(conn, draft.number.lower()) == draft
    assert await order_repo.find_with_retailer(conn, draft.number) == (draft.id, world.retailer.id)
    await asyncio.sleep(0)  # asyncpg tells its loggers on the loop's next turn
    conn.remove_query_logger(note)
    read = [q for q in statements if "FROM orders" in q]  # not asyncpg's look at the types
    assert len(read) == 3 and "FOR NO KEY UPDATE" in read[0]
    for missing in ("kh-999999", 10**9):
        with pytest.raises(OrderNotFound) as caught:
            await orders.get(conn, missing)
        assert caught.value.params == {"order": "KH-999999" if missing != 10**9 else 10**9}


async def test_draft_without_any_able_vendor_uses_list_prices(
    conn: asyncpg.Connection, world: World
) -> None:
    quote = await pricing.quote(conn, [line("TEL", 5000)])  # more oil than anyone has
    assert quote.vendor_id is None and quote.lines[0].unit_price_paisa == 25000


async def test_unknown_product_is_named(conn: asyncpg.Connection, world: World) -> None:
    with pytest.raises(UnknownProduct) as caught:
        await orders.create_draft(conn, world.retailer, [line("UNICORN", 1)])
    assert caught.value.params == {"sku": "UNICORN"}


async def test_same_request_key_gives_the_same_draft(
    conn: asyncpg.Connection, world: World
) -> None:
    lines = [line("CHINI", 1)]
    first = await orders.create_draft(conn, world.retailer, lines, request_key="wamid.1")
    again = await orders.create_draft(conn, world.retailer, lines, request_key="wamid.1")
    assert first == again


async def test_draft_can_be_edited_until_confirmed(conn: asyncpg.Connection, world: World) -> None:
    draft = await orders.create_draft(conn, world.retailer, [line("CHINI", 1)])
    edited = await orders.replace_draft_lines(conn, draft.id, world.retailer,
                                              [line("CHINI", 1), line("CHAMAL", 10)])
    assert [ln.sku for ln in edited.lines] == ["CHINI", "CHAMAL"]
    assert edited.total_paisa == 11000 + 90000 or edited.total_paisa == 11500 + 90000


async def test_confirm_offers_the_order_to_the_best_vendor(
    conn: asyncpg.Connection, world: World
) -> None:
    draft = await orders.create_draft(conn, world.retailer, [line("CHINI", 2)])
    done = await orders.confirm(conn, draft.id, world.retailer, confirm_key="tap-1")
    assert done.outcome is not None and done.outcome.kind == "offered"
    assert done.outcome.vendor_id == world.vendor2.id
    assert done.order.status == "VENDOR_ASSIGNED"
    retry = await orders.confirm(conn, draft.id, world.retailer, confirm_key="tap-1")
    assert retry.replayed and retry.order.id == draft.id


async def test_retailer_cannot_confirm_another_retailers_order(
    conn: asyncpg.Connection, world: World
) -> None:
    draft = await orders.create_draft(conn, world.retailer, [line("CHINI", 1)])
    with pytest.raises(NotYourOrder):
        await orders.confirm(conn, draft.id, world.retailer2)


async def test_vendor_cannot_accept_another_vendors_order(
    conn: asyncpg.Connection, world: World
) -> None:
    draft = await orders.create_draft(conn, world.retailer, [line("TEL", 1)])
    await orders.confirm(conn, draft.id, world.retailer)
    with pytest.raises(NotYourOrder) as caught:
        await orders.accept(conn, draft.id, world.vendor2)
    assert caught.value.key == "order.not_yours"


async def test_acceptance_reserves_stock_and_bills_the_order(
    conn: asyncpg.Connection, world: World
) -> None:
    draft = await orders.create_draft(conn, world.retailer, [line("TEL", 2)])
    await orders.confirm(conn, draft.id, world.retailer)
    accepted = await orders.accept(conn, draft.id, world.vendor)
    assert accepted.status == "ACCEPTED" and accepted.payment_status == "UNPAID"
    assert accepted.due_at is not None and accepted.accepted_at is not None
    assert accepted.due_at - accepted.accepted_at == timedelta(days=30)
    assert await vendor_stock(conn, world.vendor.id, "TEL") == (1_000_000, 2000)
    balance = await conn.fetchval(
        "SELECT balance_paisa FROM ledger_accounts WHERE retailer_id = $1 AND vendor_id = $2",
        world.retailer.id, world.vendor.id,
    )
    assert balance == accepted.total_paisa == 48_000
    await orders.dispatch(conn, draft.id, world.vendor)
    assert await vendor_stock(conn, world.vendor.id, "TEL") == (998_000, 0)


async def test_acceptance_without_stock_is_refused(conn: asyncpg.Connection, world: World) -> None:
    draft = await orders.create_draft(conn, world.retailer, [line("TEL", 2)])
    await orders.confirm(conn, draft.id, world.retailer)
    await stock.set_offer(conn, world.vendor, "TEL", stock_milli=1000)
    with pytest.raises(StockInsufficient) as caught:
        await orders.accept(conn, draft.id, world.vendor)
    assert caught.value.params == {"sku": "TEL", "wanted_milli": 2000, "available_milli": 1000}
    assert (await orders.get(conn, draft.id)).status == "VENDOR_ASSIGNED"


async def test_rejection_passes_the_order_to_the_next_vendor(
    conn: asyncpg.Connection, world: World
) -> None:
    draft = await orders.create_draft(conn, world.retailer, [line("CHINI", 1)])
    await orders.confirm(conn, draft.id, world.retailer)
    outcome = await orders.reject(conn, draft.id, world.vendor2, "out of stock")
    assert (outcome.kind, outcome.vendor_id, outcome.previous_vendor_id) == (
        "offered", world.vendor.id, world.vendor2.id)
    last = await orders.reject(conn, draft.id, world.vendor, "closed today")
    assert last.kind == "no_vendor" and last.order.status == "REJECTED"


async def test_unanswered_offer_passes_on_after_the_timeout(
    conn: asyncpg.Connection, world: World
) -> None:
    t0 = datetime(2025, 1, 1, 6, 0, tzinfo=UTC)
    draft = await orders.create_draft(conn, world.retailer, [line("CHINI", 1)])
    await orders.confirm(conn, draft.id, world.retailer, now=t0)
    timeout = timedelta(minutes=30)
    assert await assignment.expire_offers(conn, t0 + timedelta(minutes=29), timeout) == []
    [moved] = await assignment.expire_offers(conn, t0 + timedelta(minutes=31), timeout)
    assert (moved.previous_vendor_id, moved.vendor_id) == (world.vendor2.id, world.vendor.id)
    [gone] = await assignment.expire_offers(conn, t0 + timedelta(hours=2), timeout)
    assert gone.kind == "no_vendor"
    reasons = await conn.fetch(
        "SELECT outcome FROM vendor_assignments WHERE order_id = $1 ORDER BY id", draft.id)
    assert [r["outcome"] for r in reasons] == ["EXPIRED", "EXPIRED"]


async def test_an_order_nobody_can_fill_is_not_placed_and_its_draft_says_why(
    conn: asyncpg.Connection, world: World
) -> None:
    await stock.set_offer(conn, world.vendor, "TEL", stock_milli=500)
    draft = await orders.create_draft(conn, world.retailer, [line("TEL", 1), line("CHINI", 1)])
    with pytest.raises(NoVendorCanFill):
        await orders.confirm(conn, draft.id, world.retailer)
    assert (await orders.get(conn, draft.id)).status == "DRAFT"  # never placed, never counted
    quote = await pricing.quote(conn, [line("TEL", 1), line("CHINI", 1)])
    assert not quote.fillable
    assert quote.shortfalls == (pricing.Shortfall("TEL", 1000, 500),)


async def test_new_vendor_with_a_worse_record_loses_the_tie(
    conn: asyncpg.Connection, world: World
) -> None:
    twin = await make_user(conn, "VENDOR", "Twin")
    await carry(conn, twin, "CHINI", 11000, 500_000)  # same price as vendor2
    first = await orders.create_draft(conn, world.retailer, [line("CHINI", 1)])
    done = await orders.confirm(conn, first.id, world.retailer)
    assert done.outcome is not None and done.outcome.vendor_id == world.vendor2.id  # lower id
    await orders.reject(conn, first.id, world.vendor2, "busy")
    second = await orders.create_draft(conn, world.retailer, [line("CHINI", 1)])
    done = await orders.confirm(conn, second.id, world.retailer)
    assert done.outcome is not None and done.outcome.vendor_id == twin.id  # vendor2 rejected once


async def test_retailer_cancels_before_acceptance_staff_after(
    conn: asyncpg.Connection, world: World
) -> None:
    draft = await orders.create_draft(conn, world.retailer, [line("TEL", 1)])
    await orders.confirm(conn, draft.id, world.retailer)
    await orders.accept(conn, draft.id, world.vendor)
    with pytest.raises(IllegalTransition):
        await orders.cancel(conn, draft.id, world.retailer, "changed my mind")
    cancelled = await orders.cancel(conn, draft.id, world.operator, "retailer called")
    assert cancelled.status == "CANCELLED"
    assert await vendor_stock(conn, world.vendor.id, "TEL") == (1_000_000, 0)
    kinds = await conn.fetch(
        "SELECT kind, amount_paisa FROM ledger_entries WHERE order_id = $1 ORDER BY id", draft.id)
    assert [(r["kind"], r["amount_paisa"]) for r in kinds] == [
        ("ORDER_CREDIT", 24000), ("REVERSAL", -24000)]


async def test_old_drafts_expire(conn: asyncpg.Connection, world: World) -> None:
    draft = await orders.create_draft(conn, world.retailer, [line("CHINI", 1)])
    later = datetime.now(UTC) + timedelta(hours=2)
    [expired] = await orders.expire_drafts(conn, later, timedelta(hours=1))
    assert expired.id == draft.id and expired.status == "CANCELLED"


async def test_vendors_set_their_own_stock_but_never_below_what_is_reserved(
    conn: asyncpg.Connection, world: World
) -> None:
    offer = await stock.set_offer(conn, world.vendor2, "TEL", price_paisa=23000, stock_milli=5000)
    assert offer.available_milli == 5000
    draft = await orders.create_draft(conn, world.retailer, [line("TEL", 3)])
    await orders.confirm(conn, draft.id, world.retailer)
    await orders.accept(conn, draft.id, world.vendor2)
    from ledger.errors import StockBelowReserved

    with pytest.raises(StockBelowReserved):
        await stock.set_offer(conn, world.vendor2, "TEL", stock_milli=2000)
    with pytest.raises(asyncpg.CheckViolationError):
        await conn.execute(
            "UPDATE vendor_products SET stock_milli = -1 WHERE vendor_id = $1 AND sku = 'TEL'",
            world.vendor2.id)
    with pytest.raises(NotPermitted):
        await stock.set_offer(conn, world.retailer, "TEL", stock_milli=1)


async def test_absurd_vendor_price_does_not_break_pricing_for_everyone(
    conn: asyncpg.Connection, world: World
) -> None:
    # Rs 10^11 per kg times 1000 kg does not fit a bigint; that vendor simply is not the best.
    await stock.set_offer(conn, world.vendor2, "CHINI", price_paisa=10**13, stock_milli=10**6)
    draft = await orders.create_draft(conn, world.retailer, [line("CHINI", 1000)])
    assert draft.lines[0].unit_price_paisa == 11500 and draft.total_paisa == 11_500_000


async def test_order_total_beyond_any_posting_is_refused_at_the_draft(
    conn: asyncpg.Connection, world: World
) -> None:
    await stock.set_offer(conn, world.vendor2, "CHINI", price_paisa=10**13, stock_milli=10**6)
    await stock.set_offer(conn, world.vendor, "CHINI", price_paisa=10**13)
    with pytest.raises(InvalidAmount):
        await orders.create_draft(conn, world.retailer, [line("CHINI", 1000)])
    assert await conn.fetchval("SELECT count(*) FROM orders") == 0


async def test_draft_that_rounds_to_nothing_is_refused_with_a_domain_error(
    conn: asyncpg.Connection, world: World
) -> None:
    await stock.set_offer(conn, world.vendor2, "CHINI", price_paisa=100)  # Re 1 a kg
    with pytest.raises(InvalidAmount):
        await orders.create_draft(conn, world.retailer, [line("CHINI", 0.001)])  # 0.1 paisa
