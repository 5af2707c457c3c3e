"""The order parser is kept per process and built again exactly when the catalog changed: any
write to products or their aliases, through the import or straight in SQL, committed."""

from __future__ import annotations

import asyncpg

from catalog.model import Product
from ledger import catalog_store


def _product(sku: str, name: str, *aliases: str) -> Product:
    return Product(sku=sku, name_en=name, name_ne="", aliases=aliases, category="grocery",
                   unit="kg", packs={}, price_paisa=10000)


async def test_the_parser_is_kept_until_the_catalog_changes(
    conn: asyncpg.Connection, pool: asyncpg.Pool
) -> None:
    await catalog_store.import_products(conn, [_product("JEERA", "Cumin")])
    first = await catalog_store.parser(conn)
    assert "JEERA" in first.products
    assert await catalog_store.parser(conn) is first  # nothing changed: the same parser

    await catalog_store.import_products(conn, [_product("JEERA", "Cumin", "jira")])
    with_alias = await catalog_store.parser(conn)
    assert with_alias is not first
    assert with_alias.products["JEERA"].aliases == ("jira",)

    # A write the import does not make (an operator's SQL) moves the version too.
    await conn.execute("UPDATE products SET active = false WHERE sku = 'JEERA'")
    assert "JEERA" not in (await catalog_store.parser(conn)).products

    # A write not yet committed is not seen, and nothing stale is kept for after its commit.
    kept = await catalog_store.parser(conn)
    async with pool.acquire() as other:
        tx = other.transaction()
        await tx.start()
        await other.execute("UPDATE products SET active = true WHERE sku = 'JEERA'")
        assert await catalog_store.parser(conn) is kept
        await tx.commit()
    assert "JEERA" in (await catalog_store.parser(conn)).products
