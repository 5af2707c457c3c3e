"""How orders look in a chat: each line in the unit the retailer used and in base units."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from catalog.parser import OrderParser
from catalog.quantity import Quantity
from catalog.text import normalise

MILLI = Decimal(1000)
# A message with buttons holds 1,024 characters; a line can take ~90, and the total, credit and
# question must fit after them. Longer orders send their lines first, as a text of their own.
LINES_WITH_BUTTONS = 8


class LineLike(Protocol):
    @property
    def sku(self) -> str: ...
    @property
    def name_en(self) -> str: ...
    @property
    def name_ne(self) -> str: ...
    @property
    def base_unit(self) -> str: ...
    @property
    def quantity_milli(self) -> int: ...
    @property
    def unit_text(self) -> str: ...
    @property
    def unit_price_paisa(self) -> int: ...
    @property
    def line_total_paisa(self) -> int: ...


@dataclass(frozen=True)
class LineView:
    name_en: str
    name_ne: str
    count: Decimal | None  # in `unit`, when the retailer used another unit than the base one
    unit: str
    base: Decimal
    base_unit: str
    price_paisa: int
    total_paisa: int


def line(parser: OrderParser, line: LineLike) -> LineView:
    base = (Decimal(line.quantity_milli) / MILLI).normalize()
    unit = line.unit_text or line.base_unit
    count = None
    product = parser.products.get(line.sku)
    if product is not None and unit != line.base_unit:
        factor = parser.vocabulary.to_base(product, Quantity(Decimal(1), unit))
        if factor:
            count = (base / factor).normalize()
    shown_unit = unit if count is not None else line.base_unit
    return LineView(line.name_en, line.name_ne, count, shown_unit, base, line.base_unit,
                    line.unit_price_paisa, line.line_total_paisa)


def lines(parser: OrderParser, order_lines: Sequence[LineLike]) -> list[LineView]:
    return [line(parser, item) for item in order_lines]


def typed_unit(parser: OrderParser, phrase: str) -> str:
    """The unit word a phrase used ("chini 1 bora" → "bora"), or ""."""
    for word in parser.vocabulary.words(normalise(phrase)):
        unit = parser.vocabulary.unit(word.key)
        if unit is not None and parser.vocabulary.number(word.key) is None:
            return unit
    return ""
