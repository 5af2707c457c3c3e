"""Credit limits: checked at confirmation and acceptance, under concurrency; admin overrides."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from ledger import credit, orders, payments
from ledger.errors import NotPermitted, OverCreditLimit, ReasonRequired
from tests.ledger.conftest import World, build_world, line
from tests.ledger.helpers import accepted_order


async def test_order_over_the_limit_is_refused_with_the_amounts(conn: asyncpg.Connection) -> None:
    world = await build_world(conn, limit_paisa=50_000)
    await accepted_order(conn, world.retailer, world.vendor, [line("TEL", 1)])  # owes 24,000
    draft = await orders.create_draft(conn, world.retailer, [line("TEL", 2)])   # 48,000
    with pytest.raises(OverCreditLimit) as caught:
        await orders.confirm(conn, draft.id, world.retailer)
    assert caught.value.key == "credit.over_limit"
    assert caught.value.params == {
        "limit_paisa": 50_000, "exposure_paisa": 24_000, "order_paisa": 48_000,
        "over_by_paisa": 22_000, "available_paisa": 26_000}
    assert (await orders.get(conn, draft.id)).status == "DRAFT"


async def test_confirmed_but_unaccepted_orders_count_towards_exposure(
    conn: asyncpg.Connection
) -> None:
    world = await build_world(conn, limit_paisa=50_000)
    first = await orders.create_draft(conn, world.retailer, [line("TEL", 1)])
    await orders.confirm(conn, first.id, world.retailer)
    position = await credit.position(conn, world.retailer.id)
    assert (position.balance_paisa, position.unbilled_paisa, position.available_paisa) == (
        0, 24_000, 26_000)
    second = await orders.create_draft(conn, world.retailer, [line("TEL", 2)])
    with pytest.raises(OverCreditLimit):
        await orders.confirm(conn, second.id, world.retailer)


async def test_acceptance_rechecks_the_limit(conn: asyncpg.Connection, world: World) -> None:
    draft = await orders.create_draft(conn, world.retailer, [line("TEL", 1)])
    await orders.confirm(conn, draft.id, world.retailer)
    await credit.set_limit(conn, world.retailer.id, 10_000, world.admin, "late payer")
    with pytest.raises(OverCreditLimit):
        await orders.accept(conn, draft.id, world.vendor)


async def test_admin_override_lets_one_order_through_and_is_audited(
    conn: asyncpg.Connection
) -> None:
    world = await build_world(conn, limit_paisa=10_000)
    draft = await orders.create_draft(conn, world.retailer, [line("TEL", 1)])
    with pytest.raises(NotPermitted):
        await credit.override_order(conn, draft.id, world.operator, "trusted")
    with pytest.raises(ReasonRequired):
        await credit.override_order(conn, draft.id, world.admin, "  ")
    await credit.override_order(conn, draft.id, world.admin, "festival stock, known shop")
    await orders.confirm(conn, draft.id, world.retailer)
    assert (await orders.accept(conn, draft.id, world.vendor)).status == "ACCEPTED"
    row = await conn.fetchrow(
        "SELECT actor_id, reason FROM audit_log WHERE action = 'credit.override'")
    assert (row["actor_id"], row["reason"]) == (world.admin.id, "festival stock, known shop")
    other = await orders.create_draft(conn, world.retailer, [line("CHINI", 1)])
    with pytest.raises(OverCreditLimit):
        await orders.confirm(conn, other.id, world.retailer)


async def test_setting_a_limit_needs_an_admin_and_a_reason(
    conn: asyncpg.Connection, world: World
) -> None:
    with pytest.raises(NotPermitted):
        await credit.set_limit(conn, world.retailer.id, 1, world.vendor, "x")
    position = await credit.set_limit(
        conn, world.retailer.id, 7_000_000, world.admin, "good record")
    assert position.limit_paisa == 7_000_000
    details = await conn.fetchval("SELECT details FROM audit_log WHERE action = 'credit.set_limit'")
    assert details == {"old_paisa": 5_000_000, "new_paisa": 7_000_000}


async def test_payment_frees_credit(conn: asyncpg.Connection) -> None:
    world = await build_world(conn, limit_paisa=30_000)
    order = await accepted_order(conn, world.retailer, world.vendor, [line("TEL", 1)])
    await payments.record_for_order(conn, order.id, 24_000, "khalti", actor=world.vendor,
                                    idempotency_key="p")
    assert (await credit.position(conn, world.retailer.id)).available_paisa == 30_000


async def test_fifty_simultaneous_confirmations_accept_exactly_as_many_as_fit(
    pool: asyncpg.Pool,
) -> None:
    fit = 17
    async with pool.acquire() as conn:
        # Each order is 1 l oil = Rs 240; the limit leaves room for 17 and a half.
        world = await build_world(conn, limit_paisa=fit * 24_000 + 12_000)
        drafts = [await orders.create_draft(conn, world.retailer, [line("TEL", 1)])
                  for _ in range(50)]

    async def confirm(order_id: int) -> bool:
        async with pool.acquire() as c:
            try:
                await orders.confirm(c, order_id, world.retailer)
                return True
            except OverCreditLimit:
                return False

    results = await asyncio.gather(*(confirm(d.id) for d in drafts))
    assert sum(results) == fit
    async with pool.acquire() as conn:
        position = await credit.position(conn, world.retailer.id)
        assert position.exposure_paisa == fit * 24_000 <= position.limit_paisa
        assert await conn.fetchval(
            "SELECT count(*) FROM orders WHERE status = 'VENDOR_ASSIGNED'") == fit


async def test_an_override_covers_the_total_it_was_granted_for_not_a_bigger_edit(conn, world):
    from ledger import credit, orders
    from ledger.errors import OverCreditLimit
    from tests.ledger.conftest import line

    await credit.set_limit(conn, world.retailer.id, 10_000, world.admin, "small start")
    draft = await orders.create_draft(conn, world.retailer, [line("TEL", 1)])  # Rs 240
    await credit.override_order(conn, draft.id, world.admin, "regular customer")
    await orders.replace_draft_lines(conn, draft.id, world.retailer, [line("TEL", 3)])
    with pytest.raises(OverCreditLimit):  # three times what was granted
        await orders.confirm(conn, draft.id, world.retailer)
    await credit.override_order(conn, draft.id, world.admin, "yes, all three")
    assert (await orders.confirm(conn, draft.id, world.retailer)).order.status != "DRAFT"
