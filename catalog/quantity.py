"""Numbers and units: reading "2", "२", "1/2", "dedh", "10kg"; converting to base units."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import NamedTuple

from catalog.model import Product
from catalog.text import normalise, word_key

DATA_DIR = Path(__file__).parent / "data"

# Unit kinds that measure rather than count; a "piece" or a "dozen" of any other product means
# its base unit, whatever that is called (a bottle, a packet).
_MEASURE_KINDS = ("weight", "volume")
_METRIC = {"g": ("kg", Decimal("0.001")), "ml": ("l", Decimal("0.001"))}
# Digits beyond a dozen are a typo or an attack; the parser rejects large quantities anyway.
_NUMBER = re.compile(r"^(\d{1,12}(?:\.\d{1,4})?)(?:/(\d{1,4}))?$")
_GLUED = re.compile(r"^([a-z]*?)(\d{1,12}(?:\.\d{1,4})?(?:/\d{1,4})?)([a-z]*)$")
_DOZEN = Decimal(12)


class Word(NamedTuple):
    """A word of a message as typed (normalised) and as compared (keyed)."""

    text: str
    key: str


@dataclass(frozen=True, slots=True)
class Quantity:
    """A quantity as typed: a number, a unit, or both."""

    number: Decimal | None
    unit: str | None

    @property
    def amount(self) -> Decimal:
        """The number, or 1 when only a unit was given ("ek bora" and "bora" alike)."""
        return Decimal(1) if self.number is None else self.number


class Vocabulary:
    """The unit and number words of both scripts, keyed as the parser sees them."""

    def __init__(
        self,
        units: Mapping[str, tuple[str, Iterable[str]]],
        numbers: Mapping[Decimal, Iterable[str]],
    ) -> None:
        """`units`: canonical unit -> (kind, synonyms); `numbers`: value -> words."""
        self.unit_kinds: dict[str, str] = {}
        self._unit_words: dict[str, str] = {}
        for unit, (kind, synonyms) in units.items():
            self.unit_kinds[unit] = kind
            for word in (unit, *synonyms):
                key = phrase_key(word)
                if key:
                    self._unit_words.setdefault(key, unit)
        self._number_words: dict[str, Decimal] = {}
        for value, words in numbers.items():
            for word in words:
                key = phrase_key(word)
                if key:
                    self._number_words.setdefault(key, value)

    @classmethod
    def from_csv(
        cls, units_path: Path | None = None, numbers_path: Path | None = None
    ) -> Vocabulary:
        """Read units.csv (unit,kind,synonyms) and numbers.csv (value,words)."""
        units: dict[str, tuple[str, list[str]]] = {}
        with open(units_path or DATA_DIR / "units.csv", encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                units[row["unit"].strip()] = (row["kind"].strip(), row["synonyms"].split("|"))
        numbers: dict[Decimal, list[str]] = {}
        with open(numbers_path or DATA_DIR / "numbers.csv", encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                numbers[Decimal(row["value"].strip())] = row["words"].split("|")
        return cls(units, numbers)

    def unit(self, key: str) -> str | None:
        """The canonical unit a word names ("kgs", "किलो" -> "kg"), if it names one."""
        return self._unit_words.get(key)

    def number(self, key: str) -> Decimal | None:
        """The value of a digit string, fraction or number word, if the word is a number."""
        if key in self._number_words:
            return self._number_words[key]
        match = _NUMBER.match(key)
        if match is None:
            return None
        try:
            value = Decimal(match.group(1))
            if match.group(2) is not None:
                denominator = Decimal(match.group(2))
                if denominator == 0:
                    return None
                value /= denominator
        except InvalidOperation:
            return None
        return value

    def words(self, text: str) -> list[Word]:
        """The words of normalised text, numbers glued to units or names split off."""
        return [Word(part, word_key(part)) for raw in text.split() for part in self._unglue(raw)]

    def _unglue(self, word: str) -> list[str]:
        """ "10kg" -> "10", "kg"; "chini10kg" -> "chini", "10", "kg"; a suffix that is not a
        unit stays glued, so a name like "2pm" survives."""
        match = _GLUED.match(word)
        if match is None or not (match.group(1) or match.group(3)):
            return [word]
        prefix, number, suffix = match.groups()
        if suffix and self.unit(word_key(suffix)) is None:
            return [word]
        return [part for part in (prefix, number, suffix) if part]

    def to_base(self, product: Product, quantity: Quantity) -> Decimal | None:
        """The quantity in the product's base unit, or None when the unit does not convert."""
        amount = quantity.amount
        unit = quantity.unit
        if unit is None or unit == product.unit:
            return amount
        if unit in product.packs:
            return amount * product.packs[unit]
        if unit in _METRIC:
            bigger, factor = _METRIC[unit]
            return self.to_base(product, Quantity(amount * factor, bigger))
        counted = not self.unit_kinds.get(product.unit, "").startswith(_MEASURE_KINDS)
        if counted and unit == "piece":
            return amount
        if counted and unit == "dozen":
            return amount * _DOZEN
        return None


def phrase_key(text: str) -> str:
    """The key of a short phrase (an alias, a unit or number word): normalised words joined."""
    return " ".join(word_key(word) for word in normalise(text).split())
