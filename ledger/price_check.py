"""What a retailer would be charged now for a product, and whether it is in stock: the answer to
"chini ko rate kati ho?" and "चिनी छ?".

Every price here is what a draft of exactly that quantity would charge, because it is priced by
`pricing.quote`, the same path drafts take (best vendor by `ranking`, else the list price): the
price of one base unit, of a pack ("1 bora") and of the quantity asked about ("2 bora kati?")
may come from different vendors, as the drafts would. Read only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from ledger import pricing
from ledger.actors import STAFF, Actor, require_role
from ledger.errors import LedgerError
from ledger.order_repo import OrderLine
from ledger.pricing import LineRequest

# One answer names at most this many products (a vague word fits up to ten).
MAX_PRODUCTS = 10
MILLI = 1000


@dataclass(frozen=True)
class Asked:
    """A product asked about, with the quantities to price besides one base unit: a common pack
    `(unit, milli base units)` and the quantity the retailer named, if any."""

    sku: str
    pack: tuple[str, int] | None = None
    quantity: tuple[str, int] | None = None


@dataclass(frozen=True)
class Price:
    """What a draft of `quantity_milli` (said as `unit`) would charge now, and who would fill it
    (None: no vendor has that much unreserved stock, so the list price)."""

    unit: str
    quantity_milli: int
    total_paisa: int
    vendor_name: str | None

    @property
    def in_stock(self) -> bool:
        return self.vendor_name is not None


@dataclass(frozen=True)
class PriceCheck:
    sku: str
    name_en: str
    name_ne: str
    base_unit: str
    per_unit: Price
    pack: Price | None
    asked: Price | None
    # Unreserved stock of the vendor a one-unit draft would go to; when none has a whole unit,
    # the most any vendor has (0: nobody has any).
    available_milli: int

    @property
    def in_stock(self) -> bool:
        return self.available_milli > 0


async def check(
    conn: asyncpg.Connection, actor: Actor, asked: Sequence[Asked]
) -> list[PriceCheck]:
    """Prices and stock of the products asked about, in the order asked (each once, at most
    MAX_PRODUCTS); a product no longer sold is left out. Retailers and staff may ask."""
    require_role(actor, "prices.read", "RETAILER", *sorted(STAFF))
    wanted: dict[str, Asked] = {}
    for item in asked:
        if len(wanted) >= MAX_PRODUCTS:
            break
        wanted.setdefault(item.sku, item)
    stock = await _stock(conn, list(wanted))
    checks = []
    for item in wanted.values():
        per_unit = await _price(conn, item.sku, None, MILLI)
        if per_unit is None:
            continue
        quote, line = per_unit
        held = stock.get(item.sku, {})
        available = held.get(quote.vendor_id, 0) if quote.vendor_id is not None else 0
        checks.append(PriceCheck(
            sku=item.sku, name_en=line.name_en, name_ne=line.name_ne, base_unit=line.base_unit,
            per_unit=_as_price(quote, line.base_unit),
            pack=await _priced(conn, item.sku, item.pack),
            asked=await _priced(conn, item.sku, item.quantity),
            available_milli=available or max(held.values(), default=0),
        ))
    return checks


async def _priced(
    conn: asyncpg.Connection, sku: str, quantity: tuple[str, int] | None
) -> Price | None:
    if quantity is None:
        return None
    unit, milli = quantity
    found = await _price(conn, sku, unit, milli)
    return None if found is None else _as_price(found[0], unit)


async def _price(
    conn: asyncpg.Connection, sku: str, unit: str | None, milli: int
) -> tuple[pricing.Quote, OrderLine] | None:
    """The quote of a one-line draft, or None when no draft could be made of it."""
    try:
        quote = await pricing.quote(conn, [LineRequest(sku, milli, unit or "")])
    except LedgerError:  # not sold any more, or a quantity no draft takes
        return None
    return quote, quote.lines[0]


def _as_price(quote: pricing.Quote, unit: str) -> Price:
    line = quote.lines[0]
    return Price(unit or line.base_unit, line.quantity_milli, quote.total_paisa,
                 quote.vendor_name)


async def _stock(conn: asyncpg.Connection, skus: list[str]) -> dict[str, dict[int, int]]:
    """sku -> vendor -> unreserved stock, for the vendors ranking could choose (active)."""
    rows = await conn.fetch(
        """SELECT vp.sku, vp.vendor_id, vp.stock_milli - vp.reserved_milli AS available
           FROM vendor_products vp
           JOIN vendors v ON v.user_id = vp.vendor_id
           JOIN users u ON u.id = vp.vendor_id AND u.active AND u.role = 'VENDOR'
           WHERE vp.sku = ANY($1::text[]) AND vp.stock_milli > vp.reserved_milli""",
        skus,
    )
    stock: dict[str, dict[int, int]] = {}
    for row in rows:
        stock.setdefault(row["sku"], {})[row["vendor_id"]] = row["available"]
    return stock
