"""Price questions: the prices a draft of exactly that quantity would charge, and the stock."""

from __future__ import annotations

import asyncpg
import pytest

from ledger import orders, price_check
from ledger.errors import NotPermitted
from ledger.price_check import Asked
from tests.ledger.conftest import World, line


async def test_prices_are_what_a_one_line_draft_charges(conn: asyncpg.Connection,
                                                        world: World) -> None:
    [sugar] = await price_check.check(
        conn, world.retailer, [Asked("CHINI", pack=("bora", 50_000), quantity=("bora", 700_000))])
    # Terai has 500 kg at 110: one kg and one bora come from it; 700 kg only Himal has, at 115.
    assert (sugar.per_unit.total_paisa, sugar.per_unit.vendor_name) == (11_000, "Terai Wholesale")
    assert sugar.pack is not None and sugar.pack.total_paisa == 50 * 11_000
    assert sugar.asked is not None and sugar.asked.total_paisa == 700 * 11_500
    assert sugar.asked.vendor_name == "Himal Traders"
    assert sugar.available_milli == 500_000 and sugar.in_stock
    for kg, price in ((1, sugar.per_unit), (700, sugar.asked)):
        draft = await orders.create_draft(conn, world.retailer, [line("CHINI", kg)])
        assert draft.total_paisa == price.total_paisa


async def test_without_stock_the_list_price_and_none_available(conn: asyncpg.Connection,
                                                               world: World) -> None:
    await conn.execute("UPDATE vendor_products SET stock_milli = 0 WHERE sku = 'TEL'")
    [oil] = await price_check.check(conn, world.retailer, [Asked("TEL")])
    assert oil.per_unit.vendor_name is None and oil.per_unit.total_paisa == 25_000  # list price
    assert oil.available_milli == 0 and not oil.in_stock and oil.pack is None


async def test_each_product_once_unknown_ones_left_out_and_bounded(conn: asyncpg.Connection,
                                                                   world: World) -> None:
    asked = [Asked("CHAMAL"), Asked("NOPE"), Asked("CHAMAL"), Asked("CHINI")]
    found = await price_check.check(conn, world.operator, asked)
    assert [c.sku for c in found] == ["CHAMAL", "CHINI"]
    many = [Asked(f"X{n}") for n in range(price_check.MAX_PRODUCTS)] + [Asked("CHINI")]
    assert await price_check.check(conn, world.retailer, many) == []


async def test_vendors_may_not_read_other_vendors_prices(conn: asyncpg.Connection,
                                                         world: World) -> None:
    with pytest.raises(NotPermitted):
        await price_check.check(conn, world.vendor, [Asked("CHINI")])
