"""The order parser: one message in, its intent and items out. The bot and `khaacho parse` call
`OrderParser.parse`; everything else in this package serves it.

Within each phrase of a message (see `segment`), words are tagged as numbers, units, fillers or
name words; runs of name words are paired with the quantity next to them, on the side the
phrase starts with ("2 bora chini" and "chini 2 bora" alike, and "kaju 1 kg kismis 1 kg" as two
items), then looked up in the catalog (see `matcher`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from catalog.csvload import load_catalog
from catalog.intent import keyword_intent
from catalog.matcher import CatalogIndex, Match
from catalog.model import Ambiguity, Intent, ParsedItem, ParseResult, Product
from catalog.quantity import Quantity, Vocabulary, Word
from catalog.segment import split_items
from catalog.text import normalise
from catalog.words import FILLERS, GREETINGS

# WhatsApp's own limit on a text message; anything longer is not a real order.
MAX_MESSAGE_CHARS = 4096
MAX_ITEMS = 50
MAX_REMEMBERED = 1_000
# No shop orders a million base units of anything in one message; it is a typo or an attack.
MAX_QUANTITY = Decimal(1_000_000)
MAX_UNKNOWN_CHARS = 100
_SEPARATORS_TO_SPACES = str.maketrans(",;+&|", "     ")
_EDGE_PUNCTUATION = ",;+&|.!?()[]\"'।-"


@dataclass(slots=True)
class _Name:
    words: list[Word]


@dataclass(slots=True)
class _Amount:
    number: Decimal | None = None
    unit: str | None = None
    words: list[Word] = field(default_factory=list)


@dataclass(slots=True)
class _Found:
    """The parts of a message found so far, and how much they look like an order: a product
    with a unit or digits surely does; a product alone, or an unknown name with a unit ("iphone
    2 wota"), does unless the message names another intent ("baki kati cha" asks about dues
    even though "cha" is also six)."""

    items: list[ParsedItem] = field(default_factory=list)
    ambiguous: list[Ambiguity] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    ordered: bool = False
    maybe_ordered: bool = False

    def full(self) -> bool:
        return len(self.items) + len(self.ambiguous) + len(self.unknown) >= MAX_ITEMS


class OrderParser:
    """Understands order messages against one catalog; build once, then `parse` many times."""

    def __init__(self, catalog: Sequence[Product], vocabulary: Vocabulary | None = None) -> None:
        """`vocabulary` holds the unit and number words (units.csv and numbers.csv by default)."""
        self.vocabulary = vocabulary or Vocabulary.from_csv()
        self.index = CatalogIndex(catalog, self.vocabulary)
        # A word that names a product is never a filler ("hello" is a biscuit).
        self._fillers = frozenset(w for w in FILLERS | GREETINGS if not self.index.is_name_word(w))
        self._openers = GREETINGS | self._fillers

    @classmethod
    def from_csv(cls, path: Path | str | None = None) -> OrderParser:
        """A parser over a catalog file, the demo catalog by default."""
        vocabulary = Vocabulary.from_csv()
        return cls(load_catalog(path, vocabulary.unit_kinds.keys()), vocabulary)

    @property
    def products(self) -> Mapping[str, Product]:
        """The catalog by sku."""
        return self.index.products

    def parse(self, text: str, remembered: Mapping[str, str] | None = None) -> ParseResult:
        """The intent and items of one message; never raises on any input text.

        `remembered` maps a generic phrase to the sku this retailer chose for it before
        ("chamal" -> "RICE-MANSULI"); such a phrase then resolves to that product.
        """
        if not isinstance(text, str):
            return ParseResult(intent="other")
        truncated = len(text) > MAX_MESSAGE_CHARS
        text = text[:MAX_MESSAGE_CHARS]
        segments, cut = split_items(text)
        memory = self._memory(remembered or {})
        found = _Found()
        leading = True
        typed = _as_typed(text)
        for segment in segments:
            words = [w._replace(text=typed.get(w.text, w.text))
                     for w in self.vocabulary.words(segment)]
            if leading:
                words = self._drop_greeting(words)
                leading = not words
            self._parse_phrase(words, memory, found)
            if found.full():
                cut = True
                break
        intent: Intent | None = "order" if found.ordered else None
        if intent is None:
            plain = normalise(text).translate(_SEPARATORS_TO_SPACES)
            keys = [w.key for w in self.vocabulary.words(plain)]
            intent = keyword_intent(keys) or ("order" if found.maybe_ordered else "other")
        if intent == "order":
            return ParseResult(
                "order",
                tuple(found.items),
                tuple(found.ambiguous),
                tuple(found.unknown),
                truncated or cut,
            )
        return ParseResult(intent, truncated=truncated)

    def _memory(self, remembered: Mapping[str, str]) -> dict[str, str]:
        """Remembered choices keyed like phrases, keeping only skus still in the catalog."""
        memory: dict[str, str] = {}
        for count, (phrase, sku) in enumerate(remembered.items()):
            if count >= MAX_REMEMBERED:
                break
            if isinstance(phrase, str) and sku in self.index.products:
                words = self.vocabulary.words(normalise(phrase[:MAX_UNKNOWN_CHARS]))
                memory["".join(w.key for w in words)] = sku
        return memory

    def _drop_greeting(self, words: list[Word]) -> list[Word]:
        """Drop greetings and fillers opening a message; a greeting that is also a product
        ("hello") stays when a quantity or another name word follows it."""
        start = 0
        while start < len(words) and words[start].key in self._openers:
            following = words[start + 1] if start + 1 < len(words) else None
            if (
                self.index.is_name_word(words[start].key)
                and following is not None
                and following.key not in self._openers
            ):
                break
            start += 1
        return words[start:]

    def _parse_phrase(self, words: list[Word], memory: Mapping[str, str], found: _Found) -> None:
        """Add the items of one phrase of the message to `found`."""
        elements = self._elements(words)
        amount_first = bool(elements) and isinstance(elements[0], _Amount)
        used: set[int] = set()
        for position, element in enumerate(elements):
            if not isinstance(element, _Name):
                continue
            amount = None
            nearby = (position - 1, position + 1) if amount_first else (position + 1, position - 1)
            for other in nearby:
                if 0 <= other < len(elements) and other not in used:
                    candidate = elements[other]
                    if isinstance(candidate, _Amount):
                        used.add(other)
                        amount = candidate
                        break
            self._add_name(element, amount, amount_first, memory, found)
        for position, element in enumerate(elements):
            if isinstance(element, _Amount) and position not in used:
                # A quantity with no name: not an order by itself, but never dropped silently.
                found.unknown.append(_text(element.words))

    def _elements(self, words: list[Word]) -> list[_Name | _Amount]:
        """Group words into names and amounts, in message order; fillers are skipped."""
        elements: list[_Name | _Amount] = []
        position = 0
        while position < len(words):
            span = self._quantity_word_name(words, position)
            if span:
                _extend_name(elements, words[position : position + span])
                position += span
                continue
            word = words[position]
            position += 1
            number = self.vocabulary.number(word.key)
            unit = self.vocabulary.unit(word.key)
            last = elements[-1] if elements else None
            if number is not None and unit is not None:
                # "tin" is three, or a tin when it follows a number ("ghee 1 tin").
                after_number = (
                    isinstance(last, _Amount) and last.number is not None and last.unit is None
                )
                number, unit = (None, unit) if after_number else (number, None)
            if unit is not None:
                if isinstance(last, _Amount) and last.unit is None:
                    last.unit = unit
                    last.words.append(word)
                else:
                    elements.append(_Amount(None, unit, [word]))
            elif number is not None:
                if isinstance(last, _Amount) and last.number is None:
                    last.number = number
                    last.words.append(word)
                elif isinstance(last, _Amount) and _adds_fraction(last, number):
                    # "1 1/2 kg"
                    last.number = (last.number or Decimal(0)) + number
                    last.words.append(word)
                else:
                    elements.append(_Amount(number, None, [word]))
            elif word.key not in self._fillers:
                _extend_name(elements, [word])
        return elements

    def _quantity_word_name(self, words: list[Word], position: int) -> int:
        """Length of a product name spelled with unit or number words ("parle g", "2 pm")
        starting at `position`, longest first; 0 if none."""
        longest = min(self.index.longest_name, len(words) - position)
        for length in range(longest, 0, -1):
            keys = tuple(w.key for w in words[position : position + length])
            if keys in self.index.names_with_quantity_words:
                return length
        return 0

    def _add_name(
        self,
        name: _Name,
        amount: _Amount | None,
        amount_first: bool,
        memory: Mapping[str, str],
        found: _Found,
    ) -> None:
        """Resolve one run of name words and its amount into items, ambiguities or unknowns."""
        keys = [w.key for w in name.words]
        match = self.index.match(keys)
        if match is not None and match.how == "partial" and all(_is_filler(k) for k in keys):
            # "ko" occurs in many names ("makai ko pitho") but alone names none of them.
            match = None
        if match is not None:
            text = _text(_ordered(name.words, amount, amount_first))
            self._add_match(name.words, match, amount, text, memory, found)
            return
        parts = self._known_parts(name.words)
        if not any(m is not None for _, m in parts):
            found.unknown.append(_text(_ordered(name.words, amount, amount_first)))
            # Only a unit makes it look like an order: bare numbers and number words are
            # everywhere in chat ("kasto cha": "cha" is also six).
            found.maybe_ordered = found.maybe_ordered or (
                amount is not None and amount.unit is not None
            )
            return
        # The quantity belongs to the known part nearest to it.
        known = [i for i, (_, m) in enumerate(parts) if m is not None]
        owner = known[0] if amount_first else known[-1]
        for i, (words, part) in enumerate(parts):
            if part is None:
                if not all(_is_filler(w.key) for w in words):
                    found.unknown.append(_text(words))
            else:
                owned = amount if i == owner else None
                text = _text(_ordered(words, owned, amount_first))
                self._add_match(words, part, owned, text, memory, found)

    def _known_parts(self, words: list[Word]) -> list[tuple[list[Word], Match | None]]:
        """Cut a phrase that names nothing as a whole into catalog names, longest first, and
        runs of unknown words ("chini pathaideu" -> "chini", "pathaideu")."""
        parts: list[tuple[list[Word], Match | None]] = []
        start = 0
        while start < len(words):
            for end in range(len(words), start, -1):
                match = self.index.match([w.key for w in words[start:end]])
                if match is not None and match.how != "partial":
                    parts.append((words[start:end], match))
                    start = end
                    break
            else:
                if parts and parts[-1][1] is None:
                    parts[-1][0].append(words[start])
                else:
                    parts.append(([words[start]], None))
                start += 1
        return parts

    def _add_match(
        self,
        words: list[Word],
        match: Match,
        amount: _Amount | None,
        text: str,
        memory: Mapping[str, str],
        found: _Found,
    ) -> None:
        """Add a matched name: an item, or an ambiguity when it needs the retailer's answer."""
        if amount is not None and (amount.unit is not None or _has_digits(amount)):
            found.ordered = True
        else:
            # Number words alone are weak: "cha" is six, and also "is".
            found.maybe_ordered = True
        quantity = Quantity(amount.number, amount.unit) if amount else Quantity(None, None)
        sku, matched = match.skus[0], f"{match.how}:{match.name}"
        if len(match.skus) > 1:
            phrase = "".join(w.key for w in words)
            if phrase not in memory:
                found.ambiguous.append(
                    Ambiguity(_text(words), quantity.number, quantity.unit, match.skus)
                )
                return
            sku, matched = memory[phrase], f"memory:{_text(words)}"
        product = self.index.products[sku]
        base = self.vocabulary.to_base(product, quantity)
        if base is None:
            found.ambiguous.append(
                Ambiguity(_text(words), quantity.number, quantity.unit, (sku,), reason="unit")
            )
        elif not Decimal(0) < base <= MAX_QUANTITY:
            found.unknown.append(text)
        else:
            found.items.append(
                ParsedItem(
                    sku,
                    base,
                    product.unit,
                    matched,
                    text,
                    quantity_stated=quantity.number is not None or quantity.unit is not None,
                )
            )


