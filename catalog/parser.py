"""The order parser: one message in, its intent and items out. The bot and `khaacho parse` call
`OrderParser.parse`; everything else in this package serves it.

Within each phrase of a message (see `segment`), words are tagged as numbers, units, fillers or
chatter (`words`), or name words; runs of name words are paired with the quantity next to them,
on the side the phrase starts with ("2 bora chini" and "chini 2 bora" alike, and "kaju 1 kg
kismis 1 kg" as two items), then looked up in the catalog (see `matcher`).

A message that asks about prices or stock ("chini ko rate kati ho?", "चिनी छ?", see `intent`)
is a "price" question about the products it names, not an order. Chatter is never named back
as a missing product; a word that is chatter and also a product word counts as the product
only where it cannot be chatter: "tell" (keyed like "tel", oil) only alone with a quantity
("tell 2 litre"); "pani" (also; water) unless other products are named and it has no quantity
of its own ("chini pani 2 bora"). A zero or impossible quantity is asked about, never ordered;
`plausible` says which quantities a shop would order.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path

from catalog.csvload import load_catalog
from catalog.intent import (
    asks_in_phrase,
    asks_price,
    keyword_intent,
    requests_goods,
    topic_intent,
)
from catalog.matcher import CatalogIndex, Match
from catalog.model import Ambiguity, Intent, ParsedItem, ParseResult, Product
from catalog.quantity import Quantity, Vocabulary, Word
from catalog.segment import split_items
from catalog.text import normalise
from catalog.words import (
    FUNCTION_WORDS,
    FUNCTION_WORDS_TYPED,
    GREETINGS,
    VERBS,
    is_verb_form,
)

# WhatsApp's own limit on a text message; anything longer is not a real order.
MAX_MESSAGE_CHARS = 4096
MAX_ITEMS = 50
MAX_REMEMBERED = 1_000
# No shop orders a million base units of anything in one message: a typo or an attack, asked
# about like zero. (A vendor's stock may be large, so the parser allows up to this.)
MAX_QUANTITY = Decimal(1_000_000)
# Ten thousand base units (ten tonnes, ten thousand packets) in one line is not a shop's order
# but a slip ("chini 5000 bora" for 50 kg): a retailer's dialog asks before drafting it.
MAX_PLAUSIBLE_QUANTITY = Decimal(10_000)
MAX_UNKNOWN_CHARS = 100
_SEPARATORS_TO_SPACES = str.maketrans(",;+&|", "     ")
_EDGE_PUNCTUATION = ",;+&|.!?()[]\"'।-"
# Nepali glues postpositions to nouns ("चिनीको" is "chini ko"); longest first.
_POSTPOSITIONS = ("sanga", "haru", "bata", "lai", "ko", "ka", "ki", "ma", "le")
_MIN_STEM = 3


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
    # Per item: its quantity was stated with digits or a unit, not a number word alone.
    firm: list[bool] = field(default_factory=list)
    # Products named only by a word that is also chatter ("pani"), with no quantity: kept
    # only when the message names nothing else.
    tentative: list[tuple[ParsedItem | Ambiguity, bool]] = field(default_factory=list)
    ordered: bool = False
    maybe_ordered: bool = False
    # A phrase asks about its products ("chini kati?", "चिनी छ?").
    asked: bool = False

    def full(self) -> bool:
        return len(self.items) + len(self.ambiguous) + len(self.unknown) >= MAX_ITEMS

    def mark(self) -> tuple[int, int, int, int]:
        return len(self.items), len(self.ambiguous), len(self.unknown), len(self.tentative)

    def named_since(self, mark: tuple[int, int, int, int]) -> bool:
        items, ambiguous, _, tentative = mark
        return (
            len(self.items) > items
            or len(self.ambiguous) > ambiguous
            or len(self.tentative) > tentative
        )

    def products(self) -> bool:
        return bool(self.items or self.ambiguous or self.tentative)

    def settle(self) -> None:
        """Tentative products count only when nothing else was named."""
        if not (self.items or self.ambiguous):
            for found, firm in self.tentative:
                if isinstance(found, ParsedItem):
                    self.items.append(found)
                    self.firm.append(firm)
                else:
                    self.ambiguous.append(found)
            self.maybe_ordered = self.maybe_ordered or bool(self.tentative)
        self.tentative.clear()


class OrderParser:
    """Understands order messages against one catalog; build once, then `parse` many times."""

    def __init__(self, catalog: Sequence[Product], vocabulary: Vocabulary | None = None) -> None:
        """`vocabulary` holds the unit and number words (units.csv and numbers.csv by default)."""
        self.vocabulary = vocabulary or Vocabulary.from_csv()
        self.index = CatalogIndex(catalog, self.vocabulary, protected=FUNCTION_WORDS)
        # A word that names a product is never a filler ("hello" is a biscuit).
        self._fillers = frozenset(w for w in FUNCTION_WORDS if not self.index.is_name_word(w))
        self._openers = GREETINGS | self._fillers
        # Chatter whose key is a product word, as typed: "tell" (tel), "good" (gud), "पनि"
        # (pani) are chatter unless alone with a quantity; "pani", "hello", "current" are the
        # catalog's own words, products unless the message names others (see the docstring).
        typed_names = self.index.typed_name_words
        self._weak = frozenset(
            w for w in FUNCTION_WORDS_TYPED
            if w not in typed_names and self._names_alone(w)
        )
        self._either = frozenset(
            w for w in FUNCTION_WORDS_TYPED if w in typed_names and self._names_alone(w)
        )

    @classmethod
    def from_csv(cls, path: Path | str | None = None) -> OrderParser:
        """A parser over a catalog file, the demo catalog by default."""
        vocabulary = Vocabulary.from_csv()
        return cls(load_catalog(path, vocabulary.unit_kinds.keys()), vocabulary)

    def _names_alone(self, typed: str) -> bool:
        keys = [w.key for w in self.vocabulary.words(normalise(typed))]
        return len(keys) == 1 and self.index.is_name_word(keys[0])

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
            words = [
                self._without_postposition(w)._replace(text=typed.get(w.text, w.text))
                for w in self.vocabulary.words(segment.text)
            ]
            said = [w.key for w in words]
            if leading:
                words = self._drop_greeting(words)
                leading = not words
            mark = found.mark()
            self._parse_phrase(words, memory, found)
            self._judge_phrase(said, words, segment.question, mark, found)
            if found.full():
                cut = True
                break
        plain = normalise(text).translate(_SEPARATORS_TO_SPACES)
        keys = [w.key for w in self.vocabulary.words(plain)]
        if self._asks_price(keys, found):
            found.settle()
            return ParseResult(
                "price",
                tuple(
                    item if firm else replace(item, quantity=Decimal(1), quantity_stated=False)
                    for item, firm in zip(found.items, found.firm, strict=True)
                ),
                tuple(found.ambiguous),
                tuple(found.unknown),
                truncated or cut,
            )
        found.settle()
        intent: Intent | None = "order" if found.ordered else None
        if intent is None:
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

    def _asks_price(self, keys: list[str], found: _Found) -> bool:
        """A price or availability question: a price word with products named (or nothing else
        asked), or a phrase asking about its own products (unless the message is about dues,
        status…); an order all the same when it asks for goods with a quantity."""
        if found.ordered and requests_goods(keys):
            return False
        topic = topic_intent(keys)
        if asks_price(keys):
            return found.products() or topic is None
        return found.asked and topic is None

    def _judge_phrase(
        self,
        said: list[str],
        words: list[Word],
        question: bool,
        mark: tuple[int, int, int, int],
        found: _Found,
    ) -> None:
        """After a phrase: whether it asked about the products it named; and a question or a
        sentence with a verb that names nothing and states no quantity is small talk
        ("sanchai hunuhuncha?", "aaja pasal ma bheed cha"), never named back as missing
        products (an order's lines are nouns and numbers)."""
        stated = any(self._states_quantity(w) for w in words)
        if found.named_since(mark):
            if asks_in_phrase(said, question=question, stated=stated):
                found.asked = True
        elif (
            not stated
            and (question or any(k in VERBS or self._verb(k) for k in said))
            and not asks_price(said)
        ):
            del found.unknown[mark[2] :]

    def _states_quantity(self, word: Word) -> bool:
        return word.text[:1].isdigit() or self.vocabulary.unit(word.key) is not None

    def _without_postposition(self, word: Word) -> Word:
        """ "chiniko", "चामलको" (chaamalako) are "chini ko", "chamal ko": a glued postposition
        is cut off a product or function word ("katima" is "kati ma")."""
        key = word.key
        if len(key) <= _MIN_STEM or self._known(key):
            return word
        for suffix in _POSTPOSITIONS:
            if key.endswith(suffix):
                stem = key[: -len(suffix)]
                # Devanagari writes the vowel before a glued consonant: "chamala" + "ko".
                for known in (stem, stem[:-1] if stem.endswith("a") else ""):
                    if len(known) >= _MIN_STEM and self._known(known):
                        return Word(word.text, known)
        return word

    def _known(self, key: str) -> bool:
        return self.index.is_name_word(key) or key in FUNCTION_WORDS

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
        """Drop greetings, fillers and chatter opening a message; a greeting that is also a
        product ("hello") stays when a quantity or another name word follows it."""
        start = 0
        while start < len(words) and words[start].key in self._openers:
            following = words[start + 1] if start + 1 < len(words) else None
            if following is not None and (
                (self.index.is_name_word(words[start].key) and following.key not in self._openers)
                # "cha kg chini": six, before a unit
                or (
                    self.vocabulary.number(words[start].key) is not None
                    and self.vocabulary.unit(following.key) is not None
                )
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
        """Group words into names and amounts, in message order; fillers and chatter are
        skipped."""
        elements: list[_Name | _Amount] = []
        # "tell 2 litre" is oil; "tell me the rate" is not.
        weak_named = all(
            w.text in self._weak
            or w.key in self._fillers
            or self.vocabulary.number(w.key) is not None
            or self.vocabulary.unit(w.key) is not None
            for w in words
        )
        position = 0
        while position < len(words):
            span = self._quantity_word_name(words, position)
            if span:
                _extend_name(elements, words[position : position + span])
                position += span
                continue
            word = words[position]
            position += 1
            if word.text in self._weak and not weak_named:
                continue
            number = self.vocabulary.number(word.key)
            unit = self.vocabulary.unit(word.key)
            last = elements[-1] if elements else None
            if number is not None and word.key in self._fillers and unit is None:
                # "kasto cha" is "how is it", not six: a number only before a unit ("cha kg").
                following = words[position] if position < len(words) else None
                if following is None or self.vocabulary.unit(following.key) is None:
                    continue
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
            elif word.key not in self._fillers and not self._verb(word.key):
                _extend_name(elements, [word])
        return elements

    def _verb(self, key: str) -> bool:
        return is_verb_form(key) and not self.index.is_name_word(key)

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
        match = self._match(name.words)
        if match is None or match.how != "exact":
            # "chamal ko rate", "dal ko": a filler that is also a name word ("ko") stays in the
            # run, where it would narrow "dal" to the dals named "… ko dal".
            inner = self._without_edge_fillers(name.words)
            if inner and len(inner) < len(name.words):
                inner_match = self._match(inner)
                if inner_match is not None:
                    name, match = _Name(inner), inner_match
        if match is not None:
            text = _text(_ordered(name.words, amount, amount_first))
            tentative = amount is None and self._is_either(name.words)
            self._add_match(name.words, match, amount, text, memory, found, tentative)
            return
        parts = self._known_parts(name.words)
        if not any(m is not None for _, m in parts):
            named = self._without_edge_fillers(name.words) or name.words  # "iphone", not "… ko"
            found.unknown.append(_text(_ordered(named, amount, amount_first)))
            # Only a unit makes it look like an order: bare numbers and number words are
            # everywhere in chat ("kasto cha": "cha" is also six).
            found.maybe_ordered = found.maybe_ordered or (
                amount is not None and amount.unit is not None
            )
            return
        # The quantity belongs to the known part nearest to it; a word that is also chatter
        # ("pani") only when nothing else can have it ("chini pani 2 bora").
        known = [i for i, (_, m) in enumerate(parts) if m is not None]
        firm = [i for i in known if not self._is_either(parts[i][0])] or known
        owner = firm[0] if amount_first else firm[-1]
        for i, (words, part) in enumerate(parts):
            if part is None:
                if not all(map(self._is_filler, words)):
                    found.unknown.append(_text(words))
            else:
                owned = amount if i == owner else None
                text = _text(_ordered(words, owned, amount_first))
                tentative = owned is None and self._is_either(words)
                self._add_match(words, part, owned, text, memory, found, tentative)

    def _match(self, words: list[Word]) -> Match | None:
        match = self.index.match([w.key for w in words])
        if match is not None and match.how == "partial" and all(map(self._is_filler, words)):
            # "ko" occurs in many names ("makai ko pitho") but alone names none of them.
            return None
        return match

    def _without_edge_fillers(self, words: list[Word]) -> list[Word]:
        start, end = 0, len(words)
        while start < end and self._is_filler(words[start]):
            start += 1
        while end > start and self._is_filler(words[end - 1]):
            end -= 1
        return words[start:end]

    def _is_filler(self, word: Word) -> bool:
        """A filler, greeting or chatter word as typed: "ko", "hai"; not "tel" though "tell"
        keys like it, nor a weak word kept as a product ("tell 2 litre")."""
        if word.text in self._weak:
            return False
        return word.key in self._fillers or _typed_function(word.text)

    def _is_either(self, words: list[Word]) -> bool:
        """Whether a name is only words that are also chatter ("pani", "hello", "current")."""
        return all(w.text in self._either for w in words)

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
        tentative: bool = False,
    ) -> None:
        """Add a matched name: an item, or an ambiguity when it needs the retailer's answer;
        set aside when `tentative` (see `_Found.tentative`)."""
        firm = amount is not None and (amount.unit is not None or _has_digits(amount))
        if tentative:
            pass
        elif firm:
            found.ordered = True
        else:
            # Number words alone are weak: "cha" is six, and also "is".
            found.maybe_ordered = True
        quantity = Quantity(amount.number, amount.unit) if amount else Quantity(None, None)
        sku, matched = match.skus[0], f"{match.how}:{match.name}"
        result: ParsedItem | Ambiguity
        if len(match.skus) > 1 and "".join(w.key for w in words) not in memory:
            result = Ambiguity(_text(words), quantity.number, quantity.unit, match.skus)
        else:
            if len(match.skus) > 1:
                sku, matched = memory["".join(w.key for w in words)], f"memory:{_text(words)}"
            product = self.index.products[sku]
            base = self.vocabulary.to_base(product, quantity)
            if base is None:
                result = Ambiguity(
                    _text(words), quantity.number, quantity.unit, (sku,), reason="unit"
                )
            elif not Decimal(0) < base <= MAX_QUANTITY:
                result = Ambiguity(
                    _text(words), quantity.number, quantity.unit, (sku,), reason="quantity"
                )
            else:
                result = ParsedItem(
                    sku,
                    base,
                    product.unit,
                    matched,
                    text,
                    quantity_stated=quantity.number is not None or quantity.unit is not None,
                )
        if tentative:
            found.tentative.append((result, firm))
        elif isinstance(result, ParsedItem):
            found.items.append(result)
            found.firm.append(firm)
        else:
            found.ambiguous.append(result)


def plausible(quantity: Decimal) -> bool:
    """Whether a line's quantity in base units is one a shop would order (see
    MAX_PLAUSIBLE_QUANTITY)."""
    return Decimal(0) < quantity <= MAX_PLAUSIBLE_QUANTITY


def _extend_name(elements: list[_Name | _Amount], words: list[Word]) -> None:
    if elements and isinstance(elements[-1], _Name):
        elements[-1].words.extend(words)
    else:
        elements.append(_Name(list(words)))


@functools.lru_cache(maxsize=4096)
def _typed_function(typed: str) -> bool:
    """Whether a word as typed is a function word; Devanagari by its own spelling or its
    romanisation ("को" is "ko", but "तेल" is not "tell")."""
    if typed in FUNCTION_WORDS_TYPED:
        return True
    return not typed.isascii() and normalise(typed).strip() in FUNCTION_WORDS_TYPED


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
