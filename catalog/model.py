"""The value types of the catalog and of a parsed order message."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

Intent = Literal[
    "order",
    # A question about prices or stock ("chini ko rate kati ho?", "चिनी छ?"): no draft; the
    # products asked about are the result's items and ambiguities.
    "price",
    "status",
    "dues",
    "history",
    "help",
    "greeting",
    "confirm",
    "cancel",
    "repeat",
    "language",
    "other",
]

# Why a phrase needs the retailer's answer: several products fit it ("generic"), one product
# fits but the unit does not convert to its base unit ("unit"), or the quantity is zero or
# impossible ("chini 0 kg", "chini 90000 bora": "quantity").
AmbiguityReason = Literal["generic", "unit", "quantity"]


@dataclass(frozen=True, slots=True)
class Product:
    """One catalog product; quantities and prices are per base `unit`."""

    sku: str
    name_en: str
    name_ne: str
    aliases: tuple[str, ...]
    category: str
    unit: str
    # Pack word -> how many base units one pack holds (bora=25 means one bora is 25 kg).
    packs: dict[str, Decimal] = field(hash=False)
    # Money is integers: paisa per base unit.
    price_paisa: int


@dataclass(frozen=True, slots=True)
class ParsedItem:
    """A phrase resolved to one product, its quantity already in the product's base unit."""

    sku: str
    quantity: Decimal
    unit: str
    # How the product was found: "exact:<alias>", "fuzzy:<alias>" or "memory:<phrase>".
    matched: str
    text: str
    # False when the retailer gave no number and 1 was assumed, so the dialog can ask.
    quantity_stated: bool = True


@dataclass(frozen=True, slots=True)
class Ambiguity:
    """A phrase the bot must ask about; quantity and unit are as the retailer typed them."""

    text: str
    quantity: Decimal | None
    unit: str | None
    candidates: tuple[str, ...]
    reason: AmbiguityReason = "generic"


@dataclass(frozen=True, slots=True)
class ParseResult:
    """What one message means: its intent and, for orders and price questions, the products
    found in it (for a question, an item's quantity is stated only when the retailer gave a
    number with digits or a unit: "chini 2 bora kati parchha?")."""

    intent: Intent
    items: tuple[ParsedItem, ...] = ()
    ambiguous: tuple[Ambiguity, ...] = ()
    unknown: tuple[str, ...] = ()
    # True when the message was longer than the parser reads and its tail was ignored.
    truncated: bool = False

    def skus(self) -> tuple[str, ...]:
        """Every product the message names, items first, each once, in message order."""
        named = [item.sku for item in self.items]
        named += [sku for ambiguity in self.ambiguous for sku in ambiguity.candidates]
        return tuple(dict.fromkeys(named))
