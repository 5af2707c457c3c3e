"""One order parser per process, built from the products in the database and rebuilt only when
the catalog changes (an import in any process bumps `products.updated_at`)."""

from __future__ import annotations

import logging
from decimal import Decimal

import asyncpg

from catalog.model import Product
from catalog.parser import OrderParser

log = logging.getLogger(__name__)

_cached: tuple[tuple[int, object], OrderParser] | None = None


async def parser(conn: asyncpg.Connection) -> OrderParser:
    """The parser over the current catalog; one cheap query per call checks it is current."""
    global _cached
    row = await conn.fetchrow("SELECT count(*) AS n, max(updated_at) AS at FROM products")
    signature = (int(row["n"]), row["at"])
    if _cached is not None and _cached[0] == signature:
        return _cached[1]
    built = OrderParser(await products(conn))
    log.info("order parser built over %d products", signature[0])
    _cached = (signature, built)
    return built


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
