"""Vendor stock: what a vendor offers, and the holds orders put on it.

Stock is reserved at acceptance, released on cancel or reject, taken at dispatch. The database
keeps 0 <= reserved <= stock (a CHECK on vendor_products), so available stock is never negative
even if this code were wrong; rows are touched in sku order so two orders never deadlock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from ledger.actors import Actor, require_role
from ledger.errors import (
    InvalidAmount,
    InvalidQuantity,
    NotCarried,
    StockBelowReserved,
    StockInsufficient,
    UnknownProduct,
)
from ledger.postings import MAX_AMOUNT_PAISA

MAX_STOCK_MILLI = 10**12


@dataclass(frozen=True)
class VendorOffer:
    vendor_id: int
    sku: str
    price_paisa: int
    stock_milli: int
    reserved_milli: int

    @property
    def available_milli(self) -> int:
        return self.stock_milli - self.reserved_milli


async def reserve(
    conn: asyncpg.Connection, order_id: int, vendor_id: int, lines: Sequence[tuple[str, int]],
    now: datetime | None = None,
) -> None:
    """Hold stock for every `(sku, quantity_milli)` line, or raise StockInsufficient for the first
    that does not fit (the caller's transaction then undoes the holds already made)."""
    for sku, quantity in sorted(lines):
        held = await conn.fetchval(
            """UPDATE vendor_products SET reserved_milli = reserved_milli + $3,
                      updated_at = COALESCE($4, now())
               WHERE vendor_id = $1 AND sku = $2 AND stock_milli - reserved_milli >= $3
               RETURNING 1""",
            vendor_id, sku, quantity, now,
        )
        if held is None:
            available = await conn.fetchval(
                """SELECT stock_milli - reserved_milli FROM vendor_products
                   WHERE vendor_id = $1 AND sku = $2""",
                vendor_id, sku,
            )
            raise StockInsufficient(sku=sku, wanted_milli=quantity, available_milli=available or 0)
        await conn.execute(
            """INSERT INTO stock_reservations (order_id, vendor_id, sku, quantity_milli, created_at)
               VALUES ($1, $2, $3, $4, COALESCE($5, now()))""",
            order_id, vendor_id, sku, quantity, now,
        )


async def release(conn: asyncpg.Connection, order_id: int, now: datetime | None = None) -> None:
    """Give back what an order held (cancel after acceptance)."""
    await _settle(conn, order_id, "RELEASED", now)


async def take(conn: asyncpg.Connection, order_id: int, now: datetime | None = None) -> None:
    """The goods leave: stock and its hold both go down (dispatch)."""
    await _settle(conn, order_id, "TAKEN", now)


_SETTLE = {
    "RELEASED": """UPDATE vendor_products SET reserved_milli = reserved_milli - $3,
                          updated_at = COALESCE($4, now())
                   WHERE vendor_id = $1 AND sku = $2 RETURNING 1""",
    "TAKEN": """UPDATE vendor_products SET stock_milli = stock_milli - $3,
                       reserved_milli = reserved_milli - $3, updated_at = COALESCE($4, now())
                WHERE vendor_id = $1 AND sku = $2 RETURNING 1""",
}


async def _settle(
    conn: asyncpg.Connection, order_id: int, state: str, now: datetime | None
) -> None:
    rows = await conn.fetch(
        """UPDATE stock_reservations SET state = $2, settled_at = COALESCE($3, now())
           WHERE order_id = $1 AND state = 'RESERVED'
           RETURNING vendor_id, sku, quantity_milli""",
        order_id, state, now,
    )
    for row in sorted(rows, key=lambda r: r["sku"]):
        done = await conn.fetchval(
            _SETTLE[state], row["vendor_id"], row["sku"], row["quantity_milli"], now
        )
        assert done == 1, "a reservation's vendor_products row exists (foreign key)"


async def set_offer(
    conn: asyncpg.Connection,
    vendor: Actor,
    sku: str,
    *,
    price_paisa: int | None = None,
    stock_milli: int | None = None,
) -> VendorOffer:
    """A vendor sets its own price and/or stock of a product ("stock chini 100")."""
    require_role(vendor, "stock.set", "VENDOR")
    if price_paisa is not None and not 0 < price_paisa <= MAX_AMOUNT_PAISA:
        raise InvalidAmount(amount_paisa=price_paisa)
    if stock_milli is not None and not 0 <= stock_milli <= MAX_STOCK_MILLI:
        raise InvalidQuantity(sku=sku, quantity=stock_milli)
    async with conn.transaction():
        if not await conn.fetchval("SELECT true FROM products WHERE sku = $1", sku):
            raise UnknownProduct(sku=sku)
        row = await conn.fetchrow(
            """SELECT * FROM vendor_products WHERE vendor_id = $1 AND sku = $2 FOR NO KEY UPDATE""",
            vendor.id, sku,
        )
        if row is None:
            if price_paisa is None:
                raise NotCarried(sku=sku)
            row = await conn.fetchrow(
                """INSERT INTO vendor_products (vendor_id, sku, price_paisa, stock_milli)
                   VALUES ($1, $2, $3, $4) RETURNING *""",
                vendor.id, sku, price_paisa, stock_milli or 0,
            )
        else:
            if stock_milli is not None and stock_milli < row["reserved_milli"]:
                raise StockBelowReserved(
                    sku=sku, stock_milli=stock_milli, reserved_milli=row["reserved_milli"]
                )
            row = await conn.fetchrow(
                """UPDATE vendor_products SET price_paisa = COALESCE($3, price_paisa),
                          stock_milli = COALESCE($4, stock_milli), updated_at = now()
                   WHERE vendor_id = $1 AND sku = $2 RETURNING *""",
                vendor.id, sku, price_paisa, stock_milli,
            )
        assert row is not None
        return _offer(row)


# A price that moves more than this many times up or down is asked about before it is saved: a
# vendor who typed a sack's price as the kilo's would otherwise charge 50 times too much.
PLAUSIBLE_FACTOR = 3


def implausible(old_paisa: int, new_paisa: int) -> bool:
    return new_paisa > old_paisa * PLAUSIBLE_FACTOR or new_paisa * PLAUSIBLE_FACTOR < old_paisa


async def reference_price(conn: asyncpg.Connection, vendor_id: int, sku: str) -> int | None:
    """What a new price is compared with: the vendor's own price, else the catalog's."""
    found: int | None = await conn.fetchval(
        """SELECT COALESCE(
               (SELECT price_paisa FROM vendor_products WHERE vendor_id = $1 AND sku = $2),
               (SELECT price_paisa FROM products WHERE sku = $2))""", vendor_id, sku)
    return found


async def offers(conn: asyncpg.Connection, vendor_id: int) -> list[VendorOffer]:
    rows = await conn.fetch(
        "SELECT * FROM vendor_products WHERE vendor_id = $1 ORDER BY sku", vendor_id
    )
    return [_offer(r) for r in rows]


def _offer(row: asyncpg.Record) -> VendorOffer:
    return VendorOffer(
        vendor_id=row["vendor_id"], sku=row["sku"], price_paisa=row["price_paisa"],
        stock_milli=row["stock_milli"], reserved_milli=row["reserved_milli"],
    )
