"""The catalog in PostgreSQL: products, aliases, a vendor's own prices and stock; and the order
parser over the current products, one per process, rebuilt only when the catalog changes (any
write to products or aliases, in any process, moves `catalog_version`: migration 031)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import asyncpg

from catalog.model import Product
from catalog.parser import OrderParser

log = logging.getLogger(__name__)

MILLI = 1000


@dataclass(frozen=True)
class ImportResult:
    products: int
    vendor_products: int


async def import_products(
    conn: asyncpg.Connection,
    products: Sequence[Product],
    *,
    vendor_id: int | None = None,
    stock_milli: int | None = None,
    price_factor_permille: int = 1000,
) -> ImportResult:
    """Upsert every product (aliases replaced) in one transaction: a failure changes nothing.

    With a vendor, also that vendor's price (list price × factor/1000) and, if given, stock.
    """
    async with conn.transaction():
        await conn.executemany(
            """INSERT INTO products (sku, name_en, name_ne, category, unit, packs, price_paisa)
               VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (sku) DO UPDATE SET name_en = EXCLUDED.name_en,
                   name_ne = EXCLUDED.name_ne, category = EXCLUDED.category,
                   unit = EXCLUDED.unit, packs = EXCLUDED.packs,
                   price_paisa = EXCLUDED.price_paisa, active = true, updated_at = now()""",
            [(p.sku, p.name_en, p.name_ne, p.category, p.unit,
              {k: str(v) for k, v in p.packs.items()}, p.price_paisa) for p in products],
        )
        skus = [p.sku for p in products]
        await conn.execute("DELETE FROM product_aliases WHERE sku = ANY($1::text[])", skus)
        await conn.executemany(
            "INSERT INTO product_aliases (sku, alias) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            [(p.sku, alias) for p in products for alias in p.aliases],
        )
        carried = 0
        if vendor_id is not None:
            rows = [(vendor_id, p.sku, max(1, p.price_paisa * price_factor_permille // 1000),
                     stock_milli) for p in products]
            await conn.executemany(
                """INSERT INTO vendor_products (vendor_id, sku, price_paisa, stock_milli)
                   VALUES ($1, $2, $3, COALESCE($4, 0))
                   ON CONFLICT (vendor_id, sku) DO UPDATE SET price_paisa = EXCLUDED.price_paisa,
                       stock_milli = COALESCE($4, vendor_products.stock_milli),
                       updated_at = now()""",
                rows,
            )
            carried = len(rows)
        return ImportResult(products=len(products), vendor_products=carried)


_cached: tuple[object, OrderParser] | None = None
_versioned = False  # migration 031 seen applied: its row is the catalog's version from then on


async def parser(conn: asyncpg.Connection) -> OrderParser:
    """The parser over the current catalog, built again only when the catalog's version has
    moved (migration 031: set by every write to products or their aliases)."""
    global _cached
    version = await _version(conn)
    if _cached is not None and _cached[0] == version:
        return _cached[1]
    built = OrderParser(await products(conn))
    log.info("order parser built over %d products (catalog version %s)",
             len(built.products), version)
    _cached = (version, built)
    return built


async def _version(conn: asyncpg.Connection) -> object:
    global _versioned
    if not _versioned:
        # A deploy migrates while the build before serves: until 031 is applied, the catalog's
        # size and last change stand for its version (tests/channel/test_migrate_live.py).
        # Remove with the release after the one that ships 031.
        if await conn.fetchval("SELECT to_regclass('catalog_version') IS NULL"):
            row = await conn.fetchrow("SELECT count(*), max(updated_at) FROM products")
            return tuple(row)
        _versioned = True
    return await conn.fetchval("SELECT version FROM catalog_version")


async def products(conn: asyncpg.Connection) -> list[Product]:
    rows = await conn.fetch(
        """SELECT p.sku, p.name_en, p.name_ne, p.category, p.unit, p.packs, p.price_paisa,
                  coalesce(array_agg(a.alias ORDER BY a.alias)
                           FILTER (WHERE a.alias IS NOT NULL), '{}') AS aliases
           FROM products p LEFT JOIN product_aliases a ON a.sku = p.sku
           WHERE p.active GROUP BY p.sku ORDER BY p.sku"""
    )
    return [
        Product(
            sku=r["sku"], name_en=r["name_en"], name_ne=r["name_ne"],
            aliases=tuple(r["aliases"]), category=r["category"], unit=r["unit"],
            packs={k: Decimal(str(v)) for k, v in (r["packs"] or {}).items()},
            price_paisa=r["price_paisa"],
        )
        for r in rows
    ]
