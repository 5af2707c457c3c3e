"""The transitions table: one in code, the same in the database, enforced by both, all logged."""

from __future__ import annotations

import asyncpg
import pytest

from ledger import lifecycle, orders
from ledger.errors import IllegalTransition
from tests.ledger.conftest import World, line


async def test_database_transitions_table_equals_the_code_table(conn: asyncpg.Connection) -> None:
    rows = await conn.fetch("SELECT from_status, to_status FROM order_status_transitions")
    assert {(r["from_status"], r["to_status"]) for r in rows} == lifecycle.TRANSITIONS


async def test_database_status_check_lists_every_status(conn: asyncpg.Connection) -> None:
    check = await conn.fetchval(
        """SELECT pg_get_constraintdef(oid) FROM pg_constraint
           WHERE conrelid = 'orders'::regclass AND contype = 'c'
             AND conname = 'orders_status_check'"""
    )
    for status in lifecycle.STATUSES:
        assert f"'{status}'" in check


async def test_illegal_transition_is_refused_with_a_clear_error(
    conn: asyncpg.Connection, world: World
) -> None:
    draft = await orders.create_draft(conn, world.retailer, [line("CHINI", 1)])
    with pytest.raises(IllegalTransition) as caught:
        await orders.dispatch(conn, draft.id, world.admin)
    assert caught.value.key == "order.illegal_transition"
    assert caught.value.params == {
        "order": draft.number, "from_status": "DRAFT", "to_status": "DISPATCHED"}
    assert (await orders.get(conn, draft.id)).status == "DRAFT"


async def test_database_refuses_an_illegal_transition_written_by_hand(
    conn: asyncpg.Connection, world: World
) -> None:
    draft = await orders.create_draft(conn, world.retailer, [line("CHINI", 1)])
    with pytest.raises(asyncpg.CheckViolationError, match="illegal order transition"):
        await conn.execute("UPDATE orders SET status = 'COMPLETED' WHERE id = $1", draft.id)


async def test_database_refuses_an_order_born_past_draft(
    conn: asyncpg.Connection, world: World
) -> None:
    with pytest.raises(asyncpg.CheckViolationError):
        await conn.execute(
            "INSERT INTO orders (retailer_id, total_paisa, status) VALUES ($1, 100, 'PENDING')",
            world.retailer.id,
        )


async def test_every_transition_is_logged_with_actor_and_reason(
    conn: asyncpg.Connection, world: World
) -> None:
    draft = await orders.create_draft(conn, world.retailer, [line("TEL", 2, "litre")])
    assert draft.number.startswith("KH-") and len(draft.number) == 9
    confirmed = await orders.confirm(conn, draft.id, world.retailer)
    assert confirmed.order.vendor_id == world.vendor.id  # only vendor with oil
    await orders.accept(conn, draft.number, world.vendor)
    await orders.dispatch(conn, draft.id, world.vendor)
    await orders.deliver(conn, draft.id, world.vendor)
    rows = await conn.fetch(
        "SELECT from_status, to_status, actor_id, reason FROM order_transitions "
        "WHERE order_id = $1 ORDER BY id",
        draft.id,
    )
    assert [(r["from_status"], r["to_status"], r["actor_id"]) for r in rows] == [
        ("DRAFT", "PENDING", world.retailer.id),
        ("PENDING", "VENDOR_ASSIGNED", None),
        ("VENDOR_ASSIGNED", "ACCEPTED", world.vendor.id),
        ("ACCEPTED", "DISPATCHED", world.vendor.id),
        ("DISPATCHED", "DELIVERED", world.vendor.id),
    ]
    assert all(r["reason"] for r in rows)
