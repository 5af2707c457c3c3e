"""A retailer's price and stock questions ("chini ko rate kati ho?", "चिनी छ?", "how much is
sugar"): what a draft would charge now, per base unit, per pack and for the quantity asked, and
how much is in stock. It answers in every state and never touches the draft; while a question
of the draft is open, that question is asked again after the answer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from catalog.model import Ambiguity, ParsedItem, Product
from catalog.parser import OrderParser
from catalog.quantity import Quantity
from dialogs import present
from dialogs.retailer import ordering
from dialogs.turn import Turn
from ledger import price_check
from ledger.price_check import Asked, Price, PriceCheck
from ledger.pricing import to_milli

MILLI = Decimal(1000)


@dataclass(frozen=True)
class Shown:
    """A price as the answer shows it: the amount in the unit said, and in base units."""

    count: Decimal
    unit: str
    base: Decimal
    total_paisa: int
    in_stock: bool


@dataclass(frozen=True)
class ProductPrices:
    name_en: str
    name_ne: str
    base_unit: str
    unit_price_paisa: int
    listed: bool  # no vendor has a whole unit now: the list price
    pack: Shown | None
    asked: Shown | None
    available: Decimal  # base units, of the vendor who would get it (see ledger.price_check)


async def answer(turn: Turn) -> None:
    """A price or stock question: prices a draft would charge now and the stock; the draft
    stays as it is."""
    parsed = turn.parsed()
    asked = [_asked(turn.parser, item.sku, item) for item in parsed.items]
    asked += [_asked(turn.parser, sku, ambiguity)
              for ambiguity in parsed.ambiguous for sku in ambiguity.candidates]
    checks = await price_check.check(turn.conn, turn.user, asked)
    products = [_view(turn.parser, check) for check in checks]
    turn.say("price_answer", products=products, unknown=list(parsed.unknown),
             draft_open=turn.state != "idle")
    turn.move("query")
    state = ordering.asking(turn)
    if turn.state == "resolving" and state.questions:
        await ordering.ask(turn, state)


def _asked(parser: OrderParser, sku: str, said: ParsedItem | Ambiguity) -> Asked:
    product = parser.products.get(sku)
    if product is None:
        return Asked(sku)
    return Asked(sku, pack=_pack(parser, product), quantity=_quantity(parser, product, said))


def _pack(parser: OrderParser, product: Product) -> tuple[str, int] | None:
    """The pack shops buy the product in: its biggest, the first unit of units.csv on a tie
    (a bora before a bag)."""
    order = {unit: n for n, unit in enumerate(parser.vocabulary.unit_kinds)}
    packs = [(size, -order.get(unit, len(order)), unit) for unit, size in product.packs.items()
             if size > 1]
    if not packs:
        return None
    size, _, unit = max(packs)
    return unit, int(size * MILLI)


def _quantity(parser: OrderParser, product: Product,
              said: ParsedItem | Ambiguity) -> tuple[str, int] | None:
    """The quantity the retailer named, in milli base units, when they named one."""
    if isinstance(said, ParsedItem):
        if not said.quantity_stated:
            return None
        base: Decimal | None = said.quantity
        unit = present.typed_unit(parser, said.text)
    else:
        if said.quantity is None and said.unit is None:
            return None
        base = parser.vocabulary.to_base(product, Quantity(said.quantity, said.unit))
        unit = said.unit or ""
    if base is None or base <= 0 or base * MILLI != int(base * MILLI):
        return None
    return unit, to_milli(base)


def _view(parser: OrderParser, check: PriceCheck) -> ProductPrices:
    product = parser.products.get(check.sku)
    packs: Mapping[str, Decimal] = product.packs if product is not None else {}
    return ProductPrices(
        name_en=check.name_en, name_ne=check.name_ne, base_unit=check.base_unit,
        unit_price_paisa=check.per_unit.total_paisa, listed=not check.per_unit.in_stock,
        pack=_shown(check.pack, packs, check.base_unit),
        asked=_shown(check.asked, packs, check.base_unit),
        available=Decimal(check.available_milli) / MILLI,
    )


def _shown(price: Price | None, packs: Mapping[str, Decimal], base_unit: str) -> Shown | None:
    if price is None:
        return None
    base = (Decimal(price.quantity_milli) / MILLI).normalize()
    size = packs.get(price.unit)
    if size and price.unit != base_unit:
        count, unit = (base / size).normalize(), price.unit
    else:
        count, unit = base, base_unit
    return Shown(count, unit, base, price.total_paisa, price.in_stock)
