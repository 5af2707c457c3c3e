"""Prices for order lines: quantities to milli units, exact line totals, and a priced quote.

All arithmetic is in integers: a line total is round-half-up(quantity_milli * price / 1000).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import asyncpg

from ledger import ranking
from ledger.errors import (
    EmptyOrder,
    InvalidAmount,
    InvalidQuantity,
    LedgerError,
    UnknownProduct,
)
from ledger.order_repo import OrderLine
from ledger.postings import MAX_AMOUNT_PAISA

# One WhatsApp message will not reasonably hold more lines than this.
MAX_LINES = 50
# 10^9 milli = a million base units (kg, pieces): far above any shop's order.
MAX_QUANTITY_MILLI = 10**9
MAX_UNIT_TEXT = 40


@dataclass(frozen=True)
class LineRequest:
    """One line as the retailer said it; the quantity already in milli base units."""

    sku: str
    quantity_milli: int
    unit_text: str = ""


@dataclass(frozen=True)
class Shortfall:
    """A line no vendor can fill now: how much was asked, and the most one vendor has."""

    sku: str
    wanted_milli: int
    available_milli: int


@dataclass(frozen=True)
class Quote:
    vendor_id: int | None  # None: no vendor carries everything now; list prices used
    vendor_name: str | None
    lines: tuple[OrderLine, ...]
    total_paisa: int
    # When no vendor can take the lines together: the lines nobody has enough of. Empty with no
    # vendor means each line is there, but not all at one vendor.
    shortfalls: tuple[Shortfall, ...] = ()

    @property
    def fillable(self) -> bool:
        return self.vendor_id is not None


def to_milli(quantity: Decimal) -> int:
    """A base-unit quantity as integer milli units; refuses what is not exact or not positive."""
    milli = quantity * 1000
    if not milli.is_finite() or milli != milli.to_integral_value() or milli <= 0:
        raise InvalidQuantity(quantity=str(quantity))
    return int(milli)


def line_total(quantity_milli: int, unit_price_paisa: int) -> int:
    """round-half-up(quantity_milli * unit_price_paisa / 1000) without leaving the integers."""
    assert quantity_milli > 0 and unit_price_paisa > 0
    return (quantity_milli * unit_price_paisa + 500) // 1000


def per_base_unit(price_paisa: int, base_per_unit: Decimal) -> int:
    """A price per pack ("5600 per bora") as paisa per base unit (a bora is 50 kg: 11200),
    rounded half up; at least one paisa."""
    assert base_per_unit > 0
    exact = Decimal(price_paisa) / base_per_unit
    return max(1, int((exact + Decimal("0.5")).to_integral_value(rounding="ROUND_FLOOR")))


def normalise(lines: Sequence[LineRequest]) -> list[LineRequest]:
    """Checked lines, one per sku (repeats add up), in the order first mentioned."""
    if not lines:
        raise EmptyOrder()
    merged: dict[str, LineRequest] = {}
    for line in lines:
        if not isinstance(line.quantity_milli, int) or line.quantity_milli <= 0:
            raise InvalidQuantity(sku=line.sku, quantity=line.quantity_milli)
        if line.sku in merged:
            first = merged[line.sku]
            line = LineRequest(
                line.sku, first.quantity_milli + line.quantity_milli, first.unit_text)
        if line.quantity_milli > MAX_QUANTITY_MILLI:
            raise InvalidQuantity(sku=line.sku, quantity=line.quantity_milli)
        merged[line.sku] = LineRequest(
            line.sku, line.quantity_milli, line.unit_text[:MAX_UNIT_TEXT])
    if len(merged) > MAX_LINES:
        raise InvalidQuantity(lines=len(merged), max_lines=MAX_LINES)
    return list(merged.values())


async def quote(conn: asyncpg.Connection, lines: Sequence[LineRequest]) -> Quote:
    """Price lines at the best vendor's prices (see ranking), else at list prices."""
    (priced,) = await quotes(conn, [lines])
    if isinstance(priced, LedgerError):
        raise priced
    return priced


