"""The transitions table: one in code, the same in the database, enforced by both, all logged."""

from __future__ import annotations

import ast
import re
from pathlib import Path

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
    assert draft.number.startswith("D-") and len(draft.number) == 8  # no KH number until placed
    confirmed = await orders.confirm(conn, draft.id, world.retailer)
    assert confirmed.order.vendor_id == world.vendor.id  # only vendor with oil
    assert confirmed.order.number.startswith("KH-") and len(confirmed.order.number) == 9
    assert (await orders.get(conn, draft.number)).id == draft.id  # the draft's ref still finds it
    await orders.accept(conn, confirmed.order.number, world.vendor)
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


LEDGER = Path(lifecycle.__file__).parent
# A status name between SQL quotes: 'PENDING'. Python's own string quotes are not in the value.
_QUOTED_STATUS = re.compile(r"'(?:" + "|".join(lifecycle.STATUSES) + r")'")


def _sql_status_literals(path: Path) -> list[str]:
    """Every string (f-string parts too) in a module that spells a status inside SQL quotes."""
    found = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found += [f"{path.name}:{node.lineno}: {m}"
                      for m in _QUOTED_STATUS.findall(node.value)]
    return found


def test_no_ledger_module_spells_a_status_list_in_sql() -> None:
    modules = sorted(p for p in LEDGER.glob("*.py") if p.name != "lifecycle.py")
    assert len(modules) > 10, "the scan sees the ledger's modules"
    assert [hit for path in modules for hit in _sql_status_literals(path)] == []


def test_the_scan_finds_a_status_spelled_in_sql(tmp_path: Path) -> None:
    module = tmp_path / "bad.py"
    module.write_text('Q = f"""SELECT 1 FROM orders WHERE status IN (\'PENDING\', {x})"""\n'
                      "OK = 'PENDING'\n", "utf-8")
    assert _sql_status_literals(module) == ["bad.py:1: 'PENDING'"]


def test_status_sets_partition_the_lifecycle() -> None:
    everything = set(lifecycle.STATUSES)
    assert {"DRAFT", *lifecycle.OPEN_STATUSES, *lifecycle.CLOSED_STATUSES} == everything
    assert not set(lifecycle.OPEN_STATUSES) & set(lifecycle.CLOSED_STATUSES)
    assert set(lifecycle.UNBILLED_STATUSES) | set(lifecycle.BILLED_STATUSES) == set(
        lifecycle.OPEN_STATUSES) | {"COMPLETED"}
    assert not set(lifecycle.UNBILLED_STATUSES) & set(lifecycle.BILLED_STATUSES)
    assert set(lifecycle.STOCK_HELD_STATUSES) <= set(lifecycle.BILLED_STATUSES)
    assert set(lifecycle.FULFILLED_STATUSES) <= set(lifecycle.BILLED_STATUSES)
    assert set(lifecycle.OPEN_BILL_STATUSES) == (
        set(lifecycle.BILLED_STATUSES) - set(lifecycle.CLOSED_STATUSES))
    # Billing happens on one transition only, so "billed" is a state, not a history.
    into_billed = {(a, b) for a, b in lifecycle.TRANSITIONS
                   if b in lifecycle.BILLED_STATUSES and a not in lifecycle.BILLED_STATUSES}
    assert into_billed == {("VENDOR_ASSIGNED", "ACCEPTED")}


@pytest.mark.parametrize(("index", "statuses"), [
    ("orders_unbilled", lifecycle.UNBILLED_STATUSES),
    ("orders_vendor_open", tuple(s for s in lifecycle.OPEN_STATUSES if s != "PENDING")),
    ("orders_open_bills_due", lifecycle.OPEN_BILL_STATUSES),
    ("orders_retailer_open", lifecycle.OPEN_STATUSES),
])
async def test_partial_indexes_cover_the_named_sets(
    conn: asyncpg.Connection, index: str, statuses: tuple[str, ...]
) -> None:
    definition = await conn.fetchval("SELECT indexdef FROM pg_indexes WHERE indexname = $1", index)
    assert set(re.findall(r"'([A-Z_]+)'", definition)) == set(statuses)
