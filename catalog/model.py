"""The value types of the catalog and of a parsed order message."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

Intent = Literal[
    "order",
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

# Why a phrase needs the retailer's answer: several products fit it ("generic"), or one product
# fits but the unit does not convert to its base unit ("unit").
AmbiguityReason = Literal["generic", "unit"]


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
    """What one message means: its intent and, for orders, the items found in it."""

    intent: Intent
    items: tuple[ParsedItem, ...] = ()
    ambiguous: tuple[Ambiguity, ...] = ()
    unknown: tuple[str, ...] = ()
    # True when the message was longer than the parser reads and its tail was ignored.
    truncated: bool = False