def _extend_name(elements: list[_Name | _Amount], words: list[Word]) -> None:
    if elements and isinstance(elements[-1], _Name):
        elements[-1].words.extend(words)
    else:
        elements.append(_Name(list(words)))


def _is_filler(key: str) -> bool:
    return key in FILLERS or key in GREETINGS


def _has_digits(amount: _Amount) -> bool:
    return any(w.text[:1].isdigit() for w in amount.words)


def _adds_fraction(amount: _Amount, number: Decimal) -> bool:
    return (
        amount.unit is None
        and amount.number is not None
        and amount.number == amount.number.to_integral_value()
        and Decimal(0) < number < 1
    )


def _ordered(words: list[Word], amount: _Amount | None, amount_first: bool) -> list[Word]:
    if amount is None:
        return words
    return amount.words + words if amount_first else words + amount.words


def _as_typed(text: str) -> dict[str, str]:
    """Romanised word -> the word as the retailer typed it, for a message in Devanagari, so
    what is echoed back ("which चामल?", "I could not find …") is in their own script."""
    if text.isascii():
        return {}
    typed: dict[str, str] = {}
    for token in text.split():
        token = token.strip(_EDGE_PUNCTUATION)
        roman = normalise(token).split() if token and not token.isascii() else []
        if len(roman) == 1:
            typed.setdefault(roman[0], token)
    return typed


def _text(words: list[Word]) -> str:
    return " ".join(w.text for w in words)[:MAX_UNKNOWN_CHARS]