async def quotes(
    conn: asyncpg.Connection, line_sets: Sequence[Sequence[LineRequest]]
) -> list[Quote | LedgerError]:
    """`quote` for each set of lines, or why it could not be priced: the products and the best
    vendors of every set are read in one round trip each (a choice between products prices the
    draft with each of them)."""
    wanted: list[list[LineRequest] | LedgerError] = []
    for lines in line_sets:
        try:
            wanted.append(normalise(lines))
        except LedgerError as exc:
            wanted.append(exc)
    valid = [w for w in wanted if not isinstance(w, LedgerError)]
    rows = await conn.fetch(
        """SELECT sku, name_en, name_ne, unit, price_paisa FROM products
           WHERE sku = ANY($1::text[]) AND active""",
        sorted({line.sku for w in valid for line in w}),
    ) if valid else []
    products = {r["sku"]: r for r in rows}
    best = iter(await ranking.candidates_each(
        conn, [[(line.sku, line.quantity_milli) for line in w] for w in valid], limit=1))
    priced: list[Quote | LedgerError] = []
    for w in wanted:
        if isinstance(w, LedgerError):
            priced.append(w)
            continue
        vendors = next(best)
        try:
            priced.append(await _quoted(conn, w, products, vendors[0] if vendors else None))
        except LedgerError as exc:
            priced.append(exc)
    return priced


async def _quoted(
    conn: asyncpg.Connection, wanted: list[LineRequest], products: dict[str, asyncpg.Record],
    vendor: ranking.Candidate | None,
) -> Quote:
    for line in wanted:
        if line.sku not in products:
            raise UnknownProduct(sku=line.sku)
    quoted = []
    for line in wanted:
        product = products[line.sku]
        price = vendor.prices[line.sku] if vendor else product["price_paisa"]
        quoted.append(OrderLine(
            sku=line.sku, name_en=product["name_en"], name_ne=product["name_ne"],
            base_unit=product["unit"], quantity_milli=line.quantity_milli,
            unit_text=line.unit_text, unit_price_paisa=price,
            line_total_paisa=line_total(line.quantity_milli, price),
        ))
    total = sum(q.line_total_paisa for q in quoted)
    # Nothing to bill (lines that round to 0 paisa), or more than acceptance could ever post.
    if not 0 < total <= MAX_AMOUNT_PAISA:
        raise InvalidAmount(amount_paisa=total)
    if vendor:
        assert total == vendor.total_paisa, "Python and SQL round the same way"
    return Quote(
        vendor_id=vendor.vendor_id if vendor else None,
        vendor_name=vendor.shop_name if vendor else None,
        lines=tuple(quoted), total_paisa=total,
        shortfalls=() if vendor else await shortfalls(conn, wanted),
    )


async def shortfalls(
    conn: asyncpg.Connection, lines: Sequence[LineRequest]
) -> tuple[Shortfall, ...]:
    """The lines that no single active vendor has enough unreserved stock of."""
    rows = await conn.fetch(
        """SELECT w.sku, w.quantity_milli,
                  COALESCE(max(vp.stock_milli - vp.reserved_milli), 0) AS available
           FROM unnest($1::text[], $2::bigint[]) AS w (sku, quantity_milli)
           LEFT JOIN vendor_products vp ON vp.sku = w.sku
               AND EXISTS (SELECT 1 FROM users u WHERE u.id = vp.vendor_id AND u.active
                                                   AND u.role = 'VENDOR')
           GROUP BY w.sku, w.quantity_milli""",
        [line.sku for line in lines], [line.quantity_milli for line in lines])
    short = {r["sku"]: Shortfall(r["sku"], r["quantity_milli"], int(r["available"]))
             for r in rows if r["available"] < r["quantity_milli"]}
    return tuple(short[line.sku] for line in lines if line.sku in short)
